"""Supervisor tools: draw and publish the random sample (seed, tickets) and
the QA audit sample. Queues for escalations, second opinions and audits are
modes of the review tab. Reviewers see this tab disabled (and the workspace
refuses their attempts anyway)."""
from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit,
                               QPushButton, QSpinBox, QVBoxLayout, QWidget)


class SupervisorPanel(QWidget):
    draw_requested = Signal(str, str, int)   # purpose, seed, size (0 = the rule set's size)

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        box = QGroupBox("Draw a random sample")
        form = QFormLayout(box)
        self.purpose = QComboBox()
        self.purpose.addItem("Count sample (2 CCR §20520)", "count")
        self.purpose.addItem("QA audit sample", "qa")
        self.purpose.setToolTip("The count sample decides a sampled filing; the QA sample is re-ruled blind by a supervisor")
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
        form.addRow("Purpose:", self.purpose)
        form.addRow("Seed:", self.seed)
        form.addRow("Size:", self.size)
        form.addRow(self.draw_btn)
        lay.addWidget(box)
        self.samples = QLabel("No sample drawn yet.")
        self.samples.setObjectName("samplesList")
        self.samples.setWordWrap(True)
        self.samples.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.samples)
        self.tickets = QPlainTextEdit()
        self.tickets.setObjectName("ticketList")
        self.tickets.setReadOnly(True)
        self.tickets.setToolTip("The first tickets in order: line id and its ticket, for publication")
        lay.addWidget(self.tickets, 1)
        note = QLabel("Escalations, second opinions on rejections and the QA audit are queues in the Review tab.")
        note.setWordWrap(True)
        lay.addWidget(note)

    def set_enabled_for(self, supervisor: bool) -> None:
        self.setEnabled(supervisor)
        if not supervisor:
            self.samples.setText("Only a supervisor draws samples and works escalations and audits.")

    def _draw(self) -> None:
        seed = self.seed.text()
        if not seed.strip():
            self.samples.setText("Enter the seed first.")
            return
        self.draw_requested.emit(self.purpose.currentData(), seed, self.size.value())

    def show_samples(self, samples: list[dict], tickets) -> None:
        if samples:
            self.samples.setText("<br>".join(
                f"{html.escape(s['purpose'])} round {s['round']}: seed <tt>{html.escape(s['seed'])}</tt>, "
                f"{s['size']:,} of {s['frame_size']:,} lines, frame {s['frame_hash'][:12]}…, by "
                f"{html.escape(s['created_by'])} at {s['created_at'][:16].replace('T', ' ')}" for s in samples))
        if tickets is not None and tickets.height:
            lines = [f"{r['rank']:>6}  {r['line_id']}  {r['ticket']}" for r in tickets.head(500).iter_rows(named=True)]
            self.tickets.setPlainText("rank  line  ticket\n" + "\n".join(lines))
