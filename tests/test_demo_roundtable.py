"""`petitions demo --roundtable`: the filing has round-tabled sections, the
same-hand scan runs after triage, and the demo reports its clusters against
the fixture's truth. Real scans, segmentation, matcher and signature core."""
from __future__ import annotations

import polars as pl

from petitions.cli import main as cli_main
from petitions.commands.demo import format_fraud
from petitions.demo import run_demo
from petitions.store import Workspace


def test_demo_with_roundtable_scans_and_reports_against_truth(tmp_path, capsys):
    root = tmp_path / "ws"
    res = run_demo(root, signatures=160, seed=3, roundtable=2, log=lambda m: None)
    f = res.summary["fraud"]
    truth = pl.read_csv(root / "inputs" / "truth.csv").filter(pl.col("state") == "signed")
    rt = truth.filter(pl.col("roundtable"))
    assert f["roundtabled"]["of"] == rt.height > 0
    assert f["honest"]["of"] + f["forged"]["of"] + f["roundtabled"]["of"] == truth.height
    flagged = sum(d["flagged"] for d in (f["roundtabled"], f["honest"], f["forged"]))
    assert flagged == sum(c["lines"] for c in f["clusters"])
    for c in f["clusters"]:
        assert c["roundtabled"] + c["forged"] + c["honest"] == c["lines"]
        assert set(c["hands"]) <= set(rt["hand"])
    with Workspace(root) as ws:
        assert ws._scalar("SELECT COUNT(*) FROM events WHERE kind = 'same_hand_scan'") == 1
        # software never rejected a flagged line
        bad = ws._scalar("SELECT COUNT(*) FROM current_determination WHERE determination = 'invalid' "
                         "AND reasons_json LIKE '%same_hand%'")
        assert bad == 0
    text = format_fraud(f)
    assert "round-tabled lines flagged" in text and "honest lines flagged" in text
    # the same workspace with other demo parameters is refused, naming the crews
    assert cli_main(["demo", "--workspace", str(root), "--signatures", "160", "--seed", "3"]) == 2
    assert "2 round-tabling crews" in capsys.readouterr().err
