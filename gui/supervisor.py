"""Supervisor tools, in four pages:

* **Random sample** — draw and publish the count sample (seed, tickets),
  :func:`petitions.counting.draw_sample`.
* **QA audit** — draw the per-population QA sample with the published seed
  (:func:`petitions.audit.draw_qa_sample`: the software's auto-accepts and
  each reviewer's rulings), then re-rule its lines **blind**: the queue is
  :func:`petitions.audit.qa_queue`'s :class:`~petitions.audit.BlindCase`\\ s
  (no status, determination, reasons, scores or earlier rulings; candidate
  voters in id order), rulings go to :func:`petitions.audit.record_audit`.
* **Agreement** — :func:`petitions.audit.agreement_report` per reviewer
  (the software included) and per reason, and "Send disagreements back"
  (:func:`petitions.audit.route_disagreements`).
* **Certify and export** — buttons for the main window's certify, report
  and proponent-export actions.

Reviewers see the tab disabled; the workspace refuses them anyway.
"""
from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QFormLayout, QFrame, QGridLayout, QGroupBox,
                               QHBoxLayout, QHeaderView, QLabel, QLineEdit, QListWidget, QListWidgetItem,
                               QPlainTextEdit, QPushButton, QScrollArea, QSpinBox, QSplitter, QTableWidget,
                               QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from gui.case_view import CROP_H, CROP_W, EX_W, EX_H, SIG_H, SIG_W, _clear, _image_label, _set_image
from gui.images import load_qimage
from petitions import REASONS, reason_label


