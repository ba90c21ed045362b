"""Signing in to a workspace server, and who is signed in.

:class:`SignInDialog` asks for the server's address, the person's database
login and password (never echoed, never written anywhere: it is kept in
memory for the window's own connections). A wrong password, a server that
does not answer, or a database that is not a workspace is said in one line
in the dialog, which stays open. The server is tried on a thread of its
own, so the window keeps answering while a slow or silent server is
waited for (at most the connection's 10 s timeout). An embedded folder
workspace opens as
before, without a dialog: who may use it rests on the folder's file
permissions.

:func:`show_signed_in` puts the person and their role in the status bar.
"""
from __future__ import annotations

import getpass
import logging
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from PySide6.QtCore import QThread, Qt, Signal
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QMainWindow, QVBoxLayout)

from gui.session import ServerLocation, Session
from petitions import is_user_error

log = logging.getLogger(__name__)

ROLE_WORDS = {"reviewer": "reviewer", "auditor": "auditor (QA audits)", "supervisor": "supervisor"}


def server_location(address: str, user: str, password: str | None) -> ServerLocation:
    """``postgresql://user@host:port/db`` from what was typed: the scheme may
    be left out, a user in the address is replaced by `user`, a password in
    it is dropped (it travels only as `password`)."""
    address = address.strip()
    if "://" not in address:
        address = "postgresql://" + address
    parts = urlsplit(address)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError(f"a server address starts with postgresql://, not {parts.scheme}://")
    if not parts.hostname:
        raise ValueError("give the server as postgresql://HOST[:PORT]/DATABASE")
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    if parts.port:
        host += f":{parts.port}"
    who = user.strip() or unquote(parts.username or "")
    netloc = f"{quote(who, safe='')}@{host}" if who else host
    return ServerLocation(urlunsplit(("postgresql", netloc, parts.path, parts[3], "")), password or None)  # parts[3]: the query string


def one_line(exc: BaseException) -> str:
    """The refusal in one line (a bug is logged and named, never a traceback)."""
    if not is_user_error(exc):
        log.error("sign-in failed unexpectedly", exc_info=exc)
    text = " ".join(ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()) or type(exc).__name__
    return text if is_user_error(exc) else f"Unexpected error ({type(exc).__name__}): {text}"


#: Sign-in threads given up on (the dialog was cancelled): kept here until
#: they end, so that none is destroyed while it still runs.
_given_up: set = set()


class _Connect(QThread):
    """Opens the session (connects, checks the login and the workspace) off
    the GUI thread; ``done(session, error)`` comes back on it."""

    done = Signal(object, object)

    def __init__(self, loc: ServerLocation, filing, parent=None):
        super().__init__(parent)
        self.loc, self.filing = loc, filing

    def run(self) -> None:  # the worker thread
        from gui.main_window import open_session

        try:
            session = open_session(self.loc, filing=self.filing)
        except Exception as exc:  # noqa: BLE001 - every refusal goes back to the dialog
            self.done.emit(None, exc)
            return
        self.done.emit(session, None)


class SignInDialog(QDialog):
    """Server address, login and password; emits ``signed_in(session)``
    once the server took them (and the database is a workspace)."""

    signed_in = Signal(object)   # the Session

    def __init__(self, address: str = "", user: str | None = None, parent=None, *, filing=None):
        super().__init__(parent)
        self.setObjectName("signInDialog")
        self.setWindowTitle("Sign in to the workspace server")
        self.filing = filing
        self.session: Session | None = None
        given = urlsplit(address if "://" in address else "postgresql://" + address) if address else None
        self.server = QLineEdit(address)
        self.server.setObjectName("signInServer")
        self.server.setPlaceholderText("postgresql://dbhost:5432/petitions")
        self.user = QLineEdit(user or (unquote(given.username) if given and given.username else "") or _os_login())
        self.user.setObjectName("signInUser")
        self.password = QLineEdit()
        self.password.setObjectName("signInPassword")
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setPlaceholderText("empty: signed in by the county directory or ~/.pgpass")
        self.error = QLabel("")
        self.error.setObjectName("signInError")
        self.error.setStyleSheet("color: #b71c1c;")
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status = QLabel("")
        self.status.setObjectName("signInStatus")
        self._connect: _Connect | None = None
        form = QFormLayout()
        form.addRow("&Server", self.server)
        form.addRow("&User", self.user)
        form.addRow("&Password", self.password)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Sign in")
        buttons.accepted.connect(self.sign_in)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("Sign in with your own login: every ruling records who made it."))
        lay.addLayout(form)
        lay.addWidget(self.error)
        lay.addWidget(self.status)
        lay.addWidget(buttons)
        (self.password if self.server.text() and self.user.text() else self.server).setFocus()

    @property
    def busy(self) -> bool:
        """A sign-in is being tried."""
        return self._connect is not None

    def sign_in(self) -> None:
        """Try the server on a thread; on success emit ``signed_in`` and
        close, else say why in one line and stay open."""
        if self.busy:
            return
        self.error.setText("")
        try:
            loc = server_location(self.server.text(), self.user.text(), self.password.text())
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        where = urlsplit(str(loc))
        self.status.setText(f"Connecting to {where.hostname}:{where.port or 5432}…")
        for w in (self.ok, self.server, self.user, self.password):
            w.setEnabled(False)
        self._connect = _Connect(loc, self.filing, self)
        self._connect.done.connect(self._tried)
        self._connect.start()

    def _tried(self, session: Session | None, exc: BaseException | None) -> None:
        thread, self._connect = self._connect, None
        if thread is not None:
            thread.wait()
            thread.deleteLater()
        self.status.setText("")
        for w in (self.ok, self.server, self.user, self.password):
            w.setEnabled(True)
        if session is None:
            self.error.setText(one_line(exc) if exc is not None else "sign-in failed")
            self.password.selectAll()
            self.password.setFocus()
            return
        self.session = session
        self.password.clear()
        self.signed_in.emit(session)
        self.accept()

    def reject(self) -> None:
        """Cancel; a sign-in still being tried is let finish and dropped."""
        if self._connect is not None:
            thread, self._connect = self._connect, None
            thread.done.disconnect(self._tried)
            thread.setParent(None)
            _given_up.add(thread)
            thread.finished.connect(lambda t=thread: _given_up.discard(t))
            for w in (self.ok, self.server, self.user, self.password):
                w.setEnabled(True)
            self.status.setText("")
        super().reject()


def _os_login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return ""


def show_signed_in(win: QMainWindow, session: Session) -> QLabel:
    """The person and their role, always visible at the right of the status
    bar: on a server the database login that signed in, on a folder the
    workspace user the window acts as."""
    label = win.statusBar().findChild(QLabel, "signedIn")
    if label is None:
        label = QLabel()
        label.setObjectName("signedIn")
        label.setStyleSheet("padding: 0 6px; font-weight: bold;")
        win.statusBar().addPermanentWidget(label)
    role = ROLE_WORDS.get(session.role, session.role)
    if session.on_server:
        where = urlsplit(str(session.root))
        label.setText(f"Signed in as {session.user} ({role}) on {where.hostname}:{where.port or 5432}"
                      f"{where.path}")
        label.setToolTip("The database login every ruling and event of this window is recorded under")
    else:
        label.setText(f"Working as {session.user} ({role})")
        label.setToolTip("A workspace folder: who may use it rests on the folder's file permissions")
    return label
