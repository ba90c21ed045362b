"""The main window: a counts strip over tabs for the dashboard, the review
queue, the page viewer, voter look-up, keying and supervisor tools, with a
File menu to open or set up a workspace and a Filing menu to certify and
export.

All reads go through a reader :class:`DbThread`, rulings and keyed entries
through a serial writer :class:`DbThread`, long jobs (imports, scans, the
pipeline, samples, certify, exports) through :class:`JobDialog`; each has its
own workspace connection. The window only arranges what :mod:`petitions`
returns and shows its refusals in its words.
"""
from __future__ import annotations

import os
import threading

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (QFileDialog, QInputDialog, QLabel, QMainWindow, QMessageBox, QTabWidget, QToolButton,
                               QVBoxLayout, QWidget)

from gui.batches import attach as attach_batches
from gui.dashboard import FIGURE_WORDS, Dashboard, figures
from gui.dialogs import (CertifyDialog, FormDialog, NewFilingDialog, NewWorkspaceDialog, NoticeDialog, PathEdit,
                         scans_in)
from gui.images import load_qimage, to_qimage
from gui.jobs import JobDialog
from gui.keying import KeyingPanel
from gui.lookup import VoterLookup
from gui.page_view import PageViewer
from gui.review_panel import REJECT_MODES, ReviewPanel
from gui.session import Session, location_of, open_at
from gui.signin import SignInDialog, show_signed_in
from gui.supervisor import SupervisorPanel, load_blind_images
from gui.workers import DbThread
import petitions
from petitions import UserError
from petitions import Workspace

ORG, APP = "sigverify", "petition-workbench"
TABS = ("dashboard", "review", "pages", "lookup", "keying", "supervisor")
TAB_INFO = {
    "dashboard": ("Dashboard", "Counts, progress, sample and outcome"),
    "review": ("Review queue", "Rule on lines one at a time by keyboard"),
    "pages": ("Pages", "Scanned pages with line boxes by status"),
    "lookup": ("Voter lookup", "Search the voter file by name or address"),
    "keying": ("Keying", "Key printed names and addresses from the crops"),
    "supervisor": ("Supervisor", "Samples, QA audits, agreement, certify and export"),
}
FOCUS_CSS = """
QPushButton:focus, QToolButton:focus, QComboBox:focus, QLineEdit:focus, QTableView:focus, QTableWidget:focus,
QListWidget:focus, QSpinBox:focus, QDateEdit:focus, QPlainTextEdit:focus, QCheckBox:focus
    { border: 2px solid #1565c0; }
QPushButton:focus { background: #e3f2fd; }
QTabBar::tab:focus { border: 2px solid #1565c0; }
ReviewPanel:focus, AuditPage:focus { border: 2px solid #1565c0; }
"""
SUPERVISOR_ONLY = "Only a supervisor may do this; you are signed in as a reviewer."


def settings() -> QSettings:
    """The workbench's settings (window state). An INI file under the user's
    config folder; tests point ``QSettings.setPath(IniFormat, UserScope, …)``
    at a temporary folder."""
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORG, APP)


def open_session(root: str | Path, *, user: str | None = None, filing: str | int | None = None) -> Session:
    """Resolve who works on which filing (a few quick reads)."""
    from petitions import get_filing

    with open_at(root) as ws:
        who = petitions.default_user(ws, user)
        if who is None:
            raise UserError("this workspace has no users yet; add one with `petitions workspace` commands",
                            where=str(root))
        s = Session(location_of(root), who[0], who[1])
        try:
            f = get_filing(ws, filing)
        except UserError:
            if filing is not None:
                raise
            return s
        s.filing_id, s.filing_name = f.id, f.name
        s.reject_codes = petitions.reject_codes(f.ruleset)
    return s


