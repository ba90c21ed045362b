"""Batches per reviewer in the workbench.

* :class:`BatchBar`, above the review queue: the batch the person holds
  (lines done of its total, the lease's time left), **Next batch** to check
  one out and **Give back** to return its unruled lines. While they hold a
  batch with lines left, the queue shows only those lines; without one it
  shows every waiting line nobody else holds (:func:`petitions.my_queue`).
* :class:`TeamView`, on the dashboard: who holds which batch, its lease and
  lines done, and each person's throughput (lines per hour, by reason). A
  supervisor also gets the controls to hand a batch to a named person and
  to reclaim one; a reviewer's view has no such controls (and the library
  and the database refuse them a reviewer in any case).

Every read and write goes through the window's reader and writer threads
and the :mod:`petitions` API; nothing here decides who may do what.
"""
from __future__ import annotations

import datetime as _dt
import html

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QGroupBox, QHBoxLayout, QHeaderView, QLabel, QPushButton,
                               QSpinBox, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

import petitions

from gui.session import Session


def seconds_left(lease_until: str, now: _dt.datetime | None = None) -> int:
    """Whole seconds until `lease_until` (ISO time), never below 0."""
    end = _dt.datetime.fromisoformat(lease_until)
    if end.tzinfo is None:
        end = end.replace(tzinfo=_dt.UTC)
    now = now or _dt.datetime.now(_dt.UTC)
    return max(0, int((end - now).total_seconds()))


def lease_words(lease_until: str) -> str:
    s = seconds_left(lease_until)
    if s <= 0:
        return "lease run out"
    return f"lease {s // 60} min left" if s >= 120 else f"lease {s} s left"


class BatchBar(QWidget):
    """The batch a person holds, above the review queue."""

    message = Signal(str)
    changed = Signal()          # a batch was taken or given back

    def __init__(self, session: Session, reader, writer, review, parent=None):
        super().__init__(parent)
        self.setObjectName("batchBar")
        self.session, self.reader, self.writer, self.review = session, reader, writer, review
        self.status: dict | None = None
        self.loaded = False
        self.batch_size = 50   # lines per checkout
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.text = QLabel("Batch: loading …")
        self.text.setObjectName("batchText")
        self.text.setToolTip("Your batch of the queue: no one else is served these lines while your lease runs; "
                             "working a line renews it")
        lay.addWidget(self.text, 1)
        self.next_btn = QPushButton("Next batch")
        self.next_btn.setObjectName("nextBatch")
        self.next_btn.setToolTip("Check out the next lines of this queue that nobody holds "
                                 "(keeps the batch you hold while it has lines left)")
        self.next_btn.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.next_btn.clicked.connect(self.next_batch)
        lay.addWidget(self.next_btn)
        self.back_btn = QPushButton("Give back")
        self.back_btn.setObjectName("giveBack")
        self.back_btn.setToolTip("Return your batch's unruled lines to the queue")
        self.back_btn.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.back_btn.setEnabled(False)
        self.back_btn.clicked.connect(self.give_back)
        lay.addWidget(self.back_btn)
        self._tick = QTimer(self)
        self._tick.setInterval(15_000)
        self._tick.timeout.connect(self._show)
        self._tick.start()
        review.ruling_recorded.connect(self._ruled)
        review.mode_box.currentIndexChanged.connect(lambda _i: self.refresh())

    # ------------------------------------------------------------------ reads
    def refresh(self) -> None:
        s, mode = self.session, self.review.mode
        if s.filing_id is None or self.reader is None:
            return

        def fetch(ws):
            return petitions.batch_status(ws, s.filing_id, user=s.user, mode=mode)

        self.reader.submit(fetch, self._loaded)

    def _loaded(self, status, err) -> None:
        if err:
            self.text.setText(f"Batch: {err}")
            return
        self.status, self.loaded = status, True
        self._show()

    def _show(self) -> None:
        st = self.status
        if not self.loaded:
            return
        if st is None:
            self.text.setText("No batch held: you see every waiting line nobody else holds. "
                              "Next batch checks out lines for you alone.")
            self.back_btn.setEnabled(False)
            return
        if seconds_left(st["lease_until"]) <= 0:
            self.text.setText(f"Batch {st['batch_id']}: lease run out; its lines are back in the queue. "
                              "Next batch takes a new one.")
            self.back_btn.setEnabled(False)
            return
        by = (f" · handed to you by {html.escape(st['assigned_by'])}"
              if st.get("assigned_by") and st["assigned_by"] != self.session.user else "")
        self.text.setText(f"<b>Batch {st['batch_id']}</b>: {st['done']} of {st['lines']} done · "
                          f"{lease_words(st['lease_until'])}{by}")
        self.back_btn.setEnabled(True)

    # ----------------------------------------------------------------- writes
    def next_batch(self) -> None:
        s, mode, size = self.session, self.review.mode, self.batch_size

        def write(ws):
            return petitions.checkout_batch(ws, s.filing_id, user=s.user, mode=mode, size=size)

        def done(batch, err):
            if err:
                self.message.emit(f"No batch: {err}")
            else:
                self.message.emit(f"Batch {batch.id}: {len(batch.line_ids)} line(s) are yours until "
                                  f"{_local(batch.lease_until)}.")
            self._after_change()

        self.next_btn.setEnabled(False)
        self.writer.submit(write, done)

    def give_back(self) -> None:
        st, user = self.status, self.session.user
        if not st:
            return

        def write(ws):
            petitions.give_back_batch(ws, st["batch_id"], user=user)

        def done(_res, err):
            self.message.emit(f"Not given back: {err}" if err else
                              f"Batch {st['batch_id']} given back: its unruled lines are in the queue again.")
            self._after_change()

        self.back_btn.setEnabled(False)
        self.writer.submit(write, done)

    def _after_change(self) -> None:
        self.next_btn.setEnabled(True)
        self.refresh()
        self.review.refresh()
        self.changed.emit()

    def _ruled(self, *_args) -> None:
        """Working a line renews the lease (after the ruling, in the writer's order)."""
        st, user = self.status, self.session.user
        if not st or seconds_left(st["lease_until"]) <= 0:
            return

        def write(ws):
            petitions.renew_batch(ws, st["batch_id"], user=user)

        self.writer.submit(write, lambda _r, _e: self.refresh())


