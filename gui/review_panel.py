"""The review queue: one case at a time, driven by the keyboard.

Keys: A accept · 1–9, 0 reject with the numbered reason · R all reasons ·
E escalate · S skip (to the end of the queue) · U undo the last ruling ·
N or → next · P or ← previous · Z zoomed comparison · O original crops.

The next cases are prefetched by the reader thread (case, voter record and
decoded images), so moving on is only swapping pictures. Rulings go to a
serial writer thread in keystroke order; the panel moves on at once and
reports a refused ruling (e.g. a rule the workspace enforces) by putting the
case back.
"""
from __future__ import annotations


from PySide6.QtCore import QEvent, QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QFrame, QGridLayout, QHBoxLayout, QHeaderView,
                               QInputDialog, QLabel, QLineEdit, QPushButton, QScrollArea, QSplitter, QTableView,
                               QVBoxLayout, QWidget)

from gui.case_view import CaseView, LoadedCase, load_full_case
from gui.images import load_thumbs
from gui.queue_model import QueueModel
from gui.session import Session
from gui.workers import pop_last, without_unlanded
import petitions
from petitions import UserError
from petitions import REASONS, reason_label

PREFETCH = 3
DIGIT_KEYS = [Qt.Key.Key_1, Qt.Key.Key_2, Qt.Key.Key_3, Qt.Key.Key_4, Qt.Key.Key_5, Qt.Key.Key_6, Qt.Key.Key_7,
              Qt.Key.Key_8, Qt.Key.Key_9, Qt.Key.Key_0]
DIGIT_NAMES = "1234567890"
#: How a rejection by number key is made final: ``confirm`` (the same key
#: again, or Enter) or ``grace`` (held for a few seconds with a countdown;
#: Esc or U cancels). The office's choice (View menu, kept in the settings).
REJECT_MODES = ("confirm", "grace")
CHOOSE_REASON = "— choose a reason —"


class NoteEdit(QLineEdit):
    """The note line of the prompt bar: Enter records, Esc cancels."""

    cancelled = Signal()

    def keyPressEvent(self, ev) -> None:
        if ev.key() == Qt.Key.Key_Escape:
            self.cancelled.emit()
            ev.accept()
            return
        super().keyPressEvent(ev)


