"""The sections screen (issue 18, item 5) in the real window (pytest-qt,
offscreen) on a demo workspace built from real scans: each section with its
declaration's checks (nothing keyed: "not keyed"; the signature read from the
page) and the crops the segmenter cut; a supervisor rules section 1 invalid
and restores it, and the store's line statuses follow."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import polars as pl  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("pytestqt")

from gui_helpers import open_window  # noqa: E402
from petitions.status import line_status  # noqa: E402
from petitions.store import Workspace  # noqa: E402


def test_sections_shown_ruled_and_restored(qtbot, tmp_path):
    from petitions.demo import run_demo

    demo = run_demo(tmp_path / "demo", signatures=24, seed=2, log=lambda m: None)
    with Workspace(demo.workspace) as ws:
        sup = ws._scalar("SELECT name FROM users WHERE role = 'supervisor' ORDER BY name LIMIT 1")
        before = line_status(ws, demo.filing_id)
    win = open_window(qtbot, demo.workspace, user=sup)
    screen = win._open_sections()
    with qtbot.waitSignal(screen.loaded, timeout=30_000):
        pass
    n = before["section"].n_unique()
    assert screen.table.rowCount() == n >= 1
    checks = screen.table.item(0, 7).text()
    assert "not been keyed" in checks
    assert screen.table.item(0, 6).text() == "ink on every page"    # the demo's declarations are signed
    sig = screen.crops["circulator_signature"]
    assert sig.pixmap() is not None and not sig.pixmap().isNull()
    assert screen.rule_button.isEnabled()
    with qtbot.waitSignal(screen.loaded, timeout=30_000):
        screen.rule("circulator_defect", "declaration not signed in ink")
    assert screen.table.item(0, 8).text() == f"circulator_defect by {sup}: declaration not signed in ink"
    with Workspace(demo.workspace) as ws:
        st = line_status(ws, demo.filing_id).filter((pl.col("section") == 1) & (pl.col("state") == "signed"))
        assert st.height > 0 and (st["reason"] == "circulator_defect").all() and (st["status"] == "invalid").all()
    with qtbot.waitSignal(screen.loaded, timeout=30_000):
        screen.restore("the signed declaration was found")
    assert screen.table.item(0, 8).text() == ""
    with Workspace(demo.workspace) as ws:
        after = line_status(ws, demo.filing_id)
    assert after.select("line_id", "status", "reason").equals(before.select("line_id", "status", "reason"))
    win.close()
