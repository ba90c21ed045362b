"""The filing at a glance: counts, progress against the requirement, the
sample and its projection, counts by reason (with a bar chart), per-section
and per-reviewer progress. Data: :func:`petitions.summary.dashboard`."""
from __future__ import annotations

import html

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import (QGridLayout, QGroupBox, QHBoxLayout, QLabel, QProgressBar, QSizePolicy, QVBoxLayout,
                               QWidget)

import petitions
from petitions import reason_label


class ReasonChart(QWidget):
    """Horizontal bars with the label and the number written beside each
    bar (the reading never depends on colour); invalid bars are hatched."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[tuple[str, int, bool]] = []  # (label, count, is_invalid)
        self.setMinimumHeight(60)
        self.setToolTip("Lines by reason: hatched bars are invalid lines, plain bars are pending lines (waiting for a person)")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def set_rows(self, rows: list[tuple[str, int, bool]]) -> None:
        self.rows = rows
        self.updateGeometry()
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(480, max(60, 24 * len(self.rows) + 10))

    def paintEvent(self, _ev) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        fm = p.fontMetrics()
        if not self.rows:
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "No reasons to show yet")
            return
        label_w = min(max(fm.horizontalAdvance(f"{lab} ({'invalid' if inv else 'pending'})") for lab, _, inv in self.rows) + 12,
                      self.width() // 2)
        biggest = max(n for _, n, _ in self.rows) or 1
        bar_space = max(self.width() - label_w - 60, 20)
        for i, (lab, n, inv) in enumerate(self.rows):
            y = 5 + i * 24
            text = f"{lab} ({'invalid' if inv else 'pending'})"
            p.setPen(self.palette().windowText().color())
            p.drawText(QRectF(0, y, label_w - 6, 20), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                       fm.elidedText(text, Qt.TextElideMode.ElideRight, label_w - 6))
            w = bar_space * n / biggest
            colour = QColor("#c62828") if inv else QColor("#f9a825")
            p.setPen(QPen(colour.darker(140)))
            p.setBrush(QBrush(colour, Qt.BrushStyle.BDiagPattern if inv else Qt.BrushStyle.SolidPattern))
            p.drawRect(QRectF(label_w, y + 2, max(w, 1), 16))
            p.setPen(self.palette().windowText().color())
            p.drawText(QRectF(label_w + w + 6, y, 60, 20), Qt.AlignmentFlag.AlignVCenter, f"{n:,}")


#: The figures every screen shows under these names (petitions.summary's,
#: as ``petitions status`` prints them).
FIGURE_WORDS = petitions.FIGURE_WORDS


def figures(d: dict) -> dict[str, int | None]:
    """The shown figures of a :func:`petitions.dashboard` dict, as the one
    status computation gave them (``d["figures"]``): the header and the
    dashboard read them here, so they cannot disagree with each other nor
    with ``petitions status``."""
    return d["figures"]


class Dashboard(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.data: dict | None = None
        lay = QVBoxLayout(self)
        self.title = QLabel("Loading the filing …")
        self.title.setObjectName("dashTitle")
        f = QFont(self.title.font())
        f.setPointSizeF(f.pointSizeF() * 1.4)
        f.setBold(True)
        self.title.setFont(f)
        lay.addWidget(self.title)
        grid = QGridLayout()
        self.tiles: dict[str, QLabel] = {}
        tips = {"raw": "Raw count: every signed line filed (blank and struck lines excluded)",
                "valid": "Valid: auto-accepted (by the software) plus accepted by a person",
                "invalid": "Every invalid line: ruled invalid by a person, and blank or struck lines once confirmed",
                "pending": "Pending: lines waiting for a person (blank and struck lines proposed invalid included)",
                "outcome": "The result as it stands"}
        for i, (key, title) in enumerate((("raw", "Raw count"), ("valid", "✓ Valid"), ("invalid", "✗ Invalid"),
                                          ("pending", "? Pending"), ("outcome", "Outcome now"))):
            box = QGroupBox(title)
            box.setToolTip(tips[key])
            bl = QVBoxLayout(box)
            val = QLabel("–")
            val.setObjectName(f"tile_{key}")
            vf = QFont(val.font())
            vf.setPointSizeF(vf.pointSizeF() * 1.8)
            vf.setBold(True)
            val.setFont(vf)
            bl.addWidget(val)
            self.tiles[key] = val
            if key == "valid":
                # how the valid lines were accepted, under the names every screen uses
                self.valid_split = QLabel("–")
                self.valid_split.setObjectName("tile_valid_split")
                bl.addWidget(self.valid_split)
            grid.addWidget(box, 0, i)
        lay.addLayout(grid)
        self.progress = QProgressBar()
        self.progress.setObjectName("requiredProgress")
        self.progress.setToolTip("Valid (or projected valid, for a sampled count) against the required number")
        self.progress.setFormat("%v of %m required")
        lay.addWidget(self.progress)
        self.sample = QLabel()
        self.sample.setObjectName("dashSample")
        self.sample.setWordWrap(True)
        self.sample.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.sample)
        row = QHBoxLayout()
        chart_box = QGroupBox("Counts by reason")
        cl = QVBoxLayout(chart_box)
        self.chart = ReasonChart()
        cl.addWidget(self.chart)
        row.addWidget(chart_box, 3)
        side = QVBoxLayout()
        self.sections = QLabel()
        self.sections.setObjectName("dashSections")
        self.sections.setToolTip("Progress per section (one circulator each)")
        self.reviewers = QLabel()
        self.reviewers.setObjectName("dashReviewers")
        self.reviewers.setToolTip("Rulings per person")
        for title, w in (("Sections", self.sections), ("Reviewers", self.reviewers)):
            b = QGroupBox(title)
            QVBoxLayout(b).addWidget(w)
            side.addWidget(b)
        row.addLayout(side, 2)
        lay.addLayout(row, 1)

    def embed(self, widget: QWidget) -> None:
        """Show `widget` below the figures (the team's batches: gui/batches.py)."""
        self.layout().addWidget(widget)

    def set_data(self, d: dict) -> None:
        self.data = d
        c = d["count"]
        self.title.setText(f"{d['filing']} — {d.get('jurisdiction', '')} · rule set {d['ruleset']}"
                           + (f" · required {d['required']:,}" if d.get("required") else ""))
        fig = figures(d)
        self.tiles["raw"].setText(f"{fig['raw_count']:,}")
        self.tiles["valid"].setText(f"{fig['valid']:,}")
        self.valid_split.setText(f"{FIGURE_WORDS['auto_accepted']} {fig['auto_accepted']:,}\n"
                                 f"{FIGURE_WORDS['accepted_by_person']} {fig['accepted_by_person']:,}")
        self.tiles["invalid"].setText(f"{fig['invalid']:,}")
        self.tiles["pending"].setText(f"{fig['pending']:,}")
        self.tiles["outcome"].setText((c.get("outcome") or "–").replace("_", " "))
        req = d.get("required") or 0
        if c["method"] == "random_sample":
            p = c.get("projection") or {}
            have = int(p.get("projected_valid") or 0)
            # the real figures in words: the bar itself stops at the requirement
            self.progress.setFormat(f"projected {have:,} of {req:,} required" if req else f"projected {have:,}")
            self.sample.setText(
                f"<b>Random sample</b>: seed <tt>{html.escape(str(c['seed']))}</tt>, {c['sample_size']:,} of "
                f"{c['raw_count']:,} signed lines · in the sample: valid {c['sample_valid']:,}, duplicates "
                f"{c['sample_duplicates']}, pending {c['sample_pending']:,} · projected valid "
                f"<b>{have:,}</b> = {c.get('percent_of_required') or 0:.2f}% of required → "
                f"<b>{html.escape(str(c.get('outcome') or '–')).replace('_', ' ')}</b>")
        else:
            have = c["valid"]
            self.progress.setFormat(f"{have:,} of {req:,} required" if req else f"{have:,} valid")
            if c.get("counted_in_full"):
                # the sample drew every signed line: the count is exact, not projected
                self.sample.setText(
                    f"<b>Counted in full</b>: the random sample (seed <tt>{html.escape(str(c['seed']))}</tt>) drew "
                    f"every one of the {c['raw_count']:,} signed lines · in the sample: valid {c['sample_valid']:,}, "
                    f"duplicates {c['sample_duplicates']}, pending {c['sample_pending']:,} · valid now "
                    f"<b>{have:,}</b> (duplicates counted once)")
            else:
                self.sample.setText("<b>Full count</b>" + ("" if c.get("sample_size") else " — no sample drawn"))
        self.progress.setMaximum(max(req, 1))
        self.progress.setValue(min(have, max(req, 1)))
        rows = [(reason_label(k), v, True) for k, v in d.get("invalid_by_reason", {}).items()]
        rows += [(reason_label(k), v, False) for k, v in d.get("needs_review_by_reason", {}).items()]
        self.chart.set_rows(sorted(rows, key=lambda r: -r[1]))
        secs = d.get("sections") or []
        self.sections.setText("<table cellpadding='2'><tr><th>Section</th><th>Lines</th><th>✓</th><th>✗</th><th>?</th>"
                              "</tr>" + "".join(f"<tr><td>{s['section']}</td><td>{s['lines']}</td><td>{s['valid']}</td>"
                                                f"<td>{s['invalid']}</td><td>{s['pending']}</td></tr>" for s in secs[:30])
                              + "</table>" + (f"<i>… and {len(secs) - 30} more</i>" if len(secs) > 30 else ""))
        revs = d.get("reviewers") or []
        self.reviewers.setText(
            "<table cellpadding='2'><tr><th>Person</th><th>Rulings</th><th>Accepted</th><th>Rejected</th>"
            "<th>Escalated</th><th>Audits</th></tr>" + "".join(
                f"<tr><td>{html.escape(r['user'])} ({r['role']})</td><td>{r['rulings']}</td><td>{r['accepted'] or 0}</td>"
                f"<td>{r['rejected'] or 0}</td><td>{r['escalated'] or 0}</td><td>{r['audits'] or 0}</td></tr>" for r in revs)
            + "</table>" if revs else "No rulings yet.")