class MainWindow(QMainWindow):
    ready = Signal()   # the first view of the workspace is fully shown

    def __init__(self, root: str | Path | None = None, *, user: str | None = None, filing: str | None = None,
                 restore_state: bool = True):
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle("Petition workbench")
        self.setStyleSheet(FOCUS_CSS)
        self.session: Session | None = None
        self.reader: DbThread | None = None
        self.writer: DbThread | None = None
        self.counter: DbThread | None = None
        self.dash_reader: DbThread | None = None
        self._dash_stale = False
        self._counts_lock = threading.Lock()
        self._ready_parts: set[str] = set()
        self._is_ready = False
        self._jobs: list[JobDialog] = []
        self.cluster_view = None   # the same-hand view (gui/clusters.py), while open
        self.template_chooser: QInputDialog | None = None   # Add scans of another form's choice of template
        self.template_job: JobDialog | None = None          # and the ingest it started
        self.notices: list[NoticeDialog] = []
        self._audit_undo: list[int] = []   # audit ruling ids of this session, touched only in the writer
        self._make_menu()
        self.strip = QLabel("Open a workspace (Ctrl+O) or create one (Ctrl+N) to begin.")
        self.strip.setObjectName("countsStrip")
        self.strip.setTextFormat(Qt.TextFormat.RichText)
        self.strip.setWordWrap(True)
        self.strip.setStyleSheet("padding: 4px; font-size: 11pt;")
        self.strip.setToolTip("The filing's counts as they stand")
        self.tabs = QTabWidget()
        self.tabs.setObjectName("mainTabs")
        self.tabs.tabBar().setToolTip("Ctrl+1 … Ctrl+6 switch tabs")
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.strip)
        lay.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        self.statusBar().showMessage("Ready")
        self._restore = restore_state
        self.resize(1366, 768)
        if restore_state:
            st = settings()
            geo = st.value("geometry")
            if geo is not None:
                self.restoreGeometry(geo)
            state = st.value("windowState")
            if state is not None:
                self.restoreState(state)
        self._update_actions()
        if root is not None:
            self.open_workspace(root, user=user, filing=filing)

    def show_clusters(self):
        """Open the same-hand view (gui/clusters.py) on the current filing."""
        from gui.clusters import ClusterView

        if self.session is None or self.session.filing_id is None:
            self.statusBar().showMessage("Open a workspace with a filing first")
            return None
        if self.cluster_view is not None:
            self.cluster_view.close()
        view = ClusterView(self.session.root, user=self.session.user, filing_id=self.session.filing_id, parent=self)
        view.ruled.connect(lambda _lid: self.refresh())
        view.show()
        self.cluster_view = view
        return view

    # ----------------------------------------------------------------- menus
    def _action(self, menu, text: str, tip: str, slot, shortcut=None) -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            a.setShortcut(shortcut)
        a.setToolTip(tip)
        a.setStatusTip(tip)
        a.triggered.connect(lambda _c=False: slot())
        menu.addAction(a)
        return a

    def _make_menu(self) -> None:
        m = self.menuBar().addMenu("&File")
        m.setToolTipsVisible(True)
        A = self._action
        self.new_ws_action = A(m, "&New workspace…", "Create a workspace folder; you become its first supervisor",
                               self.new_workspace, QKeySequence.StandardKey.New)
        self.open_action = A(m, "&Open workspace…", "Open a workspace folder", self._choose_workspace,
                             QKeySequence.StandardKey.Open)
        self.server_action = A(m, "Open &server…", "Sign in to a workspace server (PostgreSQL) with your own login",
                               lambda: self.open_server())
        m.addSeparator()
        self.voters_action = A(m, "Import &voter file…", "Import the county voter file (optional column mapping); "
                               "problems are listed with their row and column", self.import_voter_file)
        self.exemplars_action = A(m, "Import &exemplars…", "Import voters' signatures on file from an index CSV "
                                  "(voter_id, path, captured_date, source)", self.import_exemplars)
        self.filing_action = A(m, "New &filing…", "Create a filing under a rule set (supervisors)", self.new_filing)
        self.scans_action = A(m, "Add &scans…", "Add scanned sections: each file becomes a section", self.add_scans)
        self.scan_dir_action = A(m, "Add a f&older of scans…", "Add every scan in a folder, each file a section",
                                 self.add_scan_folder)
        self.scans_tpl_action = A(m, "Add scans of &another form…", "Add scanned sections of a form other than the "
                                  "built-in ones, read with its template (made with New form template…)",
                                  self.add_scans_with_template)
        self.template_action = A(m, "New form &template…", "Make a template for a form of another layout from a "
                                 "scan of the blank form: name its columns, check it on a sample scan, save it",
                                 self.new_form_template)
        self.keyed_action = A(m, "Import &keyed entries…", "Import keyed names and addresses "
                              "(line_id, name, address, city, zip[, date_signed])", self.import_keyed)
        self.run_action = A(m, "&Run matching, signatures and triage", "Run the pipeline on the filing "
                            "(in the background, with progress and cancel)", self.run_pipeline, "Ctrl+Shift+R")
        m.addSeparator()
        self.refresh_action = A(m, "Re&fresh", "Reload everything from the workspace", self.refresh, "F5")
        A(m, "&Quit", "Close the workbench (queued rulings are saved first)", self.close, QKeySequence.StandardKey.Quit)
        f = self.menuBar().addMenu("Fi&ling")
        f.setToolTipsVisible(True)
        self.certify_action = A(f, "&Certify…", "Certify the result and write the certificate PDF", self.certify)
        self.report_action = A(f, "&Export report…", "Write lines.csv, tallies.csv and events.csv to a folder",
                               self.export_report)
        self.proponent_action = A(f, "&Proponent export…", "Disqualified lines with reasons and crops, read-only, "
                                  "for the proponents of an insufficient petition", self.proponent_export)
        # issue 18: a person confirms every line proposed invalid; withdrawal requests (gui/confirm_grid.py,
        # gui/withdrawals.py hold the screens)
        self.confirm_grid_action = A(f, "Confirm &invalid lines…", "Blank, struck and empty lines proposed invalid: "
                                     "confirm each, or a whole page, or send to review", self._open_confirm_grid,
                                     "Ctrl+Shift+I")
        self.withdrawals_action = A(f, "&Withdrawals…", "Load withdrawal requests (CSV), see their voters and lines, "
                                    "record them", self._open_withdrawals, "Ctrl+Shift+W")
        self.sections_action = A(f, "&Sections…", "Each section's circulator declaration, its checks and crops; "
                                 "a supervisor rules a whole section", self._open_sections, "Ctrl+Shift+S")
        self.clusters_action = A(f, "&Same-hand clusters…", "Lines one person likely wrote under different names "
                                 "(petitions fraud-scan), side by side with each voter's signatures on file",
                                 self.show_clusters)
        v = self.menuBar().addMenu("&View")
        v.setToolTipsVisible(True)
        for i, key in enumerate(TABS):
            title, tip = TAB_INFO[key]
            A(v, title, tip, lambda key=key: self.show_tab(key), f"Ctrl+{i + 1}")
        A(v, "Voter lookup", "Search the voter file", lambda: self.show_tab("lookup"), "Ctrl+L")
        v.addSeparator()
        self.reject_mode_actions = {}
        grp = QActionGroup(self)
        for mode, text, tip in (
                ("confirm", "Rejections by number key: confirm with the key again",
                 "A number key asks first; the same key again (or Enter) rejects, Esc cancels"),
                ("grace", "Rejections by number key: hold 3 s with a countdown",
                 "A number key rejects after a 3-second countdown; Esc or U cancels, Enter rejects at once")):
            a = A(v, text, tip, lambda mode=mode: self.set_reject_mode(mode))
            a.setCheckable(True)
            grp.addAction(a)
            self.reject_mode_actions[mode] = a
        self._apply_reject_mode()
        h = self.menuBar().addMenu("&Help")
        A(h, "&Keys", "The keyboard keys of the workbench", self._keys_help, "F1")
        for m in (v, h):
            m.setToolTipsVisible(True)
        ext = self.menuBar().findChild(QToolButton, "qt_menubar_ext_button")
        if ext is not None:   # shown when the window is too narrow for every menu
            ext.setToolTip("More menus")

    def _warn_if_read_only(self, root) -> None:
        """Say at once when the workspace cannot be written: rulings would fail."""
        root = Path(root)
        db = root / petitions.DB_NAME
        if root.is_dir() and not (os.access(root, os.W_OK) and (not db.exists() or os.access(db, os.W_OK))):
            msg = (f"{root} is read only for you: you can look, but rulings, keying and imports cannot be saved. "
                   "Ask the workspace's owner for write access, or open a copy.")
            self.read_only = True
            self.statusBar().showMessage(msg)
            self.notice("Read-only workspace", msg)
        else:
            self.read_only = False

    def reject_mode(self) -> str:
        """How a rejection by number key is made final (the office's setting)."""
        mode = str(settings().value("review/reject_mode", "confirm"))
        return mode if mode in REJECT_MODES else "confirm"

    def set_reject_mode(self, mode: str) -> None:
        settings().setValue("review/reject_mode", mode)
        self._apply_reject_mode()
        self.statusBar().showMessage(self.reject_mode_actions[mode].text(), 8000)

    def _apply_reject_mode(self) -> None:
        mode = self.reject_mode()
        self.reject_mode_actions[mode].setChecked(True)
        if getattr(self, "review", None) is not None:
            self.review.reject_mode = mode
            try:
                secs = int(settings().value("review/reject_grace_seconds", 3))
            except (TypeError, ValueError):
                secs = 3
            self.review.grace_seconds = min(max(secs, 1), 10)

    def _update_actions(self) -> None:
        """Enable what makes sense now; say why in the tooltip when not."""
        s = self.session
        has_ws = s is not None
        has_filing = has_ws and s.filing_id is not None
        sup = has_ws and s.is_supervisor
        for a, need, base in ((self.voters_action, has_ws, "Import the county voter file"),
                              (self.exemplars_action, has_ws, "Import voters' signatures on file"),
                              (self.scans_action, has_filing, "Add scanned sections"),
                              (self.scan_dir_action, has_filing, "Add a folder of scans"),
                              (self.scans_tpl_action, has_filing, "Add scans of another form"),
                              (self.keyed_action, has_filing, "Import keyed entries"),
                              (self.run_action, has_filing, "Run the pipeline"),
                              (self.refresh_action, has_ws, "Reload")):
            a.setEnabled(need)
            if not need:
                a.setToolTip(f"{base}: open a workspace{' and create a filing' if a is not self.voters_action else ''} first")
        for a, what in ((self.filing_action, "Create a filing under a rule set"),
                        (self.certify_action, "Certify the result"),
                        (self.report_action, "Export the report"),
                        (self.proponent_action, "Export for the proponents' inspection")):
            ok = sup and (has_filing or a is self.filing_action)
            a.setEnabled(ok)
            if not has_ws:
                a.setToolTip(f"{what}: open a workspace first")
            elif not sup:
                a.setToolTip(f"{what}: {SUPERVISOR_ONLY}")
            elif not ok:
                a.setToolTip(f"{what}: create a filing first")
            else:
                a.setToolTip(a.statusTip())

    def _keys_help(self) -> None:
        QMessageBox.information(self, "Keys", (
            "Review queue:\n  A accept\n  1–9, 0 reject with the numbered reason (the key again or Enter confirms, "
            "or a countdown runs: View menu; Esc cancels)\n  R reject with any reason\n"
            "  E escalate to a supervisor (asks for a note)\n  Z zoomed comparison, O original crops\n  S skip (to the end of the queue)\n  U undo your last ruling\n"
            "  N or → next, P or ← previous\n  F5 refresh\n\nQA audit (Supervisor tab): A accept, R reject with "
            "the chosen reason, E escalate, U undo\n\nKeying: Enter saves and opens the next unkeyed line\n\n"
            "Tabs: Ctrl+1 … Ctrl+6, Ctrl+L voter lookup"))

    def _choose_workspace(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Open a workspace folder")
        if d:
            try:
                self.open_workspace(d)
            except UserError as exc:
                self.notice("Open workspace", str(exc))

    def open_server(self, address: str = "", user: str | None = None, filing=None) -> SignInDialog:
        """The sign-in dialog; the window opens the server once it took the login."""
        dlg = SignInDialog(address, user, self, filing=filing)
        dlg.signed_in.connect(lambda s: self.open_workspace(s.root, filing=s.filing_id))
        dlg.open()
        return dlg

    def show_tab(self, key: str) -> None:
        if key in TABS and self.tabs.count() == len(TABS):
            self.tabs.setCurrentIndex(TABS.index(key))
            if key == "review":
                self.review.setFocus()

    def notice(self, title: str, message: str, problems: list[str] | None = None) -> NoticeDialog:
        """A non-modal message, with every located problem listed."""
        dlg = NoticeDialog(title, message, problems, self)
        self.notices.append(dlg)
        dlg.finished.connect(lambda _r, d=dlg: self.notices.remove(d) if d in self.notices else None)
        dlg.show()
        return dlg

    def _open_confirm_grid(self):
        from gui.confirm_grid import open_confirm_grid

        return open_confirm_grid(self)

    def _open_withdrawals(self):
        from gui.withdrawals import open_withdrawals

        return open_withdrawals(self)

    def _open_sections(self):
        from gui.sections import open_sections

        return open_sections(self)

    # ------------------------------------------------------------- workspace
    def open_workspace(self, root, *, user: str | None = None, filing=None) -> None:
        try:
            session = open_session(root, user=user, filing=filing)
        except UserError as exc:
            self.strip.setText(f"<b>Cannot open</b> {exc}")
            self.statusBar().showMessage(str(exc))
            self._mark_ready("all")
            raise
        self._stop_threads()
        self.session = session
        self.reader = DbThread(session.root, "reader", self)
        self.writer = DbThread(session.root, "writer", self)
        # the counts have their own connection, so the header never waits
        # behind the prefetch of the next cases
        self.counter = DbThread(session.root, "counts", self)
        # the dashboard (sections, reviewers, pages, certification …) on a
        # fourth connection: off the header's path
        self.dash_reader = DbThread(session.root, "dashboard", self)
        # every committed write asks for the header's counts from the writer
        # thread itself, not after the GUI thread has heard of it
        self.writer.after_each = lambda c=self.counter, fid=session.filing_id: self._want_counts(c, fid)
        self._counts_queued = self._dash_queued = self._dash_stale = False
        self.reader.start()
        self.writer.start()
        self.counter.start()
        self.dash_reader.start()
        self.tabs.clear()
        self._audit_undo = []   # a new session's own list (the old writer's tasks keep theirs)
        self.dashboard = Dashboard()
        self.review = ReviewPanel(session, self.reader, self.writer)
        self._apply_reject_mode()
        self.pages = PageViewer()
        self.lookup = VoterLookup()
        self.keying = KeyingPanel()
        self.supervisor = SupervisorPanel(session.reject_codes)
        self.supervisor.set_enabled_for(session.is_supervisor)
        widgets = {"dashboard": self.dashboard, "review": self.review, "pages": self.pages, "lookup": self.lookup,
                   "keying": self.keying, "supervisor": self.supervisor}
        for i, key in enumerate(TABS):
            title, tip = TAB_INFO[key]
            self.tabs.addTab(widgets[key], title)
            self.tabs.setTabToolTip(i, f"{tip} (Ctrl+{i + 1})")
        sup_i = TABS.index("supervisor")
        self.tabs.setTabEnabled(sup_i, session.is_supervisor)
        if not session.is_supervisor:
            self.tabs.setTabToolTip(sup_i, f"Supervisor tools: {SUPERVISOR_ONLY}")
        self.review.message.connect(lambda m: self.statusBar().showMessage(m, 8000))
        self.review.case_shown.connect(lambda _lid: self._mark_ready("case"))
        self.review.queue_changed.connect(lambda n: self._mark_ready("case") if n == 0 else None)
        self.pages.page_requested.connect(self._load_page)
        self.pages.line_clicked.connect(self._open_line)
        self.lookup.search_requested.connect(self._search)
        self.keying.queue_requested.connect(self._load_keying)
        self.keying.line_requested.connect(self._open_keying_line)
        self.keying.search_requested.connect(self._keying_search)
        self.keying.save_requested.connect(self._save_keyed)
        sp = self.supervisor
        sp.count_draw_requested.connect(self._draw_sample)
        sp.audit.draw_requested.connect(self.draw_qa_sample)
        sp.audit.case_wanted.connect(self._load_blind_case)
        sp.audit.ruling_requested.connect(self._record_audit)
        sp.audit.undo_requested.connect(self._undo_audit)
        sp.agreement.route_requested.connect(self.route_disagreements)
        sp.certify_requested.connect(self.certify)
        sp.report_requested.connect(self.export_report)
        sp.proponent_requested.connect(self.proponent_export)
        self.tabs.currentChanged.connect(self._tab_changed)
        self.setWindowTitle(f"Petition workbench — {session.filing_name or 'no filing'} — {session.root}")
        self._ready_parts.clear()
        self._is_ready = False
        self._update_actions()
        self._warn_if_read_only(session.root)
        show_signed_in(self, session)
        if session.filing_id is None:
            self.strip.setText(f"<b>{session.root}</b>: no filing yet — File ▸ New filing… "
                               f"Signed in as {session.user} ({session.role}).")
            self._mark_ready("all")
            return
        self.batches = attach_batches(self)
        self.review.load_voters()
        self.review.refresh()
        self._load_counts()
        self._load_pages()
        self._load_samples()
        self._load_keying()
        self.show_tab("review")
        if self._restore:
            tab = settings().value("tab")
            if tab in TABS and tab != "review" and self.tabs.isTabEnabled(TABS.index(tab)):
                self.show_tab(tab)

    def refresh(self) -> None:
        if self.session and self.session.filing_id is not None and self.reader is not None:
            self.review.refresh()
            self._load_counts()
            self._load_pages()
            self._load_samples()
            self._load_keying()

    def _mark_ready(self, part: str) -> None:
        self._ready_parts.add(part)
        if not self._is_ready and ("all" in self._ready_parts or {"case", "counts", "page"} <= self._ready_parts):
            self._is_ready = True
            self.ready.emit()

    @property
    def is_ready(self) -> bool:
        return self._is_ready

    # ----------------------------------------------------------------- reads
    def _read(self, fn, callback) -> None:
        """Submit a read to the reader thread (ignored once the window closed)."""
        if self.reader is not None:
            self.reader.submit(fn, callback)

    def _load_counts(self) -> None:
        self._want_counts(self.counter, self.session.filing_id)

    def _want_counts(self, counter: DbThread | None, fid: int | None) -> None:
        """Ask `counter` for the header's counts (from any thread: the writer
        calls this after each write). At most one request waits: a burst of
        rulings is counted once, by the request that starts after the last."""
        if counter is None or fid is None:
            return
        with self._counts_lock:
            if self._counts_queued:
                return
            self._counts_queued = True

        def task(ws):
            with self._counts_lock:
                self._counts_queued = False
            return petitions.counts(ws, fid)

        counter.submit(task, lambda d, err, c=counter: self._counts_loaded(d, err) if c is self.counter else None)

    def _counts_loaded(self, d, err) -> None:
        if err:
            self.strip.setText(f"<b>Counts unavailable</b>: {err}")
            self.statusBar().showMessage(err)
            self._mark_ready("counts")
            return
        self.show_counts(d)
        # The dashboard follows when it can be seen (or has never been
        # filled); while a reviewer works the queue it waits, stale, for its
        # tab, and takes no time from the next case.
        if self.dashboard.data is None or self.tabs.currentWidget() is self.dashboard:
            self._load_dashboard()
        else:
            self._dash_stale = True

    def show_counts(self, d: dict) -> None:
        """The header's line: the figures of :func:`petitions.counts` (or
        of the dashboard dict, which holds the same) under their names."""
        c, fig = d["count"], figures(d)
        proj = ""
        if fig["projected_valid"] is not None:
            proj = (f" · sample {c['sample_size']:,} (pending {c['sample_pending']:,}) · projected valid "
                    f"<b>{fig['projected_valid']:,}</b>")
        outcome = f" → <b>{(c.get('outcome') or '–').replace('_', ' ')}</b>" if c.get("outcome") else ""
        req = f" · required {d['required']:,}" if d.get("required") else ""
        people = "".join(f" · {FIGURE_WORDS[k]} {fig[k]:,}" for k in ("auto_accepted", "accepted_by_person")
                         if fig[k] is not None)
        self.strip.setText(
            f"<b>{d['filing']}</b> · lines {d['lines']:,} · raw count {fig['raw_count']:,}{req}{people} · "
            f"✓ valid {fig['valid']:,} · ✗ invalid {fig['invalid']:,} · ? pending {fig['pending']:,}"
            f"{proj}{outcome} · <i>{self.session.user} ({self.session.role})</i>")

    def _load_dashboard(self) -> None:
        """The dashboard follows the header, on its own connection; one
        request waits at most."""
        dash, fid = getattr(self, "dash_reader", None), self.session.filing_id
        if dash is None or self._dash_queued:
            return
        self._dash_queued, self._dash_stale = True, False

        def task(ws):
            self._dash_queued = False
            return petitions.dashboard(ws, fid)

        def loaded(d, err, t=dash):
            if t is not self.dash_reader:
                return
            if err:
                self.statusBar().showMessage(f"Dashboard unavailable: {err}")
            else:
                self.dashboard.set_data(d)
            self._mark_ready("counts")   # the window is ready once the header and the dashboard show

        dash.submit(task, loaded)

    def _load_pages(self) -> None:
        fid = self.session.filing_id
        self._read(lambda ws: petitions.pages_of(ws, fid), self._pages_listed)

    def _pages_listed(self, pages, err) -> None:
        if err or not pages:
            self._mark_ready("page")
            return
        current = self.pages.page.page_id if self.pages.page else None
        self.pages.set_pages(pages)
        if current is not None:
            self.pages.select_page(current)

    def _load_page(self, page_id: int) -> None:
        def fetch(ws):
            pv = petitions.page_view(ws, page_id)
            return pv, to_qimage(petitions.page_image(ws, pv))

        def done(res, err):
            if err:
                self.statusBar().showMessage(err)
            else:
                self.pages.show_page(*res)
            self._mark_ready("page")

        self._read(fetch, done)

    def _open_line(self, line_db_id: int) -> None:
        self.show_tab("review")
        if self.review.model.row_of(line_db_id) < 0:
            self.statusBar().showMessage("That line is not in the current queue; showing it anyway (read only in this queue).", 8000)
        self.review.show_line(line_db_id)

    def _search(self, name: str, address: str, zip_: str) -> None:
        voters = self.review.voters
        q = (name, address, zip_)
        if voters is None:
            self.lookup.show_results(q, None, "No voter file is loaded in this workspace.")
            return
        self._read(lambda ws: voters.search(name=name, address=address, zip=zip_),
                           lambda df, err: self.lookup.show_results(q, df, err))

    def _load_samples(self) -> None:
        s = self.session
        fid = s.filing_id

        def fetch(ws):
            from petitions import sample_items

            return petitions.samples_of(ws, fid), sample_items(ws, fid)

        self._read(fetch, lambda res, err: self.supervisor.show_samples(*res) if res else None)
        if s.is_supervisor:
            self._load_audit()

    def _load_audit(self) -> None:
        """The blind QA queue, the agreement report and the last certification."""
        s = self.session

        def fetch(ws):
            import petitions
            from petitions import last_certification

            return (petitions.qa_queue(ws, s.filing_id, user=s.user), petitions.agreement_report(ws, s.filing_id),
                    last_certification(ws, s.filing_id))

        def done(res, err):
            if err:
                self.statusBar().showMessage(f"QA audit: {err}")
                return
            queue, rep, cert = res
            self.supervisor.audit.set_queue(queue)
            self.supervisor.agreement.show_report(rep)
            self.supervisor.show_certification(cert)

        self._read(fetch, done)

    def _tab_changed(self, i: int) -> None:
        key = TABS[i] if 0 <= i < len(TABS) else None
        if key == "dashboard" and self._dash_stale:
            self._load_dashboard()
        if key == "review":
            self.review.setFocus()
        elif key == "keying" and self.keying.line is not None:
            self.keying.fields["name"].setFocus()

    # --------------------------------------------------------------- keying
    def _load_keying(self) -> None:
        fid = self.session.filing_id
        if fid is None:
            return
        self._read(lambda ws: petitions.keying_queue(ws, fid),
                   lambda lines, err: self.keying.set_queue(lines) if not err else
                   self.statusBar().showMessage(f"Keying: {err}"))

    def _open_keying_line(self, ident: str) -> None:
        fid = self.session.filing_id

        def fetch(ws):
            ln = petitions.keying_line(ws, ident, filing_id=fid)
            return ln, {h: load_qimage(ws, h) for h in (ln.name_hash, ln.address_hash) if h}

        def done(res, err):
            if err:
                self.keying.open_failed(err)
            else:
                self.keying.open_line(*res)

        self._read(fetch, done)

    def _keying_search(self, name: str, address: str, zip_: str) -> None:
        voters = self.review.voters
        q = (name, address, zip_)
        if voters is None:
            self.keying.show_candidates(q, None, "No voter file is loaded in this workspace.")
            return
        self._read(lambda ws: voters.search(name=name, address=address, zip=zip_),
                   lambda df, err: self.keying.show_candidates(q, df, err))

    def _save_keyed(self, line_db_id: int, values: dict) -> None:
        user = self.session.user

        def write(ws):
            from petitions import key_line

            key_line(ws, line_db_id, user=user, **values)

        def done(_res, err):
            if err:
                self.keying.save_failed(line_db_id, err)
                self.statusBar().showMessage(f"Keying not saved: {err}")
            else:
                self.statusBar().showMessage("Keyed. Run the pipeline (Ctrl+Shift+R) to match keyed lines.", 8000)

        self.writer.submit(write, done)

    # ------------------------------------------------------------- QA audit
    def _load_blind_case(self, case) -> None:
        voters = self.review.voters

        def fetch(ws):
            records = voters.get([v for v, _ in case.candidates]) if voters is not None else {}
            return load_blind_images(ws, case), records

        def done(res, err):
            if err:
                self.statusBar().showMessage(err)
            elif self.supervisor.audit.current_case() is case:
                self.supervisor.audit.view.show_case(case, *res)

        self._read(fetch, done)

    def _record_audit(self, line_db_id: int, action: str, reason) -> None:
        user, stack = self.session.user, self._audit_undo

        def write(ws):
            from petitions import record_audit

            res = record_audit(ws, line_db_id, user=user, action=action, reason_code=reason)
            # Here, not in `done`: an undo pressed before this answer arrives
            # runs after this write (the writer keeps order) and must see it.
            stack.append(res.ruling_id)
            return res

        def done(res, err):
            if err:
                self.statusBar().showMessage(f"Audit ruling not recorded: {err}")
                self.notice("QA audit", f"Audit ruling not recorded: {err}")
            else:
                self.statusBar().showMessage("Audit ruling recorded. U undoes.", 8000)
            self._load_audit()

        self.writer.submit(write, done)

    def _undo_audit(self) -> None:
        stack, user = self._audit_undo, self.session.user

        def write(ws):
            if not stack:
                raise UserError("no audit ruling of this session to undo")
            return petitions.undo_ruling(ws, stack.pop(), user=user)

        def done(_res, err):
            self.statusBar().showMessage(f"Undo refused: {err}" if err else "Audit ruling undone.", 8000)
            self._load_audit()

        self.writer.submit(write, done)

    def draw_qa_sample(self, seed: str) -> JobDialog:
        s = self.session

        def fn(ws, progress, cancel):
            from petitions import draw_qa_sample

            return draw_qa_sample(ws, s.filing_id, seed=seed, user=s.user)

        return self.run_job(fn, "Drawing the QA audit sample",
                            lambda res, err, _c: self.supervisor.audit.show_draw(res) if res is not None else None)

    def route_disagreements(self) -> JobDialog:
        s = self.session

        def fn(ws, progress, cancel):
            from petitions import route_disagreements

            return route_disagreements(ws, s.filing_id, user=s.user)

        def done(rep, err, _c):
            if rep is not None:
                self.supervisor.agreement.routed.setText(
                    f"Sent back: {len(rep.routed)}" + (f" ({', '.join(rep.routed[:8])})" if rep.routed else "")
                    + f" · already sent back earlier: {len(rep.already_routed)}"
                    + f" · re-ruled since the audit (left alone): {len(rep.reruled_since)}")

        return self.run_job(fn, "Sending disagreements back to review", done)

    # ------------------------------------------------------------------ jobs
    def run_job(self, fn, title: str, on_done=None, *, quiet: bool = False, root=None) -> JobDialog:
        """Run `fn(ws, progress, cancel)` off the GUI thread with progress,
        time left and Cancel. Errors are shown (with every located problem)
        unless `quiet` (the caller shows them, e.g. in its form)."""
        dlg = JobDialog(root or self.session.root, fn, title, self)
        self._jobs.append(dlg)

        def finished(packet):
            result, error, cancelled = packet
            self._jobs.remove(dlg)
            if error:
                self.statusBar().showMessage(f"{title}: {error}")
                if not quiet or dlg.problems:
                    self.notice(title, error, dlg.problems)
            elif cancelled:
                self.statusBar().showMessage(f"{title}: cancelled; everything finished before is kept.")
            else:
                self.statusBar().showMessage(f"{title}: done.", 8000)
            if on_done:
                on_done(result, error, cancelled)
            self.refresh()

        dlg.done.connect(finished)
        dlg.start()
        return dlg

    def _form_job(self, dlg: FormDialog, title: str, make_fn, on_ok) -> FormDialog:
        """Show a form; on OK run its job; keep it open with the refusal, or
        close it and call ``on_ok(result, values)``."""
        def submitted(values):
            def done(result, error, cancelled):
                if error:
                    dlg.show_error(error)
                elif cancelled:
                    dlg.show_error("cancelled")
                else:
                    dlg.done_ok()
                    on_ok(result, values)

            self.run_job(make_fn(values), title, done, quiet=True)

        dlg.submitted.connect(submitted)
        dlg.show()
        return dlg

    def run_pipeline(self) -> JobDialog | None:
        if not self.session or self.session.filing_id is None:
            return None
        s = self.session

        def fn(ws, progress, cancel):
            import petitions

            return petitions.run_all(ws, s.filing_id, user=s.user, progress=progress, cancel=cancel)

        return self.run_job(fn, "Matching, signatures and triage")

    def _draw_sample(self, seed: str, size: int) -> JobDialog:
        s = self.session

        def fn(ws, progress, cancel):
            from petitions import draw_sample

            return draw_sample(ws, s.filing_id, seed=seed, user=s.user, size=size or None, purpose="count")

        return self.run_job(fn, "Drawing the sample")

    # --------------------------------------------------------------- set-up
    def new_workspace(self) -> NewWorkspaceDialog:
        dlg = NewWorkspaceDialog(self)

        def submitted(v):
            from petitions import DB_NAME

            folder = Path(v["folder"])
            if (folder / DB_NAME).exists():
                dlg.show_error("a workspace already exists there; use File ▸ Open workspace…")
                return
            try:
                with Workspace(folder, create=True) as ws:
                    ws.ensure_user(v["user"], "supervisor")
                self.open_workspace(folder, user=v["user"])
            except UserError as exc:
                dlg.show_error(str(exc))
                return
            dlg.done_ok()
            self.statusBar().showMessage(f"Created {folder}; next: File ▸ Import voter file…", 10000)

        dlg.submitted.connect(submitted)
        dlg.show()
        return dlg

    def import_voter_file(self) -> FormDialog:
        dlg = FormDialog("Import voter file", self)
        dlg.path = PathEdit(mode="open", caption="The county voter file", filter="Voter files (*.csv *.txt *.tsv "
                            "*.parquet);;All files (*)", tip="The county's voter-file export (CSV, TSV or Parquet)")
        dlg.mapping = PathEdit(mode="open", caption="Column mapping (optional)", filter="JSON (*.json);;All files (*)",
                               tip="Optional JSON {\"county header\": \"standard column\"} for county exports")
        dlg.form.addRow("&Voter file:", dlg.path)
        dlg.form.addRow("Column &mapping:", dlg.mapping)
        dlg.values = lambda: {"path": _need(dlg.path.text(), "choose the voter file"), "mapping": dlg.mapping.text() or None}
        user = self.session.user

        def make(v):
            def fn(ws, progress, cancel):
                from petitions import import_voter_file

                return import_voter_file(ws, v["path"], user=user, mapping=v["mapping"], progress=progress,
                                         cancel=cancel)
            return fn

        def ok(rep, v):
            self.notice("Import voter file", f"{rep.rows:,} voters imported from {v['path']}"
                        + (" (the same file as before; re-activated)" if rep.already_imported else ""))
            self.review.load_voters()

        return self._form_job(dlg, "Importing the voter file", make, ok)

    def import_exemplars(self, path: str | None = None) -> JobDialog | None:
        path = path or QFileDialog.getOpenFileName(self, "Exemplar index CSV", "", "CSV (*.csv);;All files (*)")[0]
        if not path:
            return None
        user = self.session.user

        def fn(ws, progress, cancel):
            from petitions import import_exemplars

            return import_exemplars(ws, path, user=user, progress=progress, cancel=cancel)

        def done(rep, err, _c):
            if rep is not None:
                self.notice("Import exemplars", f"{rep.imported:,} signatures on file imported, "
                            f"{rep.skipped_existing:,} already there.", rep.problems)

        return self.run_job(fn, "Importing exemplars", done)

    def new_filing(self) -> NewFilingDialog:
        from petitions import builtin_rulesets, load_ruleset

        choices = []
        for name in builtin_rulesets():
            try:
                choices.append((name, f"{load_ruleset(name).name} ({name})"))
            except UserError:
                choices.append((name, name))
        dlg = NewFilingDialog(choices, self)
        user, root = self.session.user, self.session.root

        def make(v):
            def fn(ws, progress, cancel):
                from petitions import create_filing

                return create_filing(ws, user=user, **v)
            return fn

        def ok(fid, v):
            self.open_workspace(root, user=user, filing=fid)
            self.statusBar().showMessage(f"Filing {v['name']} created; next: File ▸ Add scans…", 10000)

        return self._form_job(dlg, "Creating the filing", make, ok)

    def add_scan_folder(self, folder: str | None = None) -> JobDialog | None:
        folder = folder or QFileDialog.getExistingDirectory(self, "A folder of scanned sections")
        if not folder:
            return None
        files = scans_in(folder)
        if not files:
            self.notice("Add scans", f"No scans (PDF, TIFF, PNG, JPEG) in {folder}.")
            return None
        return self.add_scans([str(p) for p in files])

    #: The chooser's last entry: a template file instead of one kept with the filing.
    OTHER_TEMPLATE = "Another template file…"

    def add_scans_with_template(self, template=None, paths: list[str] | None = None) -> JobDialog | None:
        """Add scans read with a form template instead of the built-in forms:
        `template` (a JSON file, or a template object), or chosen among the
        templates this filing's scans were read with (kept in the workspace)
        or from a file."""
        if template is not None:
            return self.add_scans(paths, template=template)
        fid = self.session.filing_id
        self.reader.submit(lambda ws: petitions.filing_templates(ws, fid),
                           lambda kept, _err: self._choose_template(kept or [], paths))
        return None

    def _choose_template(self, kept: list[dict], paths: list[str] | None) -> None:
        if not kept:
            self._template_from_file(paths)
            return
        items = [f"{t['name']}: {t['sections']} section(s) read with it, the last {t['last_used'][:10]} "
                 f"({t['sha256'][:12]})" for t in kept] + [self.OTHER_TEMPLATE]
        dlg = QInputDialog(self)
        dlg.setWindowTitle("The form's template")
        dlg.setLabelText("Read the scans with a template this filing's scans were read with, or with another file:")
        dlg.setComboBoxItems(items)
        dlg.setComboBoxEditable(False)
        dlg.setToolTip("Templates kept with this filing, newest first: the name, how many sections were read with "
                       "it, when it was last used, and the start of its SHA-256")
        fid = self.session.filing_id

        def chosen(text: str) -> None:
            if text not in items[:-1]:
                self._template_from_file(paths)
                return
            sha = kept[items.index(text)]["sha256"]
            self.reader.submit(lambda ws: petitions.stored_template(ws, fid, sha),
                               lambda t, err: self.notice("Add scans", err) if err else self._scans_with(paths, t))

        dlg.textValueSelected.connect(chosen)
        self.template_chooser = dlg
        dlg.open()

    def _template_from_file(self, paths: list[str] | None) -> None:
        template = QFileDialog.getOpenFileName(self, "The form's template", "", "Template (*.json);;All files (*)")[0]
        if template:
            self._scans_with(paths, template)

    def _scans_with(self, paths, template) -> None:
        self.template_job = self.add_scans(paths, template=template)

    def add_scans(self, paths: list[str] | None = None, *, template: str | None = None) -> JobDialog | None:
        if paths is None:
            paths, _ = QFileDialog.getOpenFileNames(self, "Scanned sections (each file is a section)", "",
                                                    "Scans (*.pdf *.tif *.tiff *.png *.jpg *.jpeg);;All files (*)")
        if not paths:
            return None
        s = self.session

        def fn(ws, progress, cancel):
            # All the files on one shared pool of segmentation processes, the
            # next files segmented while one is committed (petitions.ingest_files);
            # each file's refusal is reported by name while the others go on.
            from petitions import Cancelled, ingest_files, worker_pool

            out: dict[str, tuple] = {}
            try:
                with worker_pool() as pool:
                    for p, rep in ingest_files(ws, s.filing_id, paths, user=s.user, executor=pool, cancel=cancel,
                                               progress=progress, template=template):
                        if isinstance(rep, Exception):
                            out[str(p)] = (str(p), None, getattr(rep, "message", str(rep)))
                        else:
                            out[str(p)] = (str(p), rep, None)
            except Cancelled:
                pass  # every file committed before stays; the others are listed as cancelled below
            return [out.get(str(Path(p)), (p, None, "cancelled; nothing of this file was stored")) for p in paths]

        def done(results, err, _c):
            if results is None:
                return
            lines, problems = [], []
            for p, rep, error in results:
                name = Path(p).name
                if error:
                    problems.append(f"{name}: {error}")
                elif rep.already_ingested:
                    lines.append(f"{name}: already ingested (section {rep.section}); skipped")
                else:
                    lines.append(f"{name}: section {rep.section}, {rep.pages} page(s), {rep.lines} line(s)")
                    problems.extend(f"{name}: {pr}" for pr in rep.problems)
                    problems.extend(f"{name}: check {note}" for note in rep.check_notes)
            self.last_scan_results = results
            self.notice("Add scans", "\n".join(lines) or "No file was added.", problems)

        return self.run_job(fn, "Adding scans", done)

    def new_form_template(self):
        """File ▸ New form template… (gui/templates.py); needs no workspace."""
        from gui.templates import TemplateDialog

        self.template_dialog = TemplateDialog(self)
        self.template_dialog.saved.connect(
            lambda p: self.statusBar().showMessage(f"Template saved: {p}; use it with --template", 10000))
        self.template_dialog.show()
        return self.template_dialog

    def import_keyed(self, path: str | None = None) -> JobDialog | None:
        path = path or QFileDialog.getOpenFileName(self, "Keyed entries CSV", "", "CSV (*.csv);;All files (*)")[0]
        if not path:
            return None
        s = self.session

        def fn(ws, progress, cancel):
            from petitions import import_keyed_entries

            return import_keyed_entries(ws, s.filing_id, path, user=s.user)

        def done(rep, err, _c):
            if rep is not None:
                self.notice("Import keyed entries", f"{rep.imported:,} new or changed, {rep.unchanged:,} unchanged. "
                            "Run the pipeline (Ctrl+Shift+R) to match them.", rep.problems)

        return self.run_job(fn, "Importing keyed entries", done)

    # ------------------------------------------------------ certify, export
    def certify(self) -> CertifyDialog:
        s = self.session
        safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in (s.filing_name or "filing"))
        reports = Path.home() / "reports" if s.on_server else Path(s.root) / "reports"
        dlg = CertifyDialog(str(reports / f"certificate-{safe}.pdf"), self)

        def make(v):
            def fn(ws, progress, cancel):
                from petitions import certify

                return certify(ws, s.filing_id, user=s.user, **v)
            return fn

        def ok(res, v):
            self.notice("Certified", f"Certified: {res.result.replace('_', ' ')}.\nCertificate: {res.path}\n"
                        f"SHA-256 {res.sha256}")

        return self._form_job(dlg, "Certifying", make, ok)

    def export_report(self, folder: str | None = None) -> JobDialog | None:
        folder = folder or QFileDialog.getExistingDirectory(self, "Folder for the report (lines, tallies, events)")
        if not folder:
            return None
        fid, user = self.session.filing_id, self.session.user

        def fn(ws, progress, cancel):
            from petitions import write_report

            return write_report(ws, fid, folder, user=user)

        def done(files, err, _c):
            if files:
                self.notice("Export report", "Written:\n" + "\n".join(str(p) for p in files.values()))

        return self.run_job(fn, "Exporting the report", done)

    def proponent_export(self, folder: str | None = None) -> JobDialog | None:
        folder = folder or QFileDialog.getExistingDirectory(self, "A new or empty folder for the proponents' copy")
        if not folder:
            return None
        s = self.session

        def fn(ws, progress, cancel):
            from petitions import proponent_export

            return proponent_export(ws, s.filing_id, folder, user=s.user)

        def done(res, err, _c):
            if res is not None:
                self.notice("Proponent export", f"{res.lines:,} disqualified line(s) with {res.images:,} crop(s) "
                            f"written read-only to {res.out_dir}.")

        return self.run_job(fn, "Proponent export", done)

    # -------------------------------------------------------------- shutdown
    def _stop_threads(self) -> None:
        if self.cluster_view is not None:   # its connection thread, with its rulings, ends with the session
            self.cluster_view.close()
            self.cluster_view = None
        for t in (self.reader, self.writer, getattr(self, "counter", None), getattr(self, "dash_reader", None)):
            if t is not None:
                t.stop()
        self.reader = self.writer = self.counter = self.dash_reader = None

    def closeEvent(self, ev) -> None:
        for dlg in list(self._jobs):
            dlg.thread.cancel()
            dlg.thread.wait(30_000)
        self._stop_threads()   # the writer finishes every ruling queued before closing
        if self._restore:
            st = settings()
            st.setValue("geometry", self.saveGeometry())
            st.setValue("windowState", self.saveState())
            i = self.tabs.currentIndex()
            if self.tabs.count() == len(TABS) and i >= 0:
                st.setValue("tab", TABS[i])
            st.sync()
        super().closeEvent(ev)


def _need(value: str, message: str) -> str:
    if not value:
        raise ValueError(message)
    return value
