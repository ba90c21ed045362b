"""The main window: a counts strip over tabs for the dashboard, the review
queue, the page viewer, voter look-up and supervisor tools.

All reads go through a reader :class:`DbThread`, rulings through a serial
writer :class:`DbThread`, long jobs through :class:`JobDialog`; each has its
own workspace connection. The window only arranges what :mod:`petitions`
returns.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QFileDialog, QLabel, QMainWindow, QMessageBox, QTabWidget, QVBoxLayout, QWidget)

from gui.dashboard import Dashboard
from gui.images import load_qimage, to_qimage
from gui.jobs import JobDialog
from gui.lookup import VoterLookup
from gui.page_view import PageViewer
from gui.review_panel import ReviewPanel
from gui.session import Session
from gui.supervisor import SupervisorPanel
from gui.workers import DbThread
from petitions import review
from petitions.errors import UserError
from petitions.store import Workspace

TABS = ("dashboard", "review", "pages", "lookup", "supervisor")
FOCUS_CSS = """
QPushButton:focus, QComboBox:focus, QLineEdit:focus, QTableView:focus, QSpinBox:focus { border: 2px solid #1565c0; }
ReviewPanel:focus { border: 2px solid #1565c0; }
"""


def open_session(root: str | Path, *, user: str | None = None, filing: str | None = None) -> Session:
    """Resolve who works on which filing (a few quick reads)."""
    from petitions.pipeline import get_filing

    with Workspace(root) as ws:
        who = review.default_user(ws, user)
        if who is None:
            raise UserError("this workspace has no users yet; add one with `petitions workspace` commands",
                            where=str(root))
        s = Session(Path(root), who[0], who[1])
        try:
            f = get_filing(ws, filing)
        except UserError:
            if filing is not None:
                raise
            return s
        s.filing_id, s.filing_name = f.id, f.name
        s.reject_codes = review.reject_codes(f.ruleset)
    return s


class MainWindow(QMainWindow):
    ready = Signal()   # the first view of the workspace is fully shown

    def __init__(self, root: str | Path | None = None, *, user: str | None = None, filing: str | None = None,
                 restore_state: bool = True):
        super().__init__()
        self.setWindowTitle("Petition workbench")
        self.setStyleSheet(FOCUS_CSS)
        self.session: Session | None = None
        self.reader: DbThread | None = None
        self.writer: DbThread | None = None
        self._ready_parts: set[str] = set()
        self._is_ready = False
        self._jobs: list[JobDialog] = []
        self._make_menu()
        self.strip = QLabel("Open a workspace (Ctrl+O) to begin.")
        self.strip.setObjectName("countsStrip")
        self.strip.setTextFormat(Qt.TextFormat.RichText)
        self.strip.setWordWrap(True)
        self.strip.setStyleSheet("padding: 4px; font-size: 11pt;")
        self.strip.setToolTip("The filing's counts as they stand")
        self.tabs = QTabWidget()
        self.tabs.setObjectName("mainTabs")
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.strip)
        lay.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        self.statusBar().showMessage("Ready")
        if restore_state:
            st = QSettings("sigverify", "petition-workbench")
            geo = st.value("geometry")
            if geo is not None:
                self.restoreGeometry(geo)
            else:
                self.resize(1366, 768)
        else:
            self.resize(1366, 768)
        self._restore = restore_state
        if root is not None:
            self.open_workspace(root, user=user, filing=filing)

    # ----------------------------------------------------------------- menus
    def _make_menu(self) -> None:
        m = self.menuBar().addMenu("&Workspace")
        a = QAction("&Open workspace…", self, shortcut=QKeySequence.StandardKey.Open, triggered=self._choose_workspace)
        a.setToolTip("Open a workspace folder")
        m.addAction(a)
        self.run_action = QAction("&Run matching, signatures and triage", self, shortcut="Ctrl+Shift+R",
                                  triggered=self.run_pipeline)
        self.run_action.setToolTip("Run the pipeline on the filing (in the background, with progress and cancel)")
        m.addAction(self.run_action)
        self.refresh_action = QAction("Re&fresh", self, shortcut="F5", triggered=self.refresh)
        m.addAction(self.refresh_action)
        m.addSeparator()
        m.addAction(QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit, triggered=self.close))
        v = self.menuBar().addMenu("&View")
        for i, (key, title) in enumerate((("dashboard", "&Dashboard"), ("review", "&Review queue"),
                                          ("pages", "&Pages"), ("lookup", "Voter &lookup"),
                                          ("supervisor", "&Supervisor"))):
            act = QAction(title, self, shortcut=f"Ctrl+{i + 1}",
                          triggered=lambda _c=False, key=key: self.show_tab(key))
            v.addAction(act)
        v.addAction(QAction("Voter lookup", self, shortcut="Ctrl+L", triggered=lambda: self.show_tab("lookup")))
        h = self.menuBar().addMenu("&Help")
        h.addAction(QAction("&Keys", self, shortcut="F1", triggered=self._keys_help))

    def _keys_help(self) -> None:
        QMessageBox.information(self, "Keys", (
            "Review queue:\n  A accept\n  1–9, 0 reject with the numbered reason\n  R reject with any reason\n"
            "  E escalate to a supervisor\n  S skip (to the end of the queue)\n  U undo your last ruling\n"
            "  N or → next, P or ← previous\n  F5 refresh\n\nTabs: Ctrl+1 … Ctrl+5, Ctrl+L voter lookup"))

    def _choose_workspace(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Open a workspace folder")
        if d:
            self.open_workspace(d)

    def show_tab(self, key: str) -> None:
        if key in TABS and self.tabs.count() == len(TABS):
            self.tabs.setCurrentIndex(TABS.index(key))
            if key == "review":
                self.review.setFocus()

    # ------------------------------------------------------------- workspace
    def open_workspace(self, root, *, user: str | None = None, filing: str | None = None) -> None:
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
        self.reader.start()
        self.writer.start()
        self.tabs.clear()
        self.dashboard = Dashboard()
        self.review = ReviewPanel(session, self.reader, self.writer)
        self.pages = PageViewer()
        self.lookup = VoterLookup()
        self.supervisor = SupervisorPanel()
        self.supervisor.set_enabled_for(session.is_supervisor)
        for w, title, tip in ((self.dashboard, "Dashboard", "Counts, progress, sample and outcome (Ctrl+1)"),
                              (self.review, "Review queue", "Rule on lines one at a time by keyboard (Ctrl+2)"),
                              (self.pages, "Pages", "Scanned pages with line boxes by status (Ctrl+3)"),
                              (self.lookup, "Voter lookup", "Search the voter file by name or address (Ctrl+4)"),
                              (self.supervisor, "Supervisor", "Samples, escalations and audits (Ctrl+5)")):
            i = self.tabs.addTab(w, title)
            self.tabs.setTabToolTip(i, tip)
        self.tabs.setTabEnabled(TABS.index("supervisor"), session.is_supervisor)
        self.review.message.connect(lambda m: self.statusBar().showMessage(m, 8000))
        self.review.ruling_recorded.connect(lambda *_: self._schedule_counts())
        self.review.case_shown.connect(lambda _lid: self._mark_ready("case"))
        self.review.queue_changed.connect(lambda n: self._mark_ready("case") if n == 0 else None)
        self.pages.page_requested.connect(self._load_page)
        self.pages.line_clicked.connect(self._open_line)
        self.lookup.search_requested.connect(self._search)
        self.supervisor.draw_requested.connect(self._draw_sample)
        self.tabs.currentChanged.connect(self._tab_changed)
        self.setWindowTitle(f"Petition workbench — {session.filing_name or 'no filing'} — {session.root}")
        self._counts_timer = QTimer(self)
        self._counts_timer.setSingleShot(True)
        self._counts_timer.setInterval(1500)
        self._counts_timer.timeout.connect(self._load_counts)
        self._ready_parts.clear()
        self._is_ready = False
        if session.filing_id is None:
            self.strip.setText(f"<b>{session.root}</b>: no filing yet. Signed in as {session.user} ({session.role}).")
            self._mark_ready("all")
            return
        self.review.load_voters()
        self.review.refresh()
        self._load_counts()
        self._load_pages()
        self._load_samples()
        self.show_tab("review")

    def refresh(self) -> None:
        if self.session and self.session.filing_id is not None and self.reader is not None:
            self.review.refresh()
            self._load_counts()
            self._load_pages()
            self._load_samples()

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

    def _schedule_counts(self) -> None:
        self._counts_timer.start()

    def _load_counts(self) -> None:
        fid = self.session.filing_id
        self._read(lambda ws: review.dashboard(ws, fid), self._counts_loaded)

    def _counts_loaded(self, d, err) -> None:
        if err:
            self.strip.setText(f"<b>Counts unavailable</b>: {err}")
            self.statusBar().showMessage(err)
        else:
            self.dashboard.set_data(d)
            c = d["count"]
            proj = ""
            if c["method"] == "random_sample" and c.get("projection"):
                proj = (f" · sample {c['sample_size']:,} (pending {c['sample_pending']:,}) · projected valid "
                        f"<b>{int(c['projection'].get('projected_valid') or 0):,}</b>")
            outcome = f" → <b>{(c.get('outcome') or '–').replace('_', ' ')}</b>" if c.get("outcome") else ""
            req = f" · required {d['required']:,}" if d.get("required") else ""
            self.strip.setText(
                f"<b>{d['filing']}</b> · lines {d['lines']:,} · raw count {c['raw_count']:,}{req} · "
                f"✓ valid {c['valid']:,} · ✗ invalid {c['invalid']:,} · ? needs review {d['needs_review']:,}"
                f"{proj}{outcome} · <i>{self.session.user} ({self.session.role})</i>")
        self._mark_ready("counts")

    def _load_pages(self) -> None:
        fid = self.session.filing_id
        self._read(lambda ws: review.pages_of(ws, fid), self._pages_listed)

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
            pv = review.page_view(ws, page_id)
            return pv, to_qimage(review.page_image(ws, pv))

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
        fid = self.session.filing_id

        def fetch(ws):
            from petitions.counting import sample_items

            return review.samples_of(ws, fid), sample_items(ws, fid)

        self._read(fetch, lambda res, err: self.supervisor.show_samples(*res) if res else None)

    def _tab_changed(self, i: int) -> None:
        if 0 <= i < len(TABS) and TABS[i] == "review":
            self.review.setFocus()

    # ------------------------------------------------------------------ jobs
    def run_job(self, fn, title: str, on_done=None) -> JobDialog:
        dlg = JobDialog(self.session.root, fn, title, self)
        self._jobs.append(dlg)

        def finished(packet):
            result, error, cancelled = packet
            self._jobs.remove(dlg)
            if error:
                self.statusBar().showMessage(f"{title}: {error}")
                QMessageBox.warning(self, title, error)
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

    def run_pipeline(self) -> JobDialog | None:
        if not self.session or self.session.filing_id is None:
            return None
        s = self.session

        def fn(ws, progress, cancel):
            from petitions import pipeline

            return pipeline.run_all(ws, s.filing_id, user=s.user, progress=progress, cancel=cancel)

        return self.run_job(fn, "Matching, signatures and triage")

    def _draw_sample(self, purpose: str, seed: str, size: int) -> None:
        s = self.session

        def fn(ws, progress, cancel):
            from petitions.counting import draw_sample

            if ws.user_role(s.user) != "supervisor":
                raise UserError("only a supervisor draws samples")
            return draw_sample(ws, s.filing_id, seed=seed, user=s.user, size=size or None, purpose=purpose)

        self.run_job(fn, "Drawing the sample")

    # -------------------------------------------------------------- shutdown
    def _stop_threads(self) -> None:
        for t in (self.reader, self.writer):
            if t is not None:
                t.stop()
        self.reader = self.writer = None

    def closeEvent(self, ev) -> None:
        for dlg in list(self._jobs):
            dlg.thread.cancel()
            dlg.thread.wait(30_000)
        self._stop_threads()   # the writer finishes every ruling queued before closing
        if self._restore:
            QSettings("sigverify", "petition-workbench").setValue("geometry", self.saveGeometry())
        super().closeEvent(ev)
