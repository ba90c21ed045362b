"""The whole pipeline on a small synthetic filing, with real components:
real scans through real segmentation, a real SQLite workspace, the real
matcher and signature core. One demo run is shared by the module."""
from __future__ import annotations

import json
import shutil

import polars as pl
import pytest

from petitions import stages
from petitions.cli import main as cli_main
from petitions.demo import REVIEWER, SUPERVISOR, run_demo
from petitions.errors import UserError
from petitions.status import line_status
from petitions.rulings import record_ruling
from petitions.store import Workspace

N = 40
SEED = 5


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo") / "ws"
    result = run_demo(root, signatures=N, seed=SEED, log=lambda m: None)
    return root, result


def test_demo_runs_every_stage_and_agrees_with_truth(demo):
    root, result = demo
    s = result.summary
    truth = s["truth"]
    # N signer lines plus the unused rows of each section's last page.
    assert truth["lines"] >= N and s["lines"] == truth["lines"]
    # Every line got a determination and the three outcomes add up.
    assert s["auto_valid"] + s["needs_review"] + s["invalid"] == s["lines"]
    # Segmentation read (nearly) every line's state right on these scans.
    assert truth["states_right"] >= truth["lines"] - 1
    # Software never rejects on identity or signature grounds.
    assert set(s["invalid_by_reason"]) <= {"no_signature", "blank_line", "struck_line", "empty_line"}
    # Automation did real work and let nothing (or almost nothing) wrong through.
    assert s["auto_valid"] > 0
    assert truth["auto_valid_false_accepts"] <= max(1, s["auto_valid"] // 50)
    assert truth["identity_matches_right"] >= 0.95 * truth["identity_matches"]
    # The random sample ran with the published seed. It drew every signed
    # line (n = max(500, 3%) capped at N), so the count is known exactly:
    # counted, not projected — the genuine lines of the sample less the
    # duplicates found in it (issue 18).
    c = s["count"]
    assert c["method"] == "full_count" and c["counted_in_full"] and c["seed"] == f"demo-{SEED}"
    assert c["sample_size"] == c["raw_count"]
    assert c["valid"] == c["sample_valid"] - c["sample_duplicates"] and c["sample_valid"] > 0
    assert c["projection"] is None


def test_store_holds_every_stage_and_the_log_verifies(demo):
    root, _ = demo
    with Workspace(root) as ws:
        counts = {t: ws._scalar(f"SELECT COUNT(*) FROM {t}") for t in
                  ("documents", "sections", "pages", "lines", "keyed_entries", "matches", "signature_scores",
                   "determinations", "samples", "sample_items", "exemplars", "voter_files")}
        assert all(v > 0 for v in counts.values()), counts
        assert counts["lines"] >= N
        assert ws.verify_chain().ok
        kinds = {r[0] for r in ws._db.execute("SELECT DISTINCT kind FROM events")}
        for k in ("voter_file_imported", "exemplars_imported", "filing_created", "document_ingested",
                  "keyed_entries_imported", "match_batch", "signature_batch", "triage", "sample_drawn"):
            assert k in kinds, k
        # Every determination names its inputs, thresholds and rule set.
        d = ws._rows("SELECT * FROM current_determination LIMIT 1")[0]
        assert d["ruleset_id"] == "ca-initiative" and json.loads(d["inputs_json"])
        # Page images decode from the stored scans, in the frame the boxes use.
        page = ws._rows("SELECT id, width, height FROM pages LIMIT 1")[0]
        img = stages.page_image(ws, page["id"])
        assert img.shape == (page["height"], page["width"])


def test_rerun_resumes_without_duplicating_anything(demo):
    root, first = demo
    with Workspace(root) as ws:
        before = {t: ws._scalar(f"SELECT COUNT(*) FROM {t}") for t in
                  ("documents", "lines", "keyed_entries", "matches", "signature_scores", "determinations",
                   "sample_items")}
    again = run_demo(root, signatures=N, seed=SEED, log=lambda m: None)
    with Workspace(root) as ws:
        after = {t: ws._scalar(f"SELECT COUNT(*) FROM {t}") for t in before}
    assert after == before
    assert again.summary["auto_valid"] == first.summary["auto_valid"]
    with pytest.raises(UserError, match="seed"):
        run_demo(root, signatures=N, seed=SEED + 1, log=lambda m: None)


def test_same_scan_twice_is_detected(demo):
    root, _ = demo
    with Workspace(root) as ws:
        filing = stages.get_filing(ws)
        doc = ws._rows("SELECT path FROM documents ORDER BY id LIMIT 1")[0]["path"]
        n = ws._scalar("SELECT COUNT(*) FROM lines")
        rep = stages.ingest_document(ws, filing.id, doc, user=SUPERVISOR)
        assert rep.already_ingested
        assert ws._scalar("SELECT COUNT(*) FROM lines") == n


def test_ruling_changes_the_count(demo, tmp_path):
    root, _ = demo
    copy = tmp_path / "ws"
    shutil.copytree(root, copy)
    with Workspace(copy) as ws:
        filing = stages.get_filing(ws)
        st = line_status(ws, filing.id)
        pending = st.filter(pl.col("status") == "needs_review")
        if pending.height == 0:
            pytest.skip("no line needs review in this small filing")
        lid = pending["line_db_id"][0]
        res = record_ruling(ws, lid, user=REVIEWER, action="accept", shown={"test": True})
        assert res.final_status == "valid"
        st2 = line_status(ws, filing.id)
        assert int((st2["status"] == "valid").sum()) == int((st["status"] == "valid").sum()) + 1


def test_a_crash_mid_matching_keeps_committed_batches(demo, tmp_path, monkeypatch):
    import matchers

    root, _ = demo
    copy = tmp_path / "ws"
    shutil.copytree(root, copy)
    with Workspace(copy) as ws:
        filing = stages.get_filing(ws)
        # Make every line pending again by re-keying all of them (new keyed entries).
        rows = ws._rows("SELECT line_id, name, address, city, zip FROM current_keyed")
        for r in rows:
            stages.key_line(ws, r["line_id"], name=r["name"] + " ", address=r["address"], city=r["city"] or "",
                              zip=r["zip"] or "", user=SUPERVISOR)
        real = matchers.match_lines
        calls = {"n": 0}

        def flaky(*a, **k):
            calls["n"] += 1
            if calls["n"] == 2:
                raise RuntimeError("power cut")
            return real(*a, **k)

        monkeypatch.setattr(matchers, "match_lines", flaky)
        matches_before = ws._scalar("SELECT COUNT(*) FROM matches")
        with pytest.raises(RuntimeError, match="power cut"):
            stages.run_matching(ws, filing.id, user=SUPERVISOR, batch_size=10)
        committed = ws._scalar("SELECT COUNT(*) FROM matches") - matches_before
        assert committed == 10
        # The run is closed as failed, with the error, not left "running".
        assert ws._rows("SELECT status FROM runs WHERE stage = 'match' ORDER BY id DESC LIMIT 1")[0]["status"] == "failed"
        monkeypatch.setattr(matchers, "match_lines", real)
        rep = stages.run_matching(ws, filing.id, user=SUPERVISOR, batch_size=10)
        assert rep.processed == len(rows) - 10
        # Exactly one current match per keyed line, nothing matched twice in the new runs.
        assert ws._scalar("SELECT COUNT(*) FROM matches") - matches_before == len(rows)
        assert ws.verify_chain().ok


def test_bad_inputs_get_located_errors_and_lose_nothing(demo, tmp_path):
    root, _ = demo
    copy = tmp_path / "ws"
    shutil.copytree(root, copy)
    bad_pdf = tmp_path / "broken.pdf"
    bad_pdf.write_bytes(b"%PDF-1.4\n" + b"\x00garbage" * 50)
    empty = tmp_path / "empty.tiff"
    empty.write_bytes(b"")
    keyed = tmp_path / "keyed.csv"
    keyed.write_text("id,nombre\n1,x\n")
    with Workspace(copy) as ws:
        filing = stages.get_filing(ws)
        n = ws._scalar("SELECT COUNT(*) FROM lines")
        with pytest.raises(UserError) as e:
            stages.ingest_document(ws, filing.id, bad_pdf, user=SUPERVISOR)
        assert "broken.pdf" in str(e.value)
        with pytest.raises(UserError) as e:
            stages.ingest_document(ws, filing.id, empty, user=SUPERVISOR)
        assert "empty.tiff" in str(e.value)
        with pytest.raises(UserError, match="missing column"):
            stages.import_keyed_entries(ws, filing.id, keyed, user=SUPERVISOR)
        assert ws._scalar("SELECT COUNT(*) FROM lines") == n
        assert ws.verify_chain().ok


def test_cli_status_and_verify_log(demo, capsys):
    root, _ = demo
    assert cli_main(["status", "--workspace", str(root), "--user", SUPERVISOR, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["lines"] >= N and out["auto_valid"] + out["needs_review"] + out["invalid"] == out["lines"]
    assert cli_main(["verify-log", "--workspace", str(root)]) == 0
    assert "intact" in capsys.readouterr().out
    assert cli_main(["status", "--workspace", str(root / "nope")]) == 2
    err = capsys.readouterr().err
    assert "not a workspace" in err and "Traceback" not in err


def test_cancelled_exemplar_import_keeps_the_store_as_it_was(demo, tmp_path):
    root, _ = demo
    copy = tmp_path / "ws"
    shutil.copytree(root, copy)
    index = root / "inputs" / "county" / "exemplars.csv"
    with Workspace(copy) as ws:
        before = ws._scalar("SELECT COUNT(*) FROM exemplars"), ws._scalar("SELECT COUNT(*) FROM events")
        seen = []
        with pytest.raises(stages.Cancelled):
            stages.import_exemplars(ws, index, user=SUPERVISOR, progress=lambda s, d, t: seen.append((s, d, t)),
                                      cancel=lambda: bool(seen))
        assert seen and seen[0][0] == "exemplars"
        assert (ws._scalar("SELECT COUNT(*) FROM exemplars"), ws._scalar("SELECT COUNT(*) FROM events")) == before


def test_cancelled_matching_keeps_batches_and_resumes(demo, tmp_path):
    root, _ = demo
    copy = tmp_path / "ws"
    shutil.copytree(root, copy)
    with Workspace(copy) as ws:
        filing = stages.get_filing(ws)
        rows = ws._rows("SELECT line_id, name, address, city, zip FROM current_keyed")
        for r in rows:  # new keyed entries make every line pending again
            stages.key_line(ws, r["line_id"], name=r["name"] + " ", address=r["address"], city=r["city"] or "",
                              zip=r["zip"] or "", user=SUPERVISOR)
        seen = []
        rep = stages.run_matching(ws, filing.id, user=SUPERVISOR, batch_size=10,
                                    progress=lambda s, d, t: seen.append(d), cancel=lambda: len(seen) >= 2)
        assert rep.status == "cancelled" and rep.processed == 20
        assert ws._rows("SELECT status FROM runs WHERE id = ?", (rep.run_id,))[0]["status"] == "cancelled"
        rest = stages.run_matching(ws, filing.id, user=SUPERVISOR, batch_size=10)
        assert rest.status == "done" and rest.processed == len(rows) - 20


# --- resume is exact: the work not yet done names every input -------------------------------
def _copy(demo, tmp_path):
    root, _ = demo
    copy = tmp_path / "ws"
    shutil.copytree(root, copy)
    return copy


def _matched_lines(ws) -> int:
    return ws._scalar("SELECT COUNT(*) FROM current_match")


def _set_ruleset(ws, filing_id, change) -> None:
    # behind the software's back: a rule set edited in place stands for a filing under other rules
    data = json.loads(ws._scalar("SELECT ruleset_json FROM filings WHERE id = ?", (filing_id,)))
    change(data)
    ws._db.execute("UPDATE filings SET ruleset_json = ? WHERE id = ?", (json.dumps(data), filing_id))


def test_an_unchanged_rerun_matches_nothing_again(demo, tmp_path):
    with Workspace(_copy(demo, tmp_path)) as ws:
        filing = stages.get_filing(ws)
        before = ws._scalar("SELECT COUNT(*) FROM matches")
        rep = stages.run_matching(ws, filing.id, user=SUPERVISOR)
        assert (rep.processed, rep.run_id) == (0, None)
        assert ws._scalar("SELECT COUNT(*) FROM matches") == before
        # every current match records the inputs it was made from
        assert ws._scalar("SELECT COUNT(*) FROM current_match WHERE keyed_id IS NULL OR operating_point IS NULL") == 0


def test_a_refitted_matcher_rematches_the_committed_lines(demo, tmp_path):
    import dataclasses

    import matchers

    with Workspace(_copy(demo, tmp_path)) as ws:
        filing = stages.get_filing(ws)
        n = _matched_lines(ws)
        assert n > 0
        refit = dataclasses.replace(matchers.load_default_model(), version="refit-2")
        rep = stages.run_matching(ws, filing.id, user=SUPERVISOR, model=refit)
        assert rep.processed == n
        assert ws._scalar("SELECT COUNT(*) FROM current_match WHERE model_version = 'refit-2'") == n
        # the same refit again: nothing left to do
        assert stages.run_matching(ws, filing.id, user=SUPERVISOR, model=refit).processed == 0


@pytest.mark.parametrize("change", [
    lambda d: d["triage"].update(match_operating_point="identity"),
    lambda d: d["address_leniency"].update(unit_blank_or_different=False),
], ids=["operating point", "address leniency flag"])
def test_another_operating_point_rematches_the_committed_lines(demo, tmp_path, change):
    with Workspace(_copy(demo, tmp_path)) as ws:
        filing = stages.get_filing(ws)
        n = _matched_lines(ws)
        _set_ruleset(ws, filing.id, change)
        rep = stages.run_matching(ws, filing.id, user=SUPERVISOR)
        assert rep.processed == n
        assert stages.run_matching(ws, filing.id, user=SUPERVISOR).processed == 0
