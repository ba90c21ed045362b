"""One set of numbers (issue 20, item 3, the GUI side): the header, the
dashboard and `petitions status --json` show the same figures under the same
names, on the same workspace, after people have ruled."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from gui_helpers import open_review, rule_by_key, wait_case
from gui_workspace_fixture import REVIEWER, build_tiny_workspace

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def tiny(tmp_path):
    return build_tiny_workspace(tmp_path / "ws")


def _header(text: str) -> dict[str, int]:
    plain = re.sub(r"<[^>]+>", "", text).replace(",", "")
    out = {}
    for name, pat in (("raw_count", r"raw count (\d+)"), ("auto_accepted", r"auto-accepted (\d+)"),
                      ("accepted_by_person", r"accepted by a person (\d+)"), ("valid", r"✓ valid (\d+)"),
                      ("invalid", r"✗ invalid (\d+)"), ("pending", r"\? pending (\d+)")):
        m = re.search(pat, plain)
        assert m, (name, plain)
        out[name] = int(m.group(1))
    return out


def test_header_dashboard_and_status_agree(qtbot, tiny):
    win, panel, _said = open_review(qtbot, tiny.root)
    panel.setFocus()
    before = _header(win.strip.text())
    for key in (Qt.Key.Key_A, Qt.Key.Key_1, Qt.Key.Key_A, Qt.Key.Key_E):
        wait_case(qtbot, panel)
        rule_by_key(qtbot, panel, key)
    qtbot.waitUntil(lambda: panel.writer.pending == 0, timeout=10_000)
    # the header follows the rulings by itself (no refresh asked for)
    try:
        qtbot.waitUntil(lambda: _header(win.strip.text())["pending"] == before["pending"] - 3, timeout=5_000)
    except Exception as exc:
        raise AssertionError((before, win.strip.text())) from exc
    head = _header(win.strip.text())
    # the dashboard follows the header on its own connection once its tab is shown
    win.show_tab("dashboard")
    qtbot.waitUntil(lambda: win.dashboard.tiles["pending"].text().replace(",", "") == str(head["pending"]),
                    timeout=5_000)
    dash = {k: int(win.dashboard.tiles[k].text().replace(",", "")) for k in ("valid", "invalid", "pending")}
    split = win.dashboard.valid_split.text().replace(",", "")
    dash["auto_accepted"] = int(re.search(r"auto-accepted (\d+)", split).group(1))
    dash["accepted_by_person"] = int(re.search(r"accepted by a person (\d+)", split).group(1))
    reviewers = {r["user"]: r for r in win.dashboard.data["reviewers"]}
    table = re.sub(r"<[^>]+>", " ", win.dashboard.reviewers.text())
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-m", "petitions.cli", "status", "-w", str(tiny.root), "--json"], cwd=ROOT,
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    st = json.loads(r.stdout)
    cli = {"raw_count": st["count"]["raw_count"], "auto_accepted": st["auto_accepted"],
           "accepted_by_person": st["accepted_by_person"], "valid": st["count"]["valid"], "invalid": st["invalid"],
           "pending": st["needs_review"]}
    # the figures under their shown names, as every screen reads them
    assert {k: v for k, v in st["figures"].items() if k != "projected_valid"} == cli
    assert head == cli
    assert dash == {k: cli[k] for k in dash}
    # the text of petitions status says the same numbers with the same words
    r = subprocess.run([sys.executable, "-m", "petitions.cli", "status", "-w", str(tiny.root)], cwd=ROOT,
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    said = r.stdout.replace(",", "")
    for key, word in (("raw_count", "Raw count"), ("auto_accepted", "Auto-accepted"),
                      ("accepted_by_person", "Accepted by a person"), ("valid", "Valid"), ("invalid", "Invalid"),
                      ("pending", "Pending")):
        assert re.search(rf"(^| · ){word}: {cli[key]}( ·|$)", said, flags=re.M), (word, cli[key], said)
    # blank lines count as invalid everywhere (they were left out of the header's figure)
    assert head["invalid"] == 2 + 1 and head["valid"] == 4 + 2
    # auto-accepted are the software's accepts only; a person's two accepts are theirs, in the reviewers' table too
    assert (head["auto_accepted"], head["accepted_by_person"]) == (4, 2)
    assert (reviewers[REVIEWER]["accepted"], reviewers[REVIEWER]["rulings"]) == (2, 4)
    assert re.search(rf"{REVIEWER} \(reviewer\)\s+4\s+2\s+1\s+1\s+0", table), table
    # the report's tallies split the valid lines under the same names
    from petitions.reports import tallies
    from petitions.store import Workspace

    with Workspace(tiny.root) as ws:
        sec = tallies(ws, tiny.filing_id).sections
    assert (int(sec["auto_accepted"].sum()), int(sec["accepted_by_person"].sum()), int(sec["valid"].sum())) == (
        cli["auto_accepted"], cli["accepted_by_person"], cli["valid"])
    # the progress bar says the real figure, not one clamped to the requirement
    assert f"{cli['valid']} of 12 required" in win.dashboard.progress.format()
    win.close()
