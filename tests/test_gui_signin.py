"""Signing in to a workspace server from the workbench (issue 17, item 9),
against the real PostgreSQL test server with logins made the way an office
makes them (``Workspace.ensure_user`` -> ``add_login``, what `petitions
user-add` runs): a reviewer and a supervisor sign in and the window shows
who and which role; a wrong password, a server that does not answer and a
database that is no workspace are each one line in the dialog, which stays
open."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit

from gui.main_window import TABS, MainWindow
from gui.signin import server_location
from petitions.stages.filings import create_filing
from petitions.store import Workspace

PASSWORDS = {"ann": "ann-pw-1", "sue": "sue-pw-1"}


@pytest.fixture
def server(pg_admin):
    from pg_server import fresh_database

    admin_url = fresh_database(pg_admin)
    with Workspace(admin_url, create=True) as admin:
        suffix = admin_url.rsplit("/", 1)[1]
        names = {k: f"{k}_{suffix}" for k in PASSWORDS}   # logins are cluster-wide
        admin.ensure_user(names["ann"], "reviewer", password=PASSWORDS["ann"])
        admin.ensure_user(names["sue"], "supervisor", password=PASSWORDS["sue"])
        create_filing(admin, name="Measure S", ruleset="ca-initiative", jurisdiction="City of Los Angeles",
                      user=admin.login, required=10)
    parts = urlsplit(admin_url)
    address = f"postgresql://{parts.hostname}:{parts.port}{parts.path}"
    return address, names


def _window(qtbot) -> MainWindow:
    win = MainWindow(None, restore_state=False)
    qtbot.addWidget(win)
    win.show()
    return win


def _sign_in(qtbot, win, address, user, password):
    dlg = win.open_server(address)
    qtbot.addWidget(dlg)
    assert dlg.isVisible()
    dlg.user.setText(user)
    qtbot.keyClicks(dlg.password, password)
    assert dlg.password.echoMode() == QLineEdit.EchoMode.Password
    assert password not in dlg.password.displayText()
    qtbot.mouseClick(dlg.ok, Qt.MouseButton.LeftButton)
    return dlg


def _tried(qtbot, dlg) -> None:
    """Wait for the sign-in thread to answer (the dialog stays usable meanwhile)."""
    qtbot.waitUntil(lambda: not dlg.busy, timeout=20_000)


@pytest.mark.parametrize("who,role", [("ann", "reviewer"), ("sue", "supervisor")])
def test_a_person_signs_in_and_the_window_shows_who_and_their_role(qtbot, server, who, role):
    address, names = server
    win = _window(qtbot)
    dlg = _sign_in(qtbot, win, address, names[who], PASSWORDS[who])
    assert dlg.error.text() == ""
    qtbot.waitUntil(lambda: win.session is not None and win.is_ready, timeout=20_000)
    assert not dlg.isVisible()
    assert dlg.password.text() == ""          # not kept in the dialog once used
    assert (win.session.user, win.session.role, win.session.filing_name) == (names[who], role, "Measure S")
    label = win.statusBar().findChild(QLabel, "signedIn")
    assert label is not None and label.isVisible()
    assert label.text().startswith(f"Signed in as {names[who]} ({role}) on ")
    assert PASSWORDS[who] not in label.text() + win.windowTitle() + str(win.session.root)
    assert win.tabs.isTabEnabled(TABS.index("supervisor")) is (role == "supervisor")
    # the window's own connections are that login too
    box: list = []
    win.reader.submit(lambda ws: ws.login, lambda res, err: box.append((res, err)))
    qtbot.waitUntil(lambda: bool(box), timeout=10_000)
    assert box == [(names[who], None)]


def test_wrong_password_unreachable_server_and_no_workspace_are_one_line_and_the_dialog_stays(qtbot, server,
                                                                                              pg_admin):
    from pg_server import fresh_database

    address, names = server
    win = _window(qtbot)
    dlg = _sign_in(qtbot, win, address, names["ann"], "not-her-password")
    _tried(qtbot, dlg)
    assert dlg.isVisible() and win.session is None
    said = dlg.error.text()
    assert "password authentication failed" in said and "\n" not in said and "Traceback" not in said
    assert "not-her-password" not in said
    assert dlg.password.hasFocus() or dlg.password.selectedText() == "not-her-password"

    # a server that does not answer (nothing listens on the port)
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dlg.server.setText(f"postgresql://127.0.0.1:{port}/petitions")
    dlg.password.setText(PASSWORDS["ann"])
    qtbot.mouseClick(dlg.ok, Qt.MouseButton.LeftButton)
    _tried(qtbot, dlg)
    assert dlg.isVisible() and win.session is None
    said = dlg.error.text()
    assert "cannot connect to the workspace server" in said and "\n" not in said

    # a database that holds no workspace (the administrator signs in to an empty one)
    empty = urlsplit(fresh_database(pg_admin))
    dlg.server.setText(f"postgresql://{empty.hostname}:{empty.port}{empty.path}")
    dlg.user.setText(empty.username)
    dlg.password.setText(empty.password)
    qtbot.mouseClick(dlg.ok, Qt.MouseButton.LeftButton)
    _tried(qtbot, dlg)
    assert dlg.isVisible() and win.session is None
    assert "not a workspace (the database holds no workbench schema)" in dlg.error.text()

    # and then the right password goes through
    dlg.server.setText(address)
    dlg.user.setText(names["ann"])
    dlg.password.setText(PASSWORDS["ann"])
    qtbot.mouseClick(dlg.ok, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: win.session is not None, timeout=20_000)
    assert win.session.user == names["ann"] and not dlg.isVisible()


def test_a_silent_server_does_not_freeze_the_window_and_the_sign_in_can_be_cancelled(qtbot):
    """A server that accepts the connection and never answers: the dialog says
    it is connecting, the window's event loop keeps running, Cancel closes
    the dialog at once."""
    import socket
    import time

    from PySide6.QtCore import QTimer

    from gui import signin

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)                     # accepted by the kernel, never answered
        port = silent.getsockname()[1]
        win = _window(qtbot)
        dlg = _sign_in(qtbot, win, f"postgresql://127.0.0.1:{port}/petitions", "ann", "pw")
        assert dlg.busy and dlg.status.text() == f"Connecting to 127.0.0.1:{port}…"
        assert not dlg.ok.isEnabled() and not dlg.password.isEnabled()
        ticks: list[float] = []
        timer = QTimer()
        timer.timeout.connect(lambda: ticks.append(time.monotonic()))
        timer.start(50)
        qtbot.waitUntil(lambda: len(ticks) >= 10, timeout=3_000)   # the GUI thread is free
        timer.stop()
        assert dlg.busy                                              # still waiting for the server
        t0 = time.monotonic()
        dlg.reject()
        assert time.monotonic() - t0 < 1.0 and not dlg.isVisible() and win.session is None
        assert not dlg.busy and dlg.ok.isEnabled()
        # the abandoned attempt ends on its own (the connection's timeout) and is dropped
        qtbot.waitUntil(lambda: not signin._given_up, timeout=20_000)
        assert win.session is None


def test_an_address_becomes_a_login_address_without_the_password():
    loc = server_location("dbhost:5433/petitions", "jdoe", "s3cret")
    assert str(loc) == "postgresql://jdoe@dbhost:5433/petitions" and loc.password == "s3cret"
    loc = server_location("postgresql://old:pw@dbhost/petitions", "", None)
    assert str(loc) == "postgresql://old@dbhost/petitions" and loc.password is None
    assert "s3cret" not in repr(server_location("dbhost/p", "j", "s3cret"))
    with pytest.raises(ValueError, match="postgresql://"):
        server_location("mysql://dbhost/p", "j", None)


def test_a_folder_opens_without_a_dialog_and_says_who_works(qtbot, tmp_path):
    from gui_helpers import open_window
    from gui_workspace_fixture import REVIEWER, build_tiny_workspace

    tiny = build_tiny_workspace(tmp_path / "ws")
    win = open_window(qtbot, tiny.root)
    from gui.signin import SignInDialog

    assert win.findChild(SignInDialog) is None
    assert win.statusBar().findChild(QLabel, "signedIn").text() == f"Working as {REVIEWER} (reviewer)"


def test_the_command_line_address_opens_the_sign_in_dialog(qtbot, server):
    from gui.app import build_parser, server_window

    address, names = server
    assert "postgresql://" in build_parser().format_help()
    who = f"postgresql://{names['sue']}@{address.removeprefix('postgresql://')}"
    win, dlg = server_window(who, restore_state=False)
    qtbot.addWidget(win)
    assert dlg.isVisible() and dlg.server.text() == who and dlg.user.text() == names["sue"]
    assert dlg.password.hasFocus() or dlg.focusWidget() is dlg.password
    dlg.password.setText(PASSWORDS["sue"])
    qtbot.mouseClick(dlg.ok, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: win.session is not None and win.is_ready, timeout=20_000)
    assert (win.session.user, win.session.role) == (names["sue"], "supervisor")
