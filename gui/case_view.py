"""One case: the petition signature large beside every exemplar on file, the
printed name and address crops beside the voter record with differences
marked, other candidates, and why the line is here in plain words."""
from __future__ import annotations

import html
from dataclasses import dataclass, field

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (QFrame, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout,
                               QWidget)

from gui.images import load_qimage, load_signature, scaled_by, scaled_pixmap
from petitions import reason_label
from petitions import Case, Candidate

SIG_W, SIG_H = 420, 92
EX_W, EX_H = 260, 92
CROP_W, CROP_H = 360, 48

#: The matcher's level for each field, shown with a word and a symbol, never
#: by colour alone; only a difference that can matter is red.
AGREEMENT = {
    "exact": ("✓ exact", "#1b5e20", "#e8f5e9"),
    "equivalent": ("≈ equivalent", "#33691e", "#f1f8e9"),
    "different": ("✗ DIFFERENT", "#b71c1c", "#ffebee"),
    "missing": ("– not keyed", "#4e342e", "#efebe9"),
}
STATUS_WORDS = {"valid": "✓ valid", "invalid": "✗ invalid", "needs_review": "? needs review"}


@dataclass
class LoadedCase:
    """A case and its decoded images (built in a worker, shown at once).

    ``images`` holds every crop as stored; ``display`` the signatures (the
    petition's and every exemplar) trimmed to their ink at one ink height
    with comparable contrast (:func:`gui.images.load_signature`)."""

    case: Case
    images: dict = field(default_factory=dict)
    display: dict = field(default_factory=dict)


def signature_hashes(case: Case) -> list[str]:
    hs = [case.signature_hash]
    for c in ([case.candidate] if case.candidate else []) + list(case.others):
        hs.extend(e.image_hash for e in c.exemplars)
    return [h for h in hs if h]


def case_hashes(case: Case) -> list[str]:
    return [h for h in (*signature_hashes(case), case.name_hash, case.address_hash) if h]


def load_full_case(ws, line_db_id: int, *, voters=None) -> LoadedCase:
    """Worker-side: the case and every image it shows, decoded and normalised."""
    from petitions import load_case

    case = load_case(ws, line_db_id, voters=voters)
    images, display = {}, {}
    for h in signature_hashes(case):
        display[h], images[h] = load_signature(ws, h)
    for h in (case.name_hash, case.address_hash):
        if h:
            images[h] = load_qimage(ws, h)
    return LoadedCase(case, images, display)


class ImageLabel(QLabel):
    """An image that scales to the space it is given (never forces the
    window wider), keeping its aspect ratio; text when there is no image."""

    def __init__(self, tooltip: str, w: int, h: int):
        super().__init__()
        self._image = QImage()
        self._hint = QSize(w, h)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setFrameShape(QFrame.Shape.Box)
        self.setStyleSheet("background: white; color: #555;")
        self.setToolTip(tooltip)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setMinimumSize(min(w, 100), h)
        self.setMaximumHeight(h)

    def sizeHint(self) -> QSize:
        return self._hint

    def minimumSizeHint(self) -> QSize:  # a pixmap must never force the window wider
        return QSize(min(self._hint.width(), 100), self._hint.height())

    def set_image(self, image: QImage | None, missing: str) -> None:
        self._image = image if image is not None else QImage()
        if self._image.isNull():
            self.setPixmap(QPixmap())
            self.setText(missing)
        else:
            self.setText("")
            self._rescale()

    def has_image(self) -> bool:
        return not self._image.isNull()

    def _rescale(self) -> None:
        if not self._image.isNull():
            self.setPixmap(scaled_pixmap(self._image, max(self.width() - 4, 20), max(self.height() - 4, 20)))

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        self._rescale()