class BlindCaseView(QWidget):
    """What an auditor sees of a line: the signature, the printed-name and
    address crops, what was keyed, and every candidate voter with their
    signatures on file. Nothing of the decision being audited."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.case = None
        lay = QVBoxLayout(self)
        self.header = QLabel("No line to audit.")
        self.header.setObjectName("auditHeader")
        self.header.setStyleSheet("font-size: 13pt; font-weight: bold;")
        lay.addWidget(self.header)
        self.signature = _image_label("The signature on the petition line", SIG_W, SIG_H)
        lay.addWidget(self.signature)
        crops = QGridLayout()
        self.name_crop = _image_label("Printed name as written on the line", CROP_W, CROP_H)
        self.addr_crop = _image_label("Address as written on the line", CROP_W, CROP_H)
        crops.addWidget(QLabel("Printed name:"), 0, 0)
        crops.addWidget(self.name_crop, 0, 1)
        crops.addWidget(QLabel("Address:"), 1, 0)
        crops.addWidget(self.addr_crop, 1, 1)
        lay.addLayout(crops)
        self.keyed = QLabel()
        self.keyed.setObjectName("auditKeyed")
        self.keyed.setWordWrap(True)
        self.keyed.setToolTip("What was keyed from the line")
        lay.addWidget(self.keyed)
        self.cands_box = QGroupBox("Candidate voters (in voter-id order) and their signatures on file")
        self.cands_box.setToolTip("Every voter the matcher considered, in id order so the order reveals nothing")
        self.cands = QVBoxLayout(self.cands_box)
        lay.addWidget(self.cands_box)
        lay.addStretch(1)

    def clear(self, message: str) -> None:
        self.case = None
        self.header.setText(message)
        self.keyed.setText("")
        for lab, w, h in ((self.signature, SIG_W, SIG_H), (self.name_crop, CROP_W, CROP_H),
                          (self.addr_crop, CROP_W, CROP_H)):
            _set_image(lab, None, w, h, "")
        _clear(self.cands)

    def show_case(self, case, images: dict, records: dict) -> None:
        """`case`: a :class:`petitions.audit.BlindCase`; `records`: display
        records of its candidate voters (no party, race or ethnicity)."""
        self.case = case
        self.header.setText(f"{case.label}  ·  section {case.section}, page {case.page}, line {case.number}"
                            "  ·  blind QA audit")
        _set_image(self.signature, images.get(case.signature_hash), SIG_W, SIG_H, "no signature found on the line")
        _set_image(self.name_crop, images.get(case.name_hash), CROP_W, CROP_H, "no name crop")
        _set_image(self.addr_crop, images.get(case.address_hash), CROP_W, CROP_H, "no address crop")
        k = case.keyed
        self.keyed.setText("<b>Keyed</b>: " + html.escape(" / ".join(str(k.get(f) or "") for f in
                                                                       ("name", "address", "city", "zip")))
                           if k else "<i>Nothing keyed for this line.</i>")
        _clear(self.cands)
        if not case.candidates:
            self.cands.addWidget(QLabel("No candidate voter: the matcher found nobody."))
        for vid, hashes in case.candidates:
            r = records.get(vid, {})
            frame = QFrame()
            frame.setFrameShape(QFrame.Shape.StyledPanel)
            row = QHBoxLayout(frame)
            name = " ".join(str(r.get(c) or "") for c in ("first_name", "middle_name", "last_name", "suffix")).split()
            addr = " ".join(str(r.get(c) or "") for c in ("house_number", "street_dir", "street_name", "street_type",
                                                          "unit_type", "unit_number")).split()
            text = QLabel(f"<b>{html.escape(vid)}</b> {html.escape(' '.join(name))}<br>{html.escape(' '.join(addr))}, "
                          f"{html.escape(str(r.get('city') or ''))} {html.escape(str(r.get('zip') or ''))}"
                          f"<br>voter status {html.escape(str(r.get('status') or '?'))}")
            text.setObjectName("auditCandidate")
            text.setWordWrap(True)
            row.addWidget(text, 2)
            grid = QGridLayout()
            if not hashes:
                grid.addWidget(QLabel("no signature on file"), 0, 0)
            for i, h in enumerate(hashes):
                lab = _image_label(f"{vid}: a signature on file", EX_W, EX_H)
                _set_image(lab, images.get(h), EX_W, EX_H, "image missing")
                grid.addWidget(lab, i // 2, i % 2)
            row.addLayout(grid, 3)
            self.cands.addWidget(frame)


def load_blind_images(ws, case) -> dict:
    """Worker-side: every image a blind case shows, decoded."""
    hs = [case.signature_hash, case.name_hash, case.address_hash] + [h for _, hs in case.candidates for h in hs]
    return {h: load_qimage(ws, h) for h in hs if h}


class AuditPage(QWidget):
    """Draw the QA sample, then work its blind queue by keyboard or buttons."""

    draw_requested = Signal(str)            # seed
    ruling_requested = Signal(int, str, object)   # line_db_id, action, reason code
    undo_requested = Signal()

    def __init__(self, reject_codes, parent=None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(QLabel("QA &seed:"))
        self.seed = QLineEdit()
        self.seed.setObjectName("qaSeed")
        self.seed.setPlaceholderText("the audit's published seed, exactly as announced")
        self.seed.setToolTip("Published seed of the QA audit, used exactly as typed; every round of a filing "
                             "uses the same seed so observers can recompute it")
        top.itemAt(0).widget().setBuddy(self.seed)
        top.addWidget(self.seed, 1)
        self.draw_btn = QPushButton("Draw QA sample")
        self.draw_btn.setObjectName("qaDraw")
        self.draw_btn.setToolTip("Draw (or extend) the QA sample: the rule set's share of the software's "
                                 "auto-accepts and of each reviewer's rulings, with tickets recorded")
        self.draw_btn.clicked.connect(self._draw)
        top.addWidget(self.draw_btn)
        lay.addLayout(top)
        self.drawn = QLabel("")
        self.drawn.setObjectName("qaDrawn")
        self.drawn.setWordWrap(True)
        self.drawn.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.drawn)
        split = QSplitter(Qt.Orientation.Horizontal)
        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        self.count = QLabel("No QA sample yet.")
        self.count.setObjectName("qaCount")
        self.count.setWordWrap(True)
        ll.addWidget(self.count)
        self.queue = QListWidget()
        self.queue.setObjectName("qaQueue")
        self.queue.setToolTip("Sampled lines waiting for your blind re-ruling, in ticket order")
        self.queue.currentRowChanged.connect(self._row_changed)
        # The ruling keys belong to the page: the list is for the mouse (and
        # N/P), so its type-ahead never eats A/R/E/U after a click.
        self.queue.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.queue.itemClicked.connect(lambda _it: self.setFocus())
        ll.addWidget(self.queue, 1)
        split.addWidget(left)
        self.view = BlindCaseView()
        scroll = QScrollArea()
        scroll.setWidget(self.view)
        scroll.setWidgetResizable(True)
        scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        split.addWidget(scroll)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 4)
        split.setSizes([240, 1100])
        lay.addWidget(split, 1)
        keys = QHBoxLayout()
        self.accept_btn = QPushButton("✓ Accept [A]")
        self.accept_btn.setToolTip("Your blind ruling: the line is valid (A)")
        self.accept_btn.clicked.connect(lambda: self.rule("accept"))
        self.reason = QComboBox()
        self.reason.setObjectName("qaReason")
        self.reason.addItem("— choose a reason —", None)   # nothing preselected
        for code in reject_codes:
            self.reason.addItem(reason_label(code), code)
        self.reason.setToolTip("Reason for a rejection: choose one, then R (none is preselected)")
        self.reason.activated.connect(lambda _i: self.setFocus())   # back to the keys
        self.reject_btn = QPushButton("✗ Reject [R]")
        self.reject_btn.setToolTip("Your blind ruling: the line is invalid, for the reason chosen beside (R)")
        self.reject_btn.clicked.connect(lambda: self.rule("reject", self.reason.currentData()))
        self.escalate_btn = QPushButton("⇧ Escalate [E]")
        self.escalate_btn.setToolTip("You cannot tell: record the audit as escalated (E)")
        self.escalate_btn.clicked.connect(lambda: self.rule("escalate"))
        self.undo_btn = QPushButton("↶ Undo [U]")
        self.undo_btn.setToolTip("Undo your last audit ruling in this session (U)")
        self.undo_btn.clicked.connect(self.undo_requested.emit)
        for w in (self.accept_btn, self.reason, self.reject_btn, self.escalate_btn, self.undo_btn):
            keys.addWidget(w)
        keys.addStretch(1)
        lay.addLayout(keys)
        self.notice = QLabel("")
        self.notice.setObjectName("qaNotice")
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet("color: #b71c1c; font-weight: bold;")
        lay.addWidget(self.notice)
        self.cases: list = []
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def _draw(self) -> None:
        if not self.seed.text().strip():
            self.drawn.setText("Enter the published seed first.")
            return
        self.draw_requested.emit(self.seed.text())

    def set_queue(self, cases: list) -> None:
        keep = self.current_case()
        self.cases = list(cases)
        self.queue.blockSignals(True)
        self.queue.clear()
        for c in self.cases:
            it = QListWidgetItem(c.label)
            it.setToolTip(f"{c.label}: section {c.section}, page {c.page}, line {c.number}")
            self.queue.addItem(it)
        self.queue.blockSignals(False)
        n = len(self.cases)
        self.count.setText(f"{n} line{'s' if n != 1 else ''} to audit" if n else "Nothing waiting for your audit.")
        ids = [c.line_db_id for c in self.cases]
        row = ids.index(keep.line_db_id) if keep is not None and keep.line_db_id in ids else (0 if n else -1)
        self.queue.setCurrentRow(row)
        if row < 0:
            self.view.clear("Nothing waiting for your audit.")
        else:
            self._row_changed(row)

    case_wanted = Signal(object)   # a BlindCase to load images for

    def _row_changed(self, row: int) -> None:
        if 0 <= row < len(self.cases):
            self.view.clear(f"Loading {self.cases[row].label} …")
            self.case_wanted.emit(self.cases[row])

    def current_case(self):
        row = self.queue.currentRow()
        return self.cases[row] if 0 <= row < len(self.cases) else None

    def rule(self, action: str, reason: str | None = None) -> None:
        c = self.view.case
        if c is None:
            self.say("No case open; nothing recorded.")
            return
        if action == "reject" and not reason:
            self.say("Choose the reason for the rejection first (the list beside Reject); nothing recorded.")
            return
        self.say("")
        row = self.queue.currentRow()
        self.cases.pop(row)
        self.queue.takeItem(row)
        self.count.setText(f"{len(self.cases)} line{'s' if len(self.cases) != 1 else ''} to audit")
        self.ruling_requested.emit(c.line_db_id, action, reason)
        if self.cases:
            self.queue.setCurrentRow(min(row, len(self.cases) - 1))
            self._row_changed(self.queue.currentRow())
        else:
            self.view.clear("Nothing waiting for your audit.")

    def say(self, text: str) -> None:
        """A message under the keys (never a ruling dropped without one)."""
        self.notice.setText(text)

    def keyPressEvent(self, ev) -> None:
        if ev.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier):
            return super().keyPressEvent(ev)
        k = ev.key()
        if k == Qt.Key.Key_A:
            self.rule("accept")
        elif k == Qt.Key.Key_R:
            self.rule("reject", self.reason.currentData())
        elif k == Qt.Key.Key_E:
            self.rule("escalate")
        elif k == Qt.Key.Key_U:
            self.undo_requested.emit()
        elif k in (Qt.Key.Key_N, Qt.Key.Key_Down, Qt.Key.Key_P, Qt.Key.Key_Up) and self.cases:
            step = 1 if k in (Qt.Key.Key_N, Qt.Key.Key_Down) else -1
            self.queue.setCurrentRow((self.queue.currentRow() + step) % len(self.cases))
        else:
            return super().keyPressEvent(ev)
        ev.accept()

    def show_draw(self, info) -> None:
        if info is None:
            return
        parts = [f"{html.escape(p.population)}: {len(p.items)} new of quota {p.quota} "
                 f"(frame {p.frame_size:,}, hash {p.frame_hash[:12]}…)" for p in info.populations]
        head = (f"Round {info.round} with seed <tt>{html.escape(info.seed)}</tt>: {info.drawn} line(s) drawn"
                if info.round is not None else "Every quota is already covered; nothing new drawn")
        self.drawn.setText(head + "<br>" + "<br>".join(parts))


AGREEMENT_COLUMNS = ("By", "Group", "Audited", "Agree", "% agreement", "Cohen's κ")


class AgreementPage(QWidget):
    route_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        self.summary = QLabel("No audit rulings yet.")
        self.summary.setObjectName("qaSummary")
        self.summary.setWordWrap(True)
        lay.addWidget(self.summary)
        self.table = QTableWidget(0, len(AGREEMENT_COLUMNS))
        self.table.setObjectName("agreementTable")
        self.table.setHorizontalHeaderLabels(AGREEMENT_COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setCornerButtonEnabled(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setToolTip("Agreement of the original decisions with the blind audit: per reviewer "
                              "(the software counts as “software”) and per reason; κ is blank when undefined")
        lay.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.route_btn = QPushButton("Send disagreements back")
        self.route_btn.setObjectName("routeDisagreements")
        self.route_btn.setToolTip("Return every line where the audit disagrees to the review queue "
                                  "(each routed once; lines re-ruled since are left alone)")
        self.route_btn.clicked.connect(self.route_requested.emit)
        row.addWidget(self.route_btn)
        self.routed = QLabel("")
        self.routed.setObjectName("routedReport")
        self.routed.setWordWrap(True)
        row.addWidget(self.routed, 1)
        lay.addLayout(row)
        self.report = None

    def show_report(self, rep) -> None:
        self.report = rep
        self.summary.setText(f"QA sample {rep.sampled:,} lines · audited {rep.audited_count:,} · awaiting "
                             f"{rep.awaiting:,} · disagreements {rep.disagreements.height:,}")
        rows = []
        for by, frame in (("overall", rep.overall), ("reviewer", rep.per_reviewer), ("reason", rep.per_reason)):
            for r in frame.iter_rows(named=True):
                group = r.get("group")
                if by == "reason" and group in REASONS:
                    group = f"{reason_label(group)} ({group})"
                rows.append((by, str(group if group is not None else "all"), r["n"], r.get("agreements"),
                             r.get("percent_agreement"), r.get("kappa")))
        self.table.setRowCount(len(rows))
        for i, (by, group, n, agree, pct, kappa) in enumerate(rows):
            vals = (by, group, f"{n:,}", "" if agree is None else f"{agree:,}",
                    "" if pct is None else f"{float(pct):.1f} %", "–" if kappa is None else f"{float(kappa):.2f}")
            for j, v in enumerate(vals):
                it = QTableWidgetItem(v)
                if j >= 2:
                    it.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(i, j, it)

    def rows(self) -> list[tuple[str, ...]]:
        return [tuple(self.table.item(i, j).text() for j in range(self.table.columnCount()))
                for i in range(self.table.rowCount())]


class SupervisorPanel(QWidget):
    count_draw_requested = Signal(str, int)   # seed, size (0 = the rule set's size)
    certify_requested = Signal()
    report_requested = Signal()
    proponent_requested = Signal()

    def __init__(self, reject_codes=(), parent=None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        self.pages = QTabWidget()
        self.pages.setObjectName("supervisorPages")
        lay.addWidget(self.pages)

        # -- random (count) sample
        sample = QWidget()
        sl = QVBoxLayout(sample)
        box = QGroupBox("Draw the random sample for the count (2 CCR §20520)")
        form = QFormLayout(box)
        self.seed = QLineEdit()
        self.seed.setObjectName("sampleSeed")
        self.seed.setPlaceholderText("the published seed, exactly as announced")
        self.seed.setToolTip("The seed is a string and is used exactly as typed; publish it so observers can recompute the sample")
        self.size = QSpinBox()
        self.size.setRange(0, 1_000_000)
        self.size.setSpecialValueText("rule set's size")
        self.size.setToolTip("How many lines (0: the rule set's sample size for a first count round)")
        self.draw_btn = QPushButton("Draw and record")
        self.draw_btn.setToolTip("Draw the sample with the public-seed construction and record every ticket")
        self.draw_btn.clicked.connect(self._draw)
        form.addRow("&Seed:", self.seed)
        form.addRow("Si&ze:", self.size)
        form.addRow(self.draw_btn)
        sl.addWidget(box)
        self.samples = QLabel("No sample drawn yet.")
        self.samples.setObjectName("samplesList")
        self.samples.setWordWrap(True)
        self.samples.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        sl.addWidget(self.samples)
        self.tickets = QPlainTextEdit()
        self.tickets.setObjectName("ticketList")
        self.tickets.setReadOnly(True)
        self.tickets.setToolTip("The first tickets in order: line id and its ticket, for publication")
        sl.addWidget(self.tickets, 1)
        self.pages.addTab(sample, "Random sample")
        self.pages.setTabToolTip(0, "Draw and publish the count's random sample")

        # -- QA audit and agreement
        self.audit = AuditPage(reject_codes)
        self.pages.addTab(self.audit, "QA audit")
        self.pages.setTabToolTip(1, "Re-rule a random sample of auto-accepts and of each reviewer's rulings, blind")
        self.agreement = AgreementPage()
        self.pages.addTab(self.agreement, "Agreement")
        self.pages.setTabToolTip(2, "Agreement rates per reviewer and per reason; send disagreements back")

        # -- certify and export
        cert = QWidget()
        cl = QVBoxLayout(cert)
        self.certify_btn = QPushButton("Certify…")
        self.certify_btn.setObjectName("certifyButton")
        self.certify_btn.setToolTip("Certify the result and write the certificate PDF (refused while lines are pending)")
        self.certify_btn.clicked.connect(self.certify_requested.emit)
        self.report_btn = QPushButton("Export report…")
        self.report_btn.setObjectName("reportButton")
        self.report_btn.setToolTip("Write lines.csv, tallies.csv and events.csv (the audit trail) to a folder")
        self.report_btn.clicked.connect(self.report_requested.emit)
        self.proponent_btn = QPushButton("Proponent export…")
        self.proponent_btn.setObjectName("proponentButton")
        self.proponent_btn.setToolTip("The disqualified lines with their reasons and crops, read-only, for the "
                                      "proponents of a petition certified insufficient (Gov. Code §7924.110)")
        self.proponent_btn.clicked.connect(self.proponent_requested.emit)
        for b in (self.certify_btn, self.report_btn, self.proponent_btn):
            b.setMinimumWidth(220)
            cl.addWidget(b, 0, Qt.AlignmentFlag.AlignLeft)
        self.cert_state = QLabel("Not certified yet.")
        self.cert_state.setObjectName("certState")
        self.cert_state.setWordWrap(True)
        self.cert_state.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        cl.addWidget(self.cert_state)
        note = QLabel("Petitions are not public records: the proponent export is for the proponents' inspection "
                      "only, and no export lists signers publicly.")
        note.setWordWrap(True)
        cl.addWidget(note)
        cl.addStretch(1)
        self.pages.addTab(cert, "Certify and export")
        self.pages.setTabToolTip(3, "Certify the result; export the report or the proponents' inspection copy")

    def set_enabled_for(self, supervisor: bool) -> None:
        self.setEnabled(supervisor)
        if not supervisor:
            self.samples.setText("Only a supervisor draws samples, audits and certifies.")

    def show_page(self, key: str) -> None:
        self.pages.setCurrentIndex({"sample": 0, "audit": 1, "agreement": 2, "certify": 3}[key])

    def _draw(self) -> None:
        seed = self.seed.text()
        if not seed.strip():
            self.samples.setText("Enter the seed first.")
            return
        self.count_draw_requested.emit(seed, self.size.value())

    def show_samples(self, samples: list[dict], tickets) -> None:
        count = [s for s in samples if s["purpose"] == "count"]
        if count:
            self.samples.setText("<br>".join(
                f"round {s['round']}: seed <tt>{html.escape(s['seed'])}</tt>, "
                f"{s['size']:,} of {s['frame_size']:,} lines, frame {s['frame_hash'][:12]}…, by "
                f"{html.escape(s['created_by'])} at {s['created_at'][:16].replace('T', ' ')}" for s in count))
        qa = [s for s in samples if s["purpose"] == "qa"]
        if qa and not self.audit.seed.text():
            self.audit.seed.setText(qa[0]["seed"])   # later rounds must use the same seed
        if tickets is not None and tickets.height:
            lines = [f"{r['rank']:>6}  {r['line_id']}  {r['ticket']}" for r in tickets.head(500).iter_rows(named=True)]
            self.tickets.setPlainText("rank  line  ticket\n" + "\n".join(lines))

    def show_certification(self, cert: dict | None) -> None:
        if not cert:
            self.cert_state.setText("Not certified yet.")
            return
        if cert.get("superseded"):
            sup = cert["superseded"]
            self.cert_state.setText(
                f"Certificate <b>superseded</b>: reopened by {html.escape(str(sup.get('user', '')))} on "
                f"{html.escape(str(sup.get('ts', ''))[:10])} ({html.escape(str(sup.get('reason', '')))}); "
                "certify again when done.")
            return
        self.cert_state.setText(
            f"Certified <b>{html.escape(str(cert.get('result', '')).replace('_', ' '))}</b> "
            f"({html.escape(str(cert.get('method', '')).replace('_', ' '))}) by {html.escape(str(cert.get('official', '')))} "
            f"on {html.escape(str(cert.get('certified_on', '')))} · {html.escape(str(cert.get('pdf', '')))} "
            f"· SHA-256 {html.escape(str(cert.get('pdf_sha256', ''))[:16])}…")
