"""The same-hand view (issue 21): a cluster of lines one hand likely wrote,
side by side — every signature of the cluster, each beside its voter's
signatures on file — ruled line by line or section by section.

A person rules, through the same library call and the same checks as the
review screen (:func:`petitions.rule`: the line must be waiting in the
review queue, the person's role, the second person for a rejection, a line
ruled on since it was shown is refused). Nothing here decides anything: the
scan only put the lines in front of a person.

Every read and ruling runs on the view's own connection thread
(:class:`gui.workers.DbThread`, one task after another, so a ruling lands
before the next read), opened as the signed-in person (a folder or a
server); the window never waits on the store.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (QComboBox, QDialog, QGridLayout, QHBoxLayout, QLabel, QListWidget, QListWidgetItem,
                               QPushButton, QScrollArea, QSplitter, QVBoxLayout, QWidget)

import petitions
from gui.images import to_qimage
from gui.session import ServerLocation, location_of
from gui.workers import DbThread

SIG_INK_H = 40

#: Reason a person gives when rejecting a line of a cluster (the signature is
#: not the voter's); the rule set may require a second person.
REJECT_REASON = "signature_mismatch"


def _image(ws, digest: str | None) -> np.ndarray | None:
    """A crop as shown (ink scaled to SIG_INK_H), read in the worker thread;
    None for none or a missing crop ("no image", never a crash)."""
    if not digest:
        return None
    try:
        arr = ws.crops.get_image(digest)
    except Exception:  # noqa: BLE001 - a missing crop shows as "no image", never crashes the view
        return None
    return petitions.normalize_for_display(arr, ink_height=SIG_INK_H).image


def _pixmap(image: np.ndarray | None) -> QPixmap:
    return QPixmap() if image is None else QPixmap.fromImage(to_qimage(image))


def _load_cluster(ws, cluster_id: int, filing_id: int) -> tuple[dict, list]:
    """The cluster and, for each of its lines in the filing, ``(row, case,
    signature image, [(exemplar, image)])`` (worker thread)."""
    cluster = petitions.same_hand_cluster(ws, cluster_id)
    voters = petitions.VoterDirectory.open(ws)
    shown = []
    for r in cluster["lines"]:
        if r["filing_id"] != filing_id:
            continue
        case = petitions.load_case(ws, r["line_id"], voters=voters)
        exemplars = case.candidate.exemplars if case.candidate else ()
        shown.append((r, case, _image(ws, case.signature_hash), [(e, _image(ws, e.image_hash)) for e in exemplars]))
    return cluster, shown


def _rule_lines(ws, cases: list, *, user: str, action: str) -> list[tuple[int, object, str | None]]:
    """Rule each case as `user` (worker thread): ``(line id, fresh case or
    None, refusal or None)`` for each, one refusal never stopping the rest."""
    out = []
    for case in cases:
        try:
            res = petitions.rule(ws, case, user=user, action=action, mode="review",
                                 reason_code=REJECT_REASON if action == "reject" else None)
        except petitions.UserError as exc:
            out.append((case.line_db_id, None, f"{case.label}: {exc}"))
            continue
        fresh = petitions.load_case(ws, case.line_db_id)
        out.append((case.line_db_id, fresh, f"{case.label}: {action}ed; now {res.final_status.replace('_', ' ')}"))
    return out


class ClusterView(QDialog):
    """Clusters of the filing's scan in force, and the chosen one side by side."""

    ruled = Signal(int)            # a line id a person ruled on here
    listed = Signal()              # the cluster list is shown (or its read refused)
    cluster_shown = Signal(int)    # a cluster's lines are laid out
    rulings_done = Signal(object)  # (lines ruled, refused) of one rule_line / rule_section

    def __init__(self, root: str | Path | ServerLocation, *, user: str, filing_id: int, parent=None):
        super().__init__(parent)
        self.setObjectName("clusterView")
        self.setWindowTitle("Same hand: lines one person likely wrote")
        self.root, self.user, self.filing_id = location_of(root), user, filing_id
        self.found: list[dict] = []
        self.rule_buttons: dict[int, tuple[QPushButton, QPushButton]] = {}
        self.status_labels: dict[int, QLabel] = {}
        self.worker = DbThread(self.root, "clusters", self)
        self.worker.start()
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
        """Read the filing's clusters again (worker thread), then list them."""
        fid = self.filing_id
        self._submit(lambda ws: petitions.same_hand_clusters(ws, fid), self._listed)

    def _submit(self, fn, callback) -> None:
        if self.worker is not None:   # None once the view is closed
            self.worker.submit(fn, callback)

    def _listed(self, found, error: str | None) -> None:
        self.found = list(found or [])
        self.clusters.blockSignals(True)
        self.clusters.clear()
        for c in self.found:
            ev = c["evidence"]
            item = QListWidgetItem(f"Cluster {c['number']}: {c['lines_here']} lines here ({c['size']} in all), "
                                   f"{c['scope']}, score {c['score']:.2f}, evidence {ev.get('evidence_z', 0):.0f}")
            item.setData(Qt.ItemDataRole.UserRole, c["id"])
            self.clusters.addItem(item)
        self.clusters.blockSignals(False)
        if error is not None:
            self.header.setText(f"The clusters could not be read: {error}")
        elif not self.found:
            self.header.setText("No same-hand clusters in this filing (run `petitions fraud-scan`).")
        else:
            self.clusters.setCurrentRow(0)
        self.listed.emit()

    def _show_cluster(self, row: int) -> None:
        if row < 0 or row >= len(self.found):
            return
        self.show_cluster(self.found[row]["id"])

    def show_cluster(self, cluster_id: int) -> None:
        """Read every line of the cluster in this filing with its voter's
        exemplars (worker thread), then lay them out side by side."""
        fid = self.filing_id
        self.header.setText("Reading the cluster…")
        self._submit(lambda ws: _load_cluster(ws, cluster_id, fid),
                       lambda got, error: self._lay_out(cluster_id, got, error))

    def _lay_out(self, cluster_id: int, got, error: str | None) -> None:
        while self.grid.count():
            w = self.grid.takeAt(0).widget()
            if w is not None:
                w.deleteLater()
        self.cases.clear()
        self.rule_buttons, self.status_labels = {}, {}
        if error is not None:
            self.cluster = None
            self.header.setText(f"The cluster could not be read: {error}")
            self.cluster_shown.emit(cluster_id)
            return
        self.cluster, shown = got
        for i, (r, case, sig_image, exemplars) in enumerate(shown):
            self.cases[r["line_id"]] = case
            who = case.candidate.name if case.candidate else "no voter matched"
            label = QLabel(f"<b>{case.label}</b><br>circulator {r['circulator'] or '-'}<br>{who}<br>"
                           f"closeness {r['strength']:.2f}")
            sig = QLabel()
            sig.setPixmap(_pixmap(sig_image))
            sig.setToolTip("the line's signature")
            ex_box = QWidget()
            ex_lay = QHBoxLayout(ex_box)
            ex_lay.setContentsMargins(0, 0, 0, 0)
            for e, image in exemplars:
                x = QLabel()
                x.setPixmap(_pixmap(image))
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
            f"Cluster {self.cluster['number']} ({self.cluster['scope']}): {len(shown)} of its {self.cluster['size']} "
            f"lines are in this filing. One hand likely wrote them (score {self.cluster['score']:.2f}; strongest "
            f"pairs {pairs}). Compare each signature with the voter's signatures on file and rule; software "
            "has rejected nothing.")
        self.sections.clear()
        for s in sorted({c.section for c in self.cases.values()}):
            self.sections.addItem(f"S{s:03d}", s)
        self.message.setText("")
        self.cluster_shown.emit(cluster_id)

    @staticmethod
    def _status_text(case) -> str:
        if case.status == "needs_review":
            return f"waiting ({case.level})"
        return case.status.replace("_", " ")

    # ---------------------------------------------------------------- rulings
    def rule_line(self, line_id: int, action: str) -> None:
        """Rule one line as this person, with the review screen's checks (on
        the worker thread; ``rulings_done`` tells how it went)."""
        self._rule([self.cases[line_id]], action, None)

    def _rule_section(self, action: str) -> None:
        self.rule_section(self.sections.currentData(), action)

    def rule_section(self, section: int | None, action: str) -> None:
        """Rule every line of the cluster in `section`, one ruling per line,
        each through the same checks; ``rulings_done((ruled, refused))``."""
        self._rule([c for c in self.cases.values() if c.section == section], action, section)

    def _rule(self, cases: list, action: str, section: int | None) -> None:
        for lid in [c.line_db_id for c in cases]:
            for b in self.rule_buttons.get(lid, ()):
                b.setEnabled(False)   # one ruling a click: the line waits for its answer
        user = self.user
        self._submit(lambda ws: _rule_lines(ws, cases, user=user, action=action),
                       lambda got, error: self._ruled(got, error, action, section, cases))

    def _ruled(self, got, error: str | None, action: str, section: int | None, cases: list) -> None:
        if error is not None:   # the connection itself failed: nothing was ruled
            got = [(c.line_db_id, None, f"{c.label}: {error}") for c in cases]
        ok = refused = 0
        problems = []
        for lid, fresh, said in got:
            for b in self.rule_buttons.get(lid, ()):
                b.setEnabled(True)
            if fresh is None:
                refused += 1
                problems.append(said)
                continue
            ok += 1
            if lid in self.cases:
                self.cases[lid] = fresh
                self.status_labels[lid].setText(self._status_text(fresh))
            self.ruled.emit(lid)
        if section is None and len(got) == 1:
            self.message.setText(got[0][2])
        else:
            self.message.setText(f"section S{(section or 0):03d}: {ok} line(s) {action}ed, {refused} refused"
                                 + "".join(f"\n{p}" for p in problems))
        self.rulings_done.emit((ok, refused))

    # ------------------------------------------------------------------ close
    def stop(self) -> None:
        """End the view's connection thread (every ruling queued lands first)."""
        if self.worker is not None:
            self.worker.stop()
            self.worker = None

    def closeEvent(self, ev) -> None:
        self.stop()
        super().closeEvent(ev)

    def done(self, r: int) -> None:
        self.stop()
        super().done(r)
