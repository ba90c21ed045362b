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
from gui_workspace_fixture import build_tiny_workspace

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def tiny(tmp_path):
    return build_tiny_workspace(tmp_path / "ws")


def _header(text: str) -> dict[str, int]:
    plain = re.sub(r"<[^>]+>", "", text).replace(",", "")
    out = {}
    for name, pat in (("raw_count", r"raw count (\d+)"), ("valid", r"✓ valid (\d+)"),
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
    dash = {k: int(win.dashboard.tiles[k].text().replace(",", "")) for k in ("valid", "invalid", "pending")}
    r = subprocess.run([sys.executable, "-m", "petitions.cli", "status", "-w", str(tiny.root), "--json"], cwd=ROOT,
                       env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    st = json.loads(r.stdout)
    cli = {"raw_count": st["count"]["raw_count"], "valid": st["count"]["valid"], "invalid": st["invalid"],
           "pending": st["needs_review"]}
    assert head == cli
    assert dash == {k: cli[k] for k in dash}
    # blank lines count as invalid everywhere (they were left out of the header's figure)
    assert head["invalid"] == 2 + 1 and head["valid"] == 4 + 2
    # the progress bar says the real figure, not one clamped to the requirement
    assert f"{cli['valid']} of 12 required" in win.dashboard.progress.format()
    win.close()