def _local(iso: str) -> str:
    return _dt.datetime.fromisoformat(iso).astimezone().strftime("%H:%M")


class TeamView(QGroupBox):
    """Who holds what and each person's throughput; a supervisor's controls
    to assign and reclaim batches."""

    message = Signal(str)

    def __init__(self, session: Session, reader, writer, parent=None):
        super().__init__("Batches and throughput", parent)
        self.setObjectName("teamView")
        self.session, self.reader, self.writer = session, reader, writer
        self.holdings: list[dict] = []
        self.throughput: list[dict] = []
        self.people: list[dict] = []
        self._stale = True
        lay = QVBoxLayout(self)
        row = QHBoxLayout()
        self.holdings_table = _table("holdingsTable", ("Batch", "Held by", "Queue", "Lines", "Done", "Lease ends",
                                                       "Handed out by"))
        self.holdings_table.setToolTip("Live batches: who holds which lines of the queue, and until when")
        row.addWidget(self.holdings_table, 3)
        self.throughput_table = _table("throughputTable", ("Person", "Rulings", "Lines per hour", "By reason"))
        self.throughput_table.setToolTip("Rulings over the last 8 hours: lines per hour between each person's "
                                         "first and last ruling, and their reasons")
        row.addWidget(self.throughput_table, 3)
        lay.addLayout(row)
        self.controls: QWidget | None = None
        if session.is_supervisor:   # reviewers never get the controls
            self.controls = QWidget()
            self.controls.setObjectName("assignControls")
            c = QHBoxLayout(self.controls)
            c.setContentsMargins(0, 0, 0, 0)
            c.addWidget(QLabel("Hand"))
            self.size = QSpinBox()
            self.size.setObjectName("assignSize")
            self.size.setRange(1, 1000)
            self.size.setValue(50)
            self.size.setSuffix(" lines")
            self.size.setToolTip("How many of the queue's free lines (in working order) the batch holds")
            c.addWidget(self.size)
            c.addWidget(QLabel("of the review queue to"))
            self.assign_to = QComboBox()
            self.assign_to.setObjectName("assignTo")
            self.assign_to.setMinimumWidth(160)
            self.assign_to.setToolTip("Who gets the batch: every person of the workspace, with their role")
            c.addWidget(self.assign_to)
            self.assign_btn = QPushButton("Assign batch")
            self.assign_btn.setObjectName("assignBatch")
            self.assign_btn.setToolTip("Hand the chosen person the next free lines of the review queue, under a "
                                       "30-minute lease they renew by working")
            self.assign_btn.clicked.connect(self.assign)
            c.addWidget(self.assign_btn)
            self.reclaim_btn = QPushButton("Reclaim selected batch")
            self.reclaim_btn.setObjectName("reclaimBatch")
            self.reclaim_btn.setToolTip("Take the selected batch back: its unruled lines return to the queue")
            self.reclaim_btn.clicked.connect(self.reclaim)
            c.addWidget(self.reclaim_btn)
            c.addStretch(1)
            lay.addWidget(self.controls)
        self._later = QTimer(self)
        self._later.setSingleShot(True)
        self._later.setInterval(1500)
        self._later.timeout.connect(self.refresh)

    def refresh_soon(self) -> None:
        self._later.start()

    def showEvent(self, ev) -> None:
        super().showEvent(ev)
        if self._stale:
            self.refresh()

    def refresh(self) -> None:
        """Read who holds what (only while on screen: the reader thread also
        prefetches the next cases; a hidden view catches up when shown)."""
        s = self.session
        if s.filing_id is None or self.reader is None:
            return
        self._stale = not self.isVisible()
        if self._stale:
            return
        sup = s.is_supervisor

        def fetch(ws):
            return (petitions.batch_holdings(ws, s.filing_id), petitions.batch_throughput(ws, s.filing_id),
                    petitions.workspace_users(ws) if sup else [])

        self.reader.submit(fetch, self._loaded)

    def _loaded(self, res, err) -> None:
        if err:
            self.message.emit(f"Batches: {err}")
            return
        self.holdings, self.throughput, self.people = res
        t = self.holdings_table
        t.setRowCount(len(self.holdings))
        for i, h in enumerate(self.holdings):
            cells = (str(h["batch_id"]), h["holder"], petitions.MODE_LABELS.get(h["mode"], h["mode"]), str(h["lines"]),
                     str(h["done"]), f"{_local(h['lease_until'])} ({lease_words(h['lease_until'])})",
                     h["assigned_by"] or "")
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, h["batch_id"])
                t.setItem(i, j, item)
        t = self.throughput_table
        t.setRowCount(len(self.throughput))
        for i, p in enumerate(self.throughput):
            reasons = ", ".join(f"{petitions.reason_label(k) if k != 'accepted' else 'accepted'} {n}"
                                for k, n in sorted(p["by_reason"].items(), key=lambda kv: -kv[1]))
            for j, text in enumerate((p["user"], str(p["rulings"]), f"{p['lines_per_hour']:.1f}", reasons)):
                t.setItem(i, j, QTableWidgetItem(text))
        if self.controls is not None:
            keep = self.assign_to.currentText()
            self.assign_to.clear()
            for u in self.people:
                self.assign_to.addItem(f"{u['name']} ({u['role']})", u["name"])
            if keep:
                i = self.assign_to.findText(keep)
                if i >= 0:
                    self.assign_to.setCurrentIndex(i)

    def assign(self) -> None:
        s, to, size = self.session, self.assign_to.currentData(), self.size.value()
        if not to:
            self.message.emit("Choose who gets the batch.")
            return

        def write(ws):
            return petitions.assign_batch(ws, s.filing_id, to=to, by=s.user, size=size)

        def done(batch, err):
            self.message.emit(f"Not assigned: {err}" if err else
                              f"Batch {batch.id} ({len(batch.line_ids)} lines) handed to {to}.")
            self.refresh()

        self.writer.submit(write, done)

    def selected_batch(self) -> int | None:
        items = self.holdings_table.selectedItems()
        return items[0].data(Qt.ItemDataRole.UserRole) if items else None

    def reclaim(self) -> None:
        bid, user = self.selected_batch(), self.session.user
        if bid is None:
            self.message.emit("Select the batch to reclaim in the table first.")
            return

        def write(ws):
            petitions.reclaim_batch(ws, bid, by=user)

        def done(_res, err):
            self.message.emit(f"Not reclaimed: {err}" if err else
                              f"Batch {bid} reclaimed: its unruled lines are back in the queue.")
            self.refresh()

        self.writer.submit(write, done)


