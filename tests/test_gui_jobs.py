"""The long-job dialog: when its outcome is in, and not before (real QThread, offscreen)."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

pytest.importorskip("pytestqt")

from gui.jobs import JobDialog  # noqa: E402
from petitions.store import Workspace  # noqa: E402


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "ws"
    Workspace(r, create=True).close()
    return r


def test_outcome_arrives_after_the_thread_finishes(qtbot, root):
    seen = []
    dlg = JobDialog(root, lambda ws, progress, cancel: (progress("count", 1, 1), 42)[1], "quick job")
    qtbot.addWidget(dlg)
    dlg.done.connect(seen.append)
    dlg.start()
    dlg.thread.wait()  # the thread is done, but its report waits in the event loop
    assert dlg.thread.isFinished()
    assert not dlg.completed and dlg.result is None and seen == []
    qtbot.waitUntil(lambda: dlg.completed, timeout=10_000)
    assert dlg.result == 42 and dlg.error is None and not dlg.was_cancelled
    assert seen == [(42, None, False)]


def test_a_failing_job_is_completed_with_its_error(qtbot, root):
    def fail(ws, progress, cancel):
        raise ValueError("voters.csv: column 'zip' is missing")

    dlg = JobDialog(root, fail, "failing job")
    qtbot.addWidget(dlg)
    dlg.start()
    qtbot.waitUntil(lambda: dlg.completed, timeout=10_000)
    assert dlg.result is None and dlg.error and "zip" in dlg.error