class ReviewPanel(QWidget):
    """The queue list and the open case, with the ruling keys."""

    case_shown = Signal(int)          # line_db_id now on screen (fully rendered)
    ruling_recorded = Signal(int, str)  # line_db_id, action (after the writer committed)
    message = Signal(str)             # status-bar text
    queue_changed = Signal(int)       # items left

    def __init__(self, session: Session, reader, writer, parent=None):
        super().__init__(parent)
        self.session = session
        self.reader = reader
        self.writer = writer
        self.voters = None            # VoterDirectory, loaded once by the reader
        self.mode = "review"
        self.cache: dict[int, LoadedCase] = {}
        self._requested: set[int] = set()
        self.current: int | None = None
        self._undo_gui: list[tuple[int, object, int]] = []   # (line_db_id, QueueItem, row)
        # (line_db_id, ruling id) of the rulings recorded, touched only in the writer thread
        self._writer_stack: list[tuple[int, int]] = []
        # Lines ruled here whose writes may not have landed: a queue read that
        # started before a write still lists its line, which must not come back.
        self._ruled: set[int] = set()
        self.last_error: str | None = None
        self._thumbs_asked: set[str] = set()
        self.reject_mode = "confirm"
        self.grace_seconds = 3
        # A rejection waiting for its confirmation or its grace period:
        # {"lid", "code", "left"}; a note being asked for: {"lid", "action", "code"}.
        self.pending: dict | None = None
        self.asking: dict | None = None
        self._grace = QTimer(self)
        self._grace.setInterval(1000)
        self._grace.timeout.connect(self._grace_tick)
        self._build()
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    # ------------------------------------------------------------------ UI
    def _build(self) -> None:
        lay = QVBoxLayout(self)
        top = QHBoxLayout()
        self.mode_box = QComboBox()
        self.mode_box.setToolTip("Which queue to work. Escalations and second opinions are for supervisors; "
                                 "the blind QA audit is in the Supervisor tab.")
        modes = [m for m in petitions.MODES if m != "audit"]   # the QA audit is blind: Supervisor tab
        for m in modes:
            self.mode_box.addItem(petitions.MODE_LABELS[m], m)
        allowed = petitions.modes_for_role(self.session.role)
        model = self.mode_box.model()
        for i, m in enumerate(modes):
            model.item(i).setEnabled(m in allowed)
            if m not in allowed:
                model.item(i).setToolTip("Only a supervisor works this queue")
        self.mode_box.currentIndexChanged.connect(lambda _i: self.set_mode(self.mode_box.currentData()))
        self.mode_box.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        top.addWidget(QLabel("Queue:"))
        top.addWidget(self.mode_box)
        self.count_label = QLabel("loading…")
        self.count_label.setObjectName("queueCount")
        top.addWidget(self.count_label, 1)
        self.refresh_btn = QPushButton("Refresh (F5)")
        self.refresh_btn.setToolTip("Reload the queue from the workspace (F5)")
        self.refresh_btn.clicked.connect(self.refresh)
        top.addWidget(self.refresh_btn)
        lay.addLayout(top)

        split = QSplitter(Qt.Orientation.Horizontal)
        self.model = QueueModel(self)
        self.table = QTableView()
        self.table.setObjectName("queueTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setDefaultSectionSize(56)
        self.table.verticalHeader().hide()
        self.table.setCornerButtonEnabled(False)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        # the line and its reason wrap in a fixed column, so both thumbnails
        # stay in view on a 1024-px screen
        hh.setSectionResizeMode(0, QHeaderView.ResizeMode.Fixed)
        hh.resizeSection(0, 150)
        self.table.setWordWrap(True)
        hh.setStretchLastSection(True)
        self.table.setToolTip("Lines waiting for a person: the petition signature beside the voter's signature on file")
        self.table.activated.connect(self._row_activated)
        self.table.clicked.connect(self._row_activated)
        # Keys belong to the case; the list is for the mouse (N/P move through it).
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        # Thumbnails are read as rows come into view: by scrolling, by the
        # list getting taller, or by rows moving up after a ruling.
        self.table.verticalScrollBar().valueChanged.connect(lambda _v: self._want_thumbs())
        self.table.viewport().installEventFilter(self)
        for sig in (self.model.rowsRemoved, self.model.rowsInserted, self.model.modelReset):
            sig.connect(lambda *_a: QTimer.singleShot(0, self._want_thumbs))
        split.addWidget(self.table)
        self.view = CaseView()
        scroll = QScrollArea()
        scroll.setWidget(self.view)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        split.addWidget(scroll)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        split.setSizes([590, 770])
        self.table.setMinimumWidth(470)   # both thumbnails and the scores in view at 1024 px
        self.splitter = split
        lay.addWidget(split, 1)

        self.bar = QFrame()
        self.bar.setObjectName("promptBar")
        self.bar.setStyleSheet("QFrame#promptBar { background: #fff3e0; border: 2px solid #e65100; }")
        bar_lay = QHBoxLayout(self.bar)
        bar_lay.setContentsMargins(6, 3, 6, 3)
        self.bar_text = QLabel()
        self.bar_text.setObjectName("promptText")
        self.bar_text.setWordWrap(True)
        self.bar_text.setStyleSheet("font-weight: bold;")
        bar_lay.addWidget(self.bar_text, 2)
        self.note = NoteEdit()
        self.note.setObjectName("promptNote")
        self.note.setPlaceholderText("the note, kept with the ruling")
        self.note.setToolTip("Say why: the note is kept with the ruling. Enter records it, Esc cancels")
        self.note.returnPressed.connect(self._note_entered)
        self.note.cancelled.connect(lambda: self._cancel_prompt("Nothing recorded."))
        bar_lay.addWidget(self.note, 3)
        self.bar.hide()
        lay.addWidget(self.bar)

        keys = QHBoxLayout()
        self.buttons: dict[str, QPushButton] = {}

        def button(key: str, text: str, tip: str, slot) -> QPushButton:
            b = QPushButton(text)
            b.setToolTip(tip)
            b.setFocusPolicy(Qt.FocusPolicy.TabFocus)
            b.clicked.connect(slot)
            keys.addWidget(b)
            self.buttons[key] = b
            return b

        button("accept", "✓ Accept [A]", "Accept the line as valid (A)", lambda: self.act("accept"))
        button("escalate", "⇧ Escalate [E]", "Send to a supervisor with a note saying why (E)", self.escalate)
        button("skip", "Skip [S]", "Leave for later: moves the line to the end of the queue (S)", self.skip)
        button("undo", "↶ Undo [U]", "Undo your last ruling in this session (U)", self.undo)
        button("prev", "← Prev [P]", "Previous case (P or Left)", lambda: self.step(-1))
        button("next", "Next [N] →", "Next case without ruling (N or Right)", lambda: self.step(1))
        lay.addLayout(keys)
        self.reason_row = QGridLayout()
        self.reason_row.setHorizontalSpacing(4)
        self.reason_row.setVerticalSpacing(2)
        lay.addLayout(self.reason_row)
        self.set_reject_codes(self.session.reject_codes)

    def set_reject_codes(self, codes: tuple[str, ...]) -> None:
        while self.reason_row.count():
            w = self.reason_row.takeAt(0).widget()
            if w:
                w.deleteLater()
        self.reason_row.addWidget(QLabel("Reject:"), 0, 0)
        self.reason_row.setColumnStretch(0, 0)
        self.hot_codes = list(codes[:10])
        self.reason_buttons: list[QPushButton] = []
        for i, code in enumerate(self.hot_codes):
            text = reason_label(code)
            b = QPushButton(f"{DIGIT_NAMES[i]}  {text}")    # the whole label: never cut short
            b.setToolTip(f"Reject as “{text}”: {REASONS[code].description} (key {DIGIT_NAMES[i]}, then again to confirm)")
            b.setFocusPolicy(Qt.FocusPolicy.TabFocus)
            b.setObjectName(f"reject_{code}")
            b.clicked.connect(lambda _c=False, code=code: self.reject_key(code))
            self.reason_buttons.append(b)
        more = QPushButton("R  all reasons…")
        more.setToolTip("Reject with any reason, with a note (R)")
        more.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        more.clicked.connect(self.reject_with_any)
        self.reason_buttons.append(more)
        self.all_codes = list(codes)
        self._reason_cols = 0
        self._layout_reasons()

    def _layout_reasons(self) -> None:
        """As many reject buttons per row as fit whole (labels are never elided)."""
        buttons = getattr(self, "reason_buttons", [])
        if not buttons:
            return
        need = max(b.sizeHint().width() for b in buttons) + self.reason_row.horizontalSpacing()
        avail = max(self.width() - 90, need)
        cols = max(1, min(6, avail // need))
        if cols == self._reason_cols:
            return
        self._reason_cols = cols
        for b in buttons:
            self.reason_row.removeWidget(b)
        for i, b in enumerate(buttons):
            self.reason_row.addWidget(b, i // cols, 1 + i % cols)

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        self._layout_reasons()

    # -------------------------------------------------------------- queue
    def _read(self, fn, callback) -> None:
        if self.reader is not None and self.reader.isRunning():
            self.reader.submit(fn, callback)

    def set_mode(self, mode: str) -> None:
        if mode and mode != self.mode:
            self.mode = mode
            self.cache.clear()
            self._requested.clear()
            self.current = None   # another queue: start at its first line
            self.view.clear("Loading the queue …")
            self.refresh()

    def refresh(self) -> None:
        s, mode = self.session, self.mode
        if s.filing_id is None:
            return
        self.count_label.setText("loading…")

        def fetch(ws):
            return petitions.my_queue(ws, s.filing_id, user=s.user, mode=mode)   # a held batch, or what nobody holds

        self._read(fetch, lambda items, err: self._queue_loaded(mode, items, err))

    def load_voters(self) -> None:
        def fetch(ws):
            return petitions.VoterDirectory.open(ws)

        def done(v, err):
            if err:
                self.message.emit(f"Voter file not loaded: {err}")
            self.voters = v

        self._read(fetch, done)

    def _queue_loaded(self, mode: str, items, err) -> None:
        if mode != self.mode:
            return
        if err:
            self.count_label.setText("")
            self.message.emit(err)
            return
        items = without_unlanded(items, self._ruled)
        self.model.set_items(items)
        self._update_count()
        self._want_thumbs()
        if items:
            if self.current is None:
                self.show_line(items[0].line_db_id)
            elif self.model.row_of(self.current) >= 0:
                self.show_line(self.current)
            else:
                # Never swap the case under a reviewer's fingers: a key meant
                # for this one would rule on a case not yet looked at.
                self.message.emit("The line on screen is no longer waiting in this queue (someone has ruled on "
                                  "it, or it was opened from a page): it is read only here; N opens the next one.")
        else:
            self._nothing_waiting()

    def _nothing_waiting(self) -> None:
        self.current = None
        self.view.clear("Nothing waiting in this queue. Well done.")

    def _update_count(self) -> None:
        n = len(self.model.items)
        self.count_label.setText(f"{n} line{'s' if n != 1 else ''} waiting · signed in as {self.session.user} "
                                 f"({self.session.role})")
        self.queue_changed.emit(n)

    def eventFilter(self, obj, ev) -> bool:
        if obj is self.table.viewport() and ev.type() == QEvent.Type.Resize:
            QTimer.singleShot(0, self._want_thumbs)
        return super().eventFilter(obj, ev)

    def _want_thumbs(self) -> None:
        first = self.table.rowAt(0)
        last = self.table.rowAt(max(self.table.viewport().height() - 1, 0))
        first = 0 if first < 0 else first
        last = first + 30 if last < 0 else last + 5
        wanted = self.model.wanted_thumbs(first, last)
        wanted = [h for h in wanted if h not in self._thumbs_asked]
        if not wanted:
            return
        self._thumbs_asked.update(wanted)

        def fetch(ws, hs=tuple(wanted)):
            return load_thumbs(ws, hs)

        self._read(fetch, lambda imgs, err: self.model.thumbs_ready(imgs) if imgs else None)

    # -------------------------------------------------------------- cases
    def _row_activated(self, index) -> None:
        lid = self.model.data(self.model.index(index.row(), 0), Qt.ItemDataRole.UserRole)
        if lid is not None:
            self.show_line(lid)
            self.setFocus()

    def show_line(self, line_db_id: int) -> None:
        """Open a line: at once if prefetched, else as soon as it is loaded."""
        self.current = line_db_id
        row = self._select(line_db_id)
        loaded = self.cache.get(line_db_id)
        if loaded is not None:
            self.view.show_case(loaded)
            self.case_shown.emit(line_db_id)
        else:
            self.view.clear(f"Loading {self.model.items[row].label if row >= 0 else line_db_id} …")
            self._request(line_db_id)
        self._prefetch()

    def _select(self, line_db_id: int) -> int:
        """Select the line's queue row (if it has one); its row or -1."""
        row = self.model.row_of(line_db_id)
        if row >= 0:
            self.table.selectionModel().setCurrentIndex(
                self.model.index(row, 0),
                QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
            self.table.scrollTo(self.model.index(row, 0))
        return row

    def _request(self, line_db_id: int) -> None:
        if line_db_id in self._requested:
            return
        self._requested.add(line_db_id)
        voters = self.voters

        def fetch(ws):
            return load_full_case(ws, line_db_id, voters=voters)

        self._read(fetch, lambda loaded, err: self._case_loaded(line_db_id, loaded, err))

    def _case_loaded(self, line_db_id: int, loaded, err) -> None:
        self._requested.discard(line_db_id)
        if err:
            if line_db_id == self.current:
                self.view.clear(f"Could not open the case: {err}")
            self.message.emit(err)
            return
        self.cache[line_db_id] = loaded
        if len(self.cache) > 64:  # keep memory flat on a long day
            keep = {self.current, *self._upcoming(PREFETCH + 2)}
            for k in [k for k in self.cache if k not in keep][:len(self.cache) - 48]:
                del self.cache[k]
        if line_db_id == self.current:
            self.view.show_case(loaded)
            self.case_shown.emit(line_db_id)

    def _upcoming(self, n: int) -> list[int]:
        row = self.model.row_of(self.current) if self.current is not None else -1
        items = self.model.items
        out = []
        for k in range(1, n + 1):
            if not items:
                break
            out.append(items[(row + k) % len(items)].line_db_id)
        return out

    def _prefetch(self) -> None:
        for lid in self._upcoming(PREFETCH):
            if lid not in self.cache:
                self._request(lid)

    # ------------------------------------------------------------ actions
    def keyPressEvent(self, ev) -> None:
        k, mods = ev.key(), ev.modifiers()
        if mods & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier | Qt.KeyboardModifier.MetaModifier):
            return super().keyPressEvent(ev)
        if self.pending is not None and self._pending_key(k):
            ev.accept()
            return
        if k == Qt.Key.Key_A:
            self.act("accept")
        elif k in DIGIT_KEYS[:len(self.hot_codes)]:
            self.reject_key(self.hot_codes[DIGIT_KEYS.index(k)])
        elif k == Qt.Key.Key_E:
            self.escalate()
        elif k == Qt.Key.Key_S:
            self.skip()
        elif k == Qt.Key.Key_U:
            self.undo()
        elif k in (Qt.Key.Key_N, Qt.Key.Key_Right, Qt.Key.Key_Down):
            self.step(1)
        elif k in (Qt.Key.Key_P, Qt.Key.Key_Left, Qt.Key.Key_Up):
            self.step(-1)
        elif k == Qt.Key.Key_R:
            self.reject_with_any()
        elif k == Qt.Key.Key_F5:
            self.refresh()
        elif k == Qt.Key.Key_Z:
            self.view.open_compare()
        elif k == Qt.Key.Key_O:
            self.view.toggle_original()
        else:
            return super().keyPressEvent(ev)
        ev.accept()

    def step(self, delta: int) -> None:
        items = self.model.items
        if not items:
            return
        row = self.model.row_of(self.current) if self.current is not None else -1
        self.show_line(items[(row + delta) % len(items)].line_db_id)

    def skip(self) -> None:
        if self.current is None:
            return
        lid = self.current
        nxt = self._upcoming(1)
        self.model.move_to_end(lid)
        if nxt and nxt[0] != lid:
            self.show_line(nxt[0])
        self.message.emit("Skipped: the line is at the end of the queue.")

    def reject_with_any(self) -> None:
        if self.current is None:
            return
        labels = [f"{reason_label(c)} ({c})" for c in self.all_codes]
        # No reason is preselected: Enter on the untouched list chooses nothing.
        choice, ok = QInputDialog.getItem(self, "Reject with a reason", "Reason:", [CHOOSE_REASON, *labels], 0, False)
        if not ok:
            self._say("Rejection cancelled; nothing recorded.")
            return
        if choice not in labels:
            self._say("No reason was chosen; nothing recorded.")
            return
        code = self.all_codes[labels.index(choice)]
        if code == "other":
            self.ask_note("reject", "other")
            return
        self.act("reject", code)

    # ------------------------------------------------- prompts and safeguards
    def _say(self, text: str) -> None:
        """A message that stays on screen (the prompt bar) and in the status bar."""
        self.bar_text.setText(text)
        self.note.hide()
        self.bar.show()
        self.message.emit(text)

    def _close_bar(self) -> None:
        self.bar.hide()
        self.bar_text.setText("")
        self.note.hide()

    def _cancel_prompt(self, why: str) -> None:
        self.asking = None
        self.pending = None
        self._grace.stop()
        self.note.clear()
        self._say(why)
        self.setFocus()

    def escalate(self) -> None:
        """E: escalate to a supervisor; asks for a note (the suspected reason
        is never stored as if the reviewer had chosen it)."""
        self.ask_note("escalate", None)

    def ask_note(self, action: str, code: str | None) -> None:
        if self.current is None or self.cache.get(self.current) is None:
            self._say("The case is still loading; nothing recorded.")
            return
        self.pending = None
        self._grace.stop()
        label = self.cache[self.current].case.label
        self.asking = {"lid": self.current, "action": action, "code": code}
        what = "Escalate " + label + " to a supervisor" if action == "escalate" else f"Reject {label} as “Other”"
        self.bar_text.setText(f"{what}: say why, then Enter. Esc cancels.")
        self.note.clear()
        self.note.show()
        self.bar.show()
        self.note.setFocus()

    def _note_entered(self) -> None:
        a = self.asking
        if a is None:
            return
        text = self.note.text().strip()
        if not text:
            self.bar_text.setText("A note is needed (nothing recorded yet): say why, then Enter. Esc cancels.")
            self.message.emit("A note is needed; nothing recorded yet.")
            return
        if a["lid"] != self.current:
            self._cancel_prompt("The case changed; nothing recorded.")
            return
        self.asking = None
        self.note.clear()
        self.setFocus()
        self.act(a["action"], a["code"], note=text)

    def reject_key(self, code: str) -> None:
        """A reject key (1–9, 0) or button: confirmed by a second press, or held
        for the grace period, per :attr:`reject_mode`."""
        if self.current is None or self.cache.get(self.current) is None:
            self._say("The case is still loading; nothing recorded.")
            return
        if code == "other":
            self.ask_note("reject", "other")
            return
        p = self.pending
        if p is not None and p["lid"] == self.current and p["code"] == code:
            self._commit_pending()
            return
        self.asking = None
        self.pending = {"lid": self.current, "code": code, "left": self.grace_seconds}
        if self.reject_mode == "grace":
            self._grace.start()
        self._show_pending()

    def _show_pending(self) -> None:
        p = self.pending
        if p is None:
            return
        label = self.cache[p["lid"]].case.label if p["lid"] in self.cache else str(p["lid"])
        i = self.hot_codes.index(p["code"]) if p["code"] in self.hot_codes else -1
        key = DIGIT_NAMES[i] if i >= 0 else "Enter"
        words = f"Reject {label} as “{reason_label(p['code'])}”"
        if self.reject_mode == "grace":
            text = f"{words} in {p['left']} s — Esc or U cancels, Enter rejects now."
        else:
            text = f"{words}? Press {key} again (or Enter) to confirm; Esc cancels."
        self.note.hide()
        self.bar_text.setText(text)
        self.bar.show()
        self.message.emit(text)

    def _grace_tick(self) -> None:
        p = self.pending
        if p is None:
            self._grace.stop()
            return
        p["left"] -= 1
        if p["left"] <= 0:
            self._commit_pending()
        else:
            self._show_pending()

    def _commit_pending(self) -> None:
        p, self.pending = self.pending, None
        self._grace.stop()
        if p is None:
            return
        if p["lid"] != self.current:
            self._say("The case changed before the rejection was confirmed; nothing recorded.")
            return
        self.act("reject", p["code"])

    def _pending_key(self, k) -> bool:
        """A key pressed while a rejection waits; True when it was used here."""
        if k in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._commit_pending()
            return True
        if k in (Qt.Key.Key_Escape, Qt.Key.Key_U):
            self._cancel_prompt("Rejection cancelled; nothing recorded.")
            return True
        if k in DIGIT_KEYS[:len(self.hot_codes)]:
            return False          # the same key confirms, another re-arms (reject_key)
        if self.reject_mode == "grace":
            p = self.pending
            self.message.emit(f"A rejection is counting down ({p['left']} s): Enter rejects now, Esc cancels; "
                              "that key was not taken.")
            return True
        # confirm mode: any other key means "not this rejection"
        self._cancel_prompt("Rejection not confirmed; nothing recorded.")
        return False

    def act(self, action: str, reason_code: str | None = None, note: str | None = None) -> None:
        """Rule on the current case and move on at once; the writer commits."""
        lid = self.current
        loaded = self.cache.get(lid) if lid is not None else None
        if loaded is None:
            self.message.emit("The case is still loading; nothing recorded.")
            return
        row = self.model.row_of(lid)
        if row < 0:
            self.message.emit(f"{loaded.case.label} is not in this queue: it can be looked at here, not ruled on; "
                              "nothing recorded.")
            return
        if reason_code == "other" and not (note or "").strip():
            self.ask_note("reject", "other")
            return
        if action == "escalate" and not (note or "").strip():
            self.ask_note("escalate", None)
            return
        self._close_bar()
        item = self.model.items[row]
        nxt = self._upcoming(1)
        self.model.remove(lid)
        self._ruled.add(lid)
        self._undo_gui.append((lid, item, row))
        self._update_count()
        case, s, mode, stack = loaded.case, self.session, self.mode, self._writer_stack

        def write(ws):
            res = petitions.rule(ws, case, user=s.user, action=action, mode=mode, reason_code=reason_code, note=note)
            stack.append((case.line_db_id, res.ruling_id))
            return res

        self.writer.submit(write, lambda res, err: self._written(lid, item, row, action, res, err))
        self.cache.pop(lid, None)
        if nxt and nxt[0] != lid:
            self.show_line(nxt[0])
        else:
            self._nothing_waiting()
        words = {"accept": "Accepted", "reject": f"Rejected ({reason_label(reason_code)})" if reason_code else "Rejected",
                 "escalate": "Escalated"}[action]
        self.message.emit(f"{words} {case.label}. U undoes.")

    def _written(self, lid, item, row, action, res, err) -> None:
        if err:
            self.last_error = err
            # Put the case back where it was and say why; its undo entry goes
            # (wherever it is: later rulings may have been made since).
            self._ruled.discard(lid)
            pop_last(self._undo_gui, lid)
            if self.model.row_of(lid) < 0:
                self.model.insert(row, item)
            self._update_count()
            self.message.emit(f"Not recorded for {item.label}: {err}")
            self.show_line(lid)
            return
        self.ruling_recorded.emit(lid, action)

    def undo(self) -> None:
        if not self._undo_gui:
            self.message.emit("Nothing to undo in this session.")
            return
        lid, item, row = self._undo_gui.pop()
        self._ruled.discard(lid)
        s, stack = self.session, self._writer_stack

        def write(ws):
            # The ruling recorded for this line (writes run in order, so any
            # ruling on it has been recorded or refused by now).
            recorded = pop_last(stack, lid)
            if recorded is None:
                raise UserError(f"no ruling on {item.label} was recorded here; nothing to undo")
            return petitions.undo_ruling(ws, recorded[1], user=s.user)

        def done(res, err):
            if err:
                self.last_error = err
                self.message.emit(f"Undo refused: {err}")
                if self.model.row_of(lid) >= 0:
                    self.model.remove(lid)
                    self._update_count()
                if self.current == lid:
                    if self.model.items:
                        self.show_line(self.model.items[0].line_db_id)
                    else:
                        self._nothing_waiting()
                return
            self.cache.pop(lid, None)
            self.message.emit(f"Undone: {item.label} is back in the queue (the undo is recorded as a new ruling).")
            if self.current == lid:
                # Read only now that the undo has landed: a read asked for
                # earlier could answer with the line as it was before it.
                self.show_line(lid)
            self.ruling_recorded.emit(lid, "undo")

        self.writer.submit(write, done)
        cur_row = self.model.row_of(self.current) if self.current is not None else 0
        self.model.insert(max(cur_row, 0), item)
        self._update_count()
        self.cache.pop(lid, None)
        self.current = lid
        self._select(lid)
        self.view.clear(f"Undoing the last ruling on {item.label} …")
        self.message.emit(f"Undoing the last ruling on {item.label} …")