def _table(name: str, headers: tuple[str, ...]) -> QTableWidget:
    t = QTableWidget(0, len(headers))
    t.setObjectName(name)
    t.setHorizontalHeaderLabels(list(headers))
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    t.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    t.verticalHeader().hide()
    t.setCornerButtonEnabled(False)
    t.horizontalHeader().setStretchLastSection(True)
    t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    t.setMaximumHeight(150)
    return t


class Batches(QObject):
    """The two views, attached to a main window's review panel and dashboard."""

    def __init__(self, win):
        super().__init__(win)
        s = win.session
        self.bar = BatchBar(s, win.reader, win.writer, win.review, win.review)
        win.review.layout().insertWidget(0, self.bar)
        self.team = TeamView(s, win.reader, win.writer, win.dashboard)
        win.dashboard.embed(self.team)
        for w in (self.bar, self.team):
            w.message.connect(lambda m: win.statusBar().showMessage(m, 8000))
        win.review.ruling_recorded.connect(lambda *_: self.team.refresh_soon())
        self.bar.changed.connect(self.team.refresh_soon)
        self.bar.refresh()
        self.team.refresh()


def attach(win) -> Batches:
    """Put the batch bar over `win`'s review queue and the team view on its
    dashboard (a window with a filing open)."""
    return Batches(win)