class InkLabel(ImageLabel):
    """A signature in a like-for-like group: every label of the group draws
    its (ink-normalised) image at the group's one scale, so the ink of the
    petition signature and of every exemplar is drawn the same height.

    With ``original`` set the stored crop is drawn instead, fitted to the
    box. The mouse wheel or a double-click opens the zoomed comparison."""

    def __init__(self, group: "InkGroup", tooltip: str, w: int, h: int):
        super().__init__(tooltip + "  ·  Z or the mouse wheel: zoom  ·  O: original crop", w, h)
        self.group = group
        self.original = QImage()
        group.add(self)

    def set_images(self, display: QImage | None, original: QImage | None, missing: str) -> None:
        self.original = original if original is not None else QImage()
        self._image = display if display is not None else QImage()
        if self._image.isNull():
            self.setPixmap(QPixmap())
            self.setText(missing)
        else:
            self.setText("")
        self.group.relayout()

    def fit_scale(self) -> float | None:
        """The largest scale at which this label's image fits its box."""
        if self._image.isNull() or self.width() < 10:
            return None
        return min((self.width() - 6) / self._image.width(), (self.height() - 6) / self._image.height())

    def draw(self, scale: float | None, original: bool) -> None:
        if self._image.isNull():
            return
        key = (self._image.cacheKey(), self.original.cacheKey(), original, scale,
               (self.width(), self.height()) if original else None)
        if key == getattr(self, "_drawn", None):
            return   # nothing changed: no rescaling on every layout pass
        self._drawn = key
        if original and not self.original.isNull():
            self.setPixmap(scaled_pixmap(self.original, max(self.width() - 4, 20), max(self.height() - 4, 20)))
        elif scale is not None:
            self.setPixmap(scaled_by(self._image, scale))

    def _rescale(self) -> None:
        self.group.relayout()

    def wheelEvent(self, ev) -> None:
        if not self._image.isNull():
            self.group.zoom_requested()
            ev.accept()
        else:
            super().wheelEvent(ev)

    def mouseDoubleClickEvent(self, ev) -> None:
        self.group.zoom_requested()


class InkGroup:
    """The labels drawn at one scale (see :class:`InkLabel`)."""

    def __init__(self, on_zoom=None):
        self.labels: list[InkLabel] = []
        self.original = False
        self.scale: float | None = None
        self.on_zoom = on_zoom
        self.hold = False   # set while a case is being put on screen: one layout at the end

    def add(self, label: InkLabel) -> None:
        self.labels.append(label)

    def keep_only(self, labels) -> None:
        """Forget every label but `labels` (the others are being deleted)."""
        self.labels = [x for x in self.labels if x in labels]

    def relayout(self) -> None:
        if self.hold:
            return
        fits = [f for f in (lab.fit_scale() for lab in self.labels) if f is not None]
        # never drawn larger than normalised (no blur), all at the smallest fit
        self.scale = min([1.0, *fits]) if fits else None
        for lab in self.labels:
            lab.draw(self.scale, self.original)

    def zoom_requested(self) -> None:
        if self.on_zoom is not None:
            self.on_zoom()


def _image_label(tooltip: str, w: int, h: int) -> ImageLabel:
    return ImageLabel(tooltip, w, h)


def _set_image(lab: ImageLabel, img: QImage | None, w: int, h: int, missing: str) -> None:
    lab.set_image(img, missing)


def _highlight(text: str, words: tuple[str, ...]) -> str:
    marked = set(words)
    out = []
    for w in text.split():
        e = html.escape(w)
        out.append(f"<b><u style='color:#b71c1c'>{e}</u></b>" if w in marked else e)
    return " ".join(out)


def _clear(layout) -> None:
    while layout.count():
        item = layout.takeAt(0)
        w = item.widget()
        if w is not None:
            w.deleteLater()
        elif item.layout() is not None:
            _clear(item.layout())


