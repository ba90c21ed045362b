"""A workspace someone may read but not write (issue 20, item 6): the
database's refusal is a user error (one line from the CLI, never a
traceback), and the window warns on open."""
from __future__ import annotations

import sqlite3

import pytest

from petitions.errors import is_read_only_error, is_user_error


def test_a_read_only_database_refusal_is_a_user_error(tmp_path):
    db = tmp_path / "x.sqlite"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE t (a)")
    con.commit()
    con.close()
    ro = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    with pytest.raises(sqlite3.OperationalError) as exc:
        ro.execute("INSERT INTO t VALUES (1)")
    assert is_read_only_error(exc.value) and is_user_error(exc.value)
    assert not is_user_error(ValueError("a bug"))


def test_the_window_warns_on_a_read_only_workspace(qtbot, tmp_path, monkeypatch):
    from gui_helpers import open_window
    from gui_workspace_fixture import build_tiny_workspace

    tiny = build_tiny_workspace(tmp_path / "ws")
    import gui.main_window as mw

    real = mw.os.access
    # as root every file is writable: say what a reviewer without write access is told
    monkeypatch.setattr(mw.os, "access", lambda p, mode: False if mode == mw.os.W_OK else real(p, mode))
    win = open_window(qtbot, tiny.root)
    assert win.read_only
    assert "read only for you" in win.statusBar().currentMessage()
    win.close()
