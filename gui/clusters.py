"""The same-hand view (issue 21): a cluster of lines one hand likely wrote,
side by side — every signature of the cluster, each beside its voter's
signatures on file — ruled line by line or section by section.

A person rules, through the same library call and the same checks as the
review screen (:func:`petitions.rule`: the line must be waiting in the
review queue, the person's role, the second person for a rejection, a line
ruled on since it was shown is refused). Nothing here decides anything: the
scan only put the lines in front of a person.

Cluster lists and a cluster's lines with their images are small reads (a
cluster holds tens of lines), done when a cluster is chosen.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (QComboBox, QDialog, QGridLayout, QHBoxLayout, QLabel, QListWidget, QListWidgetItem,
                               QPushButton, QScrollArea, QSplitter, QVBoxLayout, QWidget)

import petitions
from gui.images import to_qimage

SIG_INK_H = 40

#: Reason a person gives when rejecting a line of a cluster (the signature is
#: not the voter's); the rule set may require a second person.
REJECT_REASON = "signature_mismatch"


def _pixmap(ws, digest: str | None) -> QPixmap:
    if not digest:
        return QPixmap()
    try:
        arr = ws.crops.get_image(digest)
    except Exception:  # noqa: BLE001 - a missing crop shows as "no image", never crashes the view
        return QPixmap()
    return QPixmap.fromImage(to_qimage(petitions.normalize_for_display(arr, ink_height=SIG_INK_H).image))


class ClusterView(QDialog):
    """Clusters of the filing's scan in force, and the chosen one side by side."""

    ruled = Signal(int)   # a line id a person ruled on here

    def __init__(self, root: str | Path, *, user: str, filing_id: int, parent=None):
        super().__init__(parent)
        self.setObjectName("clusterView")
        self.setWindowTitle("Same hand: lines one person likely wrote")
        self.root, self.user, self.filing_id = Path(root), user, filing_id
        self.cases: dict[int, object] = {}
        self.cluster: dict | None = None
        self.clusters = QListWidget()
        self.clusters.setObjectName("clusterList")
        self.clusters.currentRowChanged.connect(self._show_cluster)
        self.header = QLabel()
        self.header.setObjectName("clusterHeader")
        self.header.setWordWrap(True)
        self.message = QLabel()
        self.message.setObjectName("clusterMessage")
        self.message.setWordWrap(True)
        self.sections = QComboBox()
        self.sections.setObjectName("sectionChoice")
        self.accept_section = QPushButton("Accept the section's lines")
        self.reject_section = QPushButton("Reject the section's lines")
        self.accept_section.clicked.connect(lambda: self._rule_section("accept"))
        self.reject_section.clicked.connect(lambda: self._rule_section("reject"))
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Section:"))
        bar.addWidget(self.sections, 1)
        bar.addWidget(self.accept_section)
        bar.addWidget(self.reject_section)
        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.grid_host)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.addWidget(self.header)
        rl.addLayout(bar)
        rl.addWidget(scroll, 1)
        rl.addWidget(self.message)
        split = QSplitter()
        split.addWidget(self.clusters)
        split.addWidget(right)
        split.setStretchFactor(1, 4)
        lay = QVBoxLayout(self)
        lay.addWidget(split)
        self.resize(1200, 720)
        self.reload()

    # ------------------------------------------------------------------ data
    def reload(self) -> None:
        with petitions.Workspace(self.root) as ws:
            self.found = petitions.same_hand_clusters(ws, self.filing_id)
        self.clusters.clear()
        for c in self.found:
            ev = c["evidence"]
            item = QListWidgetItem(f"Cluster {c['number']}: {c['lines_here']} lines here ({c['size']} in all), "
                                   f"{c['scope']}, score {c['score']:.2f}, evidence {ev.get('evidence_z', 0):.0f}")
            item.setData(Qt.ItemDataRole.UserRole, c["id"])
            self.clusters.addItem(item)
        if not self.found:
            self.header.setText("No same-hand clusters in this filing (run `petitions fraud-scan`).")
        else:
            self.clusters.setCurrentRow(0)

    def _show_cluster(self, row: int) -> None:
        if row < 0 or row >= len(self.found):
            return
        self.show_cluster(self.found[row]["id"])

    def show_cluster(self, cluster_id: int) -> None:
        """Lay out every line of the cluster in this filing beside its voter's exemplars."""
        while self.grid.count():
            w = self.grid.takeAt(0).widget()
            if w is not None:
                w.deleteLater()
        self.cases.clear()
        self.rule_buttons: dict[int, tuple[QPushButton, QPushButton]] = {}
        self.status_labels: dict[int, QLabel] = {}
        with petitions.Workspace(self.root) as ws:
            self.cluster = petitions.same_hand_cluster(ws, cluster_id)
            lines = [r for r in self.cluster["lines"] if r["filing_id"] == self.filing_id]
            voters = petitions.VoterDirectory.open(ws)
            for i, r in enumerate(lines):
                case = petitions.load_case(ws, r["line_id"], voters=voters)
                self.cases[r["line_id"]] = case
                who = case.candidate.name if case.candidate else "no voter matched"
                label = QLabel(f"<b>{case.label}</b><br>circulator {r['circulator'] or '-'}<br>{who}<br>"
                               f"closeness {r['strength']:.2f}")
                sig = QLabel()
                sig.setPixmap(_pixmap(ws, case.signature_hash))
                sig.setToolTip("the line's signature")
                ex_box = QWidget()
                ex_lay = QHBoxLayout(ex_box)
                ex_lay.setContentsMargins(0, 0, 0, 0)
                exemplars = case.candidate.exemplars if case.candidate else ()
                for e in exemplars:
                    x = QLabel()
                    x.setPixmap(_pixmap(ws, e.image_hash))
                    x.setToolTip(f"on file: {e.source or ''} {e.captured_date or ''}".strip())
                    ex_lay.addWidget(x)
                if not exemplars:
                    ex_lay.addWidget(QLabel("no signature on file"))
                status = QLabel(self._status_text(case))
                status.setObjectName(f"status_{case.label}")
                acc = QPushButton("Accept")
                rej = QPushButton("Reject")
                acc.setObjectName(f"accept_{case.label}")
                rej.setObjectName(f"reject_{case.label}")
                acc.clicked.connect(lambda _=False, lid=r["line_id"]: self.rule_line(lid, "accept"))
                rej.clicked.connect(lambda _=False, lid=r["line_id"]: self.rule_line(lid, "reject"))
                self.rule_buttons[r["line_id"]] = (acc, rej)
                self.status_labels[r["line_id"]] = status
                for col, w in enumerate((label, sig, ex_box, status, acc, rej)):
                    self.grid.addWidget(w, i, col)
        ev = self.cluster["evidence"]
        pairs = "; ".join(f"{a} ~ {b}: {p:.2f}" for a, b, p in ev.get("pairs", [])[:3])
        self.header.setText(
            f"Cluster {self.cluster['number']} ({self.cluster['scope']}): {len(lines)} of its {self.cluster['size']} "
            f"lines are in this filing. One hand likely wrote them (score {self.cluster['score']:.2f}; strongest "
            f"pairs {pairs}). Compare each signature with the voter's signatures on file and rule; software "
            "has rejected nothing.")
        self.sections.clear()
        for s in sorted({c.section for c in self.cases.values()}):
            self.sections.addItem(f"S{s:03d}", s)
        self.message.setText("")

    @staticmethod
    def _status_text(case) -> str:
        if case.status == "needs_review":
            return f"waiting ({case.level})"
        return case.status.replace("_", " ")

    # ---------------------------------------------------------------- rulings
    def rule_line(self, line_id: int, action: str) -> bool:
        """Rule one line as this person, with the review screen's checks."""
        case = self.cases[line_id]
        try:
            with petitions.Workspace(self.root) as ws:
                res = petitions.rule(ws, case, user=self.user, action=action, mode="review",
                                     reason_code=REJECT_REASON if action == "reject" else None)
                fresh = petitions.load_case(ws, line_id)
        except petitions.UserError as exc:
            self.message.setText(f"{case.label}: {exc}")
            return False
        self.cases[line_id] = fresh
        self.status_labels[line_id].setText(self._status_text(fresh))
        self.message.setText(f"{case.label}: {action}ed; now {res.final_status.replace('_', ' ')}")
        self.ruled.emit(line_id)
        return True

    def _rule_section(self, action: str) -> None:
        self.rule_section(self.sections.currentData(), action)

    def rule_section(self, section: int | None, action: str) -> tuple[int, int]:
        """Rule every line of the cluster in `section`, one ruling per line,
        each through the same checks; ``(ruled, refused)``."""
        ids = [lid for lid, c in self.cases.items() if c.section == section]
        ok = refused = 0
        problems = []
        for lid in ids:
            if self.rule_line(lid, action):
                ok += 1
            else:
                refused += 1
                problems.append(self.message.text())
        self.message.setText(f"section S{(section or 0):03d}: {ok} line(s) {action}ed, {refused} refused"
                             + ("".join(f"\n{p}" for p in problems)))
        return ok, refused