class CaseView(QWidget):
    """Shows one :class:`LoadedCase`. Read-only; rulings are the panel's."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.loaded: LoadedCase | None = None
        self.compare = None
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        self.header = QLabel("No case open")
        self.header.setObjectName("caseHeader")
        self.header.setStyleSheet("font-size: 15pt; font-weight: bold;")
        self.header.setWordWrap(True)
        self.header.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        outer.addWidget(self.header)
        self.why = QLabel()
        self.why.setWordWrap(True)
        self.why.setObjectName("caseWhy")
        self.why.setToolTip("Why this line needs a person, in plain words")
        self.why.setStyleSheet("background: #fff8e1; border: 1px solid #c9a227; padding: 6px;")
        outer.addWidget(self.why)
        self.history = QLabel()
        self.history.setObjectName("caseHistory")
        self.history.setWordWrap(True)
        self.history.setToolTip("Earlier rulings on this line, newest last")
        outer.addWidget(self.history)

        sig_box = QGroupBox("Signature on the petition  ·  signatures on file for the voter")
        sig_box.setToolTip("Compare slant, print vs cursive, size and proportion, letter forms, spacing (2 CCR §20960). "
                           "Start from the presumption that the signature is genuine; it may compare with ANY signature on file.")
        sig_row = QHBoxLayout(sig_box)
        left = QVBoxLayout()
        self.ink = InkGroup(on_zoom=self.open_compare)
        self.others_ink = InkGroup(on_zoom=self.open_compare)
        self.signature = InkLabel(self.ink, "The signature cut from the petition line", SIG_W, SIG_H)
        self.signature.setObjectName("petitionSignature")
        self.sig_mode = QLabel()
        self.sig_mode.setObjectName("signatureMode")
        self.sig_mode.setWordWrap(True)
        left.addWidget(QLabel("<b>Petition line</b>"))
        left.addWidget(self.signature)
        left.addWidget(self.sig_mode)
        self.scores = QLabel()
        self.scores.setObjectName("caseScores")
        left.addWidget(self.scores)
        sig_row.addLayout(left, 3)
        self.exemplar_box = QGridLayout()
        sig_row.addLayout(self.exemplar_box, 4)
        outer.addWidget(sig_box)

        id_box = QGroupBox("Printed name and address  ·  the voter's record")
        id_box.setToolTip("What the signer wrote beside what the voter file holds, with the matcher's level per field: "
                          "exact, equivalent (and the rule: unit designator, city alias, street type, nickname, "
                          "maternal surname …; not grounds to reject, 2 CCR §20931) or different (red: can matter)")
        grid = QGridLayout(id_box)
        self.name_crop = _image_label("The printed name as written on the line", CROP_W, CROP_H)
        self.addr_crop = _image_label("The residence address as written on the line", CROP_W, CROP_H)
        grid.addWidget(QLabel("Written name"), 0, 0)
        grid.addWidget(self.name_crop, 0, 1)
        grid.addWidget(QLabel("Written address"), 1, 0)
        grid.addWidget(self.addr_crop, 1, 1)
        self.fields = QLabel()
        self.fields.setObjectName("caseFields")
        self.fields.setTextFormat(Qt.TextFormat.RichText)
        self.fields.setWordWrap(True)
        grid.addWidget(self.fields, 0, 2, 2, 1)
        # The crops scale to what they are given (Ignored policy): give them
        # a real share of the width, or they shrink to slivers on wide screens.
        grid.setColumnStretch(1, 2)
        grid.setColumnStretch(2, 3)
        outer.addWidget(id_box)

        self.others_box = QGroupBox("Other voters who fit")
        self.others_box.setToolTip("The matcher found more than one plausible voter; compare with each")
        self.others_layout = QVBoxLayout(self.others_box)
        outer.addWidget(self.others_box)
        self.duplicates = QLabel()
        self.duplicates.setObjectName("caseDuplicates")
        self.duplicates.setWordWrap(True)
        self.duplicates.setToolTip("Other lines of this filing matched to the same voter (a duplicate group)")
        outer.addWidget(self.duplicates)
        outer.addStretch(1)

    # ------------------------------------------------------------------
    def clear(self, message: str) -> None:
        self.loaded = None
        self.header.setText(message)
        self.why.setText("")
        self.scores.setText("")
        self.fields.setText("")
        self.duplicates.setText("")
        self.history.setText("")
        self.signature.set_images(None, None, "")
        self.sig_mode.setText("")
        _set_image(self.name_crop, None, CROP_W, CROP_H, "")
        _set_image(self.addr_crop, None, CROP_W, CROP_H, "")
        self._clear_signatures()
        self.others_box.hide()

    def show_case(self, loaded: LoadedCase) -> None:
        self.loaded = loaded
        c, imgs = loaded.case, loaded.images
        where = f"section {c.section}, page {c.page}, line {c.number}"
        sample = f"  ·  random sample #{c.sample_rank}" if c.sample_rank else ""
        self.header.setText(f"{c.label}  ·  {where}{sample}  ·  {STATUS_WORDS.get(c.status, c.status)}")
        self.why.setText("<b>Why it is here</b><ul>" + "".join(f"<li>{html.escape(w)}</li>" for w in c.why) + "</ul>")
        disp = loaded.display
        self.ink.hold = self.others_ink.hold = True
        self.signature.set_images(disp.get(c.signature_hash), imgs.get(c.signature_hash), "no signature found on the line")
        self._say_mode()
        bits = []
        if c.sig_score is not None:
            bits.append(f"signature score <b>{c.sig_score:.2f}</b> ({html.escape(c.sig_decision or '')})")
        if c.match_score is not None:
            bits.append(f"identity {c.match_score:.2f} ({html.escape(c.match_status or '')})")
        self.scores.setText(" · ".join(bits) or "not scored")
        self._clear_signatures()
        cand = c.candidate
        if cand is None:
            msg = QLabel("No voter matched: look the signer up in the Voter lookup tab (Ctrl+L).")
            msg.setWordWrap(True)
            self.exemplar_box.addWidget(msg, 0, 0)
        elif not cand.exemplars:
            self.exemplar_box.addWidget(QLabel("No signature on file for this voter."), 0, 0)
        else:
            cols = 1 if len(cand.exemplars) <= 3 else 2   # one column: each as wide as it can be
            for i, ex in enumerate(cand.exemplars):
                cell = QVBoxLayout()
                lab = InkLabel(self.ink, f"Signature on file: {ex.captured_date or 'date unknown'}, "
                               f"{ex.source or 'source unknown'}", EX_W, EX_H)
                lab.setObjectName("exemplarSignature")
                lab.set_images(disp.get(ex.image_hash), imgs.get(ex.image_hash), "image missing")
                cap = QLabel(f"{ex.captured_date or 'date unknown'} · {ex.source or 'source unknown'}"
                             + ("  ★ closest" if ex.best else ""))
                cap.setObjectName("exemplarCaption")
                cap.setWordWrap(True)
                cell.addWidget(lab)
                cell.addWidget(cap)
                self.exemplar_box.addLayout(cell, i // cols, i % cols)
        _set_image(self.name_crop, imgs.get(c.name_hash), CROP_W, CROP_H, "no name crop")
        _set_image(self.addr_crop, imgs.get(c.address_hash), CROP_W, CROP_H, "no address crop")
        self.fields.setText(self._fields_html(c, cand))
        if c.others:
            for o in c.others:
                self.others_layout.addWidget(self._other_widget(o, imgs))
            self.others_box.show()
        else:
            self.others_box.hide()
        if c.same_voter:
            self.duplicates.setText("<b>Same voter on other lines</b> (duplicate group, filing order): " + "; ".join(
                html.escape(f"{d['label']} ({'earlier' if d['earlier'] else 'later'}; "
                            f"{(d['determination'] or 'not triaged').replace('_', ' ')})")
                for d in c.same_voter))
            self.duplicates.show()
        else:
            self.duplicates.hide()
        if c.history:
            self.history.setText("<b>Rulings so far</b>: " + "; ".join(
                html.escape(f"{r.created_at[:16].replace('T', ' ')} {r.user} ({r.kind}) {r.action}"
                            + (f" — {reason_label(r.reason_code)}" if r.reason_code else ""))
                for r in c.history))
        else:
            self.history.setText("No rulings yet.")
        self.ink.hold = self.others_ink.hold = False
        self.ink.relayout()
        self.others_ink.relayout()

    def _clear_signatures(self) -> None:
        _clear(self.exemplar_box)
        _clear(self.others_layout)
        self.ink.keep_only([self.signature])
        self.others_ink.keep_only([])

    def _say_mode(self) -> None:
        if self.ink.original:
            self.sig_mode.setText("<i>Original crops as scanned, each fitted to its box</i> "
                                  "(O: back to like for like · Z: zoom)")
        else:
            self.sig_mode.setText("<i>Trimmed to the ink, drawn at one ink height and contrast</i> "
                                  "(O: original crops · Z or wheel: zoom)")

    def toggle_original(self) -> None:
        """Show the original crops instead of the like-for-like drawing, or back."""
        for g in (self.ink, self.others_ink):
            g.original = not g.original
            g.relayout()
        self._say_mode()

    def open_compare(self) -> None:
        """The petition signature and every signature on file, large, like for
        like, with zoom (the mouse wheel or + / −)."""
        if self.loaded is None:
            return
        from gui.compare import CompareDialog

        self.compare = CompareDialog(self.loaded, original=self.ink.original, parent=self)
        self.compare.show()

    @staticmethod
    def _fields_html(c: Case, cand: Candidate | None) -> str:
        if cand is None:
            k = c.keyed or {}
            return ("<b>Keyed</b>: " + html.escape(" / ".join(str(k.get(f) or "") for f in ("name", "address", "city", "zip")))
                    if k else "<i>Nothing keyed for this line.</i>")
        rows = ["<table cellspacing='0' cellpadding='3'><tr><th align='left'>Field</th><th align='left'>Keyed from the line</th>"
                "<th align='left'>Voter record</th><th align='left'>Agreement</th></tr>"]
        for d in cand.diffs:
            word, fg, bg = AGREEMENT.get(d.agreement, (d.agreement, "#000", "#fff"))
            rule = f"<br><small>{html.escape(d.rule)}</small>" if d.rule else ""
            voter = _highlight(d.voter, d.differing) if d.agreement == "different" else html.escape(d.voter)
            rows.append(f"<tr><td>{html.escape(d.name)}</td><td>{html.escape(d.keyed) or '<i>blank</i>'}</td>"
                        f"<td>{voter}</td>"
                        f"<td style='color:{fg}; background:{bg}'><b>{word}</b>{rule}</td></tr>")
        r = cand.record
        rows.append("</table>")
        rows.append(f"<p>Voter <b>{html.escape(cand.voter_id)}</b> · status <b>{html.escape(str(r.get('status') or '?'))}</b>"
                    f" · registered {html.escape(str(r.get('registration_date') or '?'))}"
                    f" · precinct {html.escape(str(r.get('precinct') or '?'))}"
                    f" · district {html.escape(str(r.get('district') or '?'))}</p>")
        return "".join(rows)

    def _other_widget(self, o: Candidate, imgs: dict) -> QWidget:
        w = QFrame()
        w.setFrameShape(QFrame.Shape.StyledPanel)
        lay = QHBoxLayout(w)
        score = f" · match {o.score:.2f}" if o.score is not None else ""
        text = QLabel(f"<b>{html.escape(o.voter_id)}</b> {html.escape(o.name)}<br>{html.escape(o.address)}, "
                      f"{html.escape(str(o.record.get('city') or ''))} {html.escape(str(o.record.get('zip') or ''))}"
                      f"<br>status {html.escape(str(o.record.get('status') or '?'))}{score}")
        text.setObjectName("otherCandidate")
        text.setWordWrap(True)
        lay.addWidget(text, 2)
        grid = QGridLayout()
        for i, ex in enumerate(o.exemplars):
            lab = InkLabel(self.others_ink, f"{o.voter_id} on file: {ex.captured_date}, {ex.source}", 160, 56)
            lab.set_images(self.loaded.display.get(ex.image_hash) if self.loaded else None,
                           imgs.get(ex.image_hash), "image missing")
            grid.addWidget(lab, i // 3, i % 3)
        lay.addLayout(grid, 3)
        return w
