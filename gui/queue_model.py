"""The queue list: one row per line waiting, with its signature beside the
voter's exemplar on file."""
from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSize, Qt
from PySide6.QtGui import QImage, QPixmap

from gui.images import scaled_by
from petitions import QueueItem

THUMB_W, THUMB_H = 124, 44
COLUMNS = ("Line · why it is here", "On the petition", "On file", "Match", "Sig.")
SIG_COL, EX_COL = 1, 2


class QueueModel(QAbstractTableModel):
    """Rows are :class:`petitions.review.QueueItem`; thumbnails come from
    ``thumbs`` (hash -> QImage), filled by a worker and announced with
    :meth:`thumbs_ready`."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.items: list[QueueItem] = []
        self.thumbs: dict[str, QImage] = {}
        self._pix: dict[tuple, QPixmap] = {}

    # -- content -----------------------------------------------------------
    def set_items(self, items: list[QueueItem]) -> None:
        self.beginResetModel()
        self.items = list(items)
        self.endResetModel()

    def row_of(self, line_db_id: int) -> int:
        for i, it in enumerate(self.items):
            if it.line_db_id == line_db_id:
                return i
        return -1

    def remove(self, line_db_id: int) -> int:
        row = self.row_of(line_db_id)
        if row >= 0:
            self.beginRemoveRows(QModelIndex(), row, row)
            del self.items[row]
            self.endRemoveRows()
        return row

    def insert(self, row: int, item: QueueItem) -> None:
        row = max(0, min(row, len(self.items)))
        self.beginInsertRows(QModelIndex(), row, row)
        self.items.insert(row, item)
        self.endInsertRows()

    def move_to_end(self, line_db_id: int) -> None:
        row = self.row_of(line_db_id)
        if row >= 0:
            item = self.items[row]
            self.remove(line_db_id)
            self.insert(len(self.items), item)

    def thumbs_ready(self, images: dict) -> None:
        self.thumbs.update(images)
        if self.items:
            self.dataChanged.emit(self.index(0, SIG_COL), self.index(len(self.items) - 1, EX_COL),
                                  [Qt.ItemDataRole.DecorationRole])

    def wanted_thumbs(self, first: int, last: int) -> list[str]:
        out = []
        for it in self.items[max(first, 0):last + 1]:
            for h in (it.signature_hash, *(it.exemplar_hashes[:1])):
                if h and h not in self.thumbs:
                    out.append(h)
        return out

    # -- Qt model ----------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.items)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole:
            return ("The line's id (section, page, line) and the suspected reason",
                    "The signature cut from the petition line",
                    "The candidate voter's signature on file (the one the score came from, if any)",
                    "Probability the keyed name and address are this voter's",
                    "Probability the signature is the same writer's as the one on file")[section]
        return None

    def _row_scale(self, it: QueueItem) -> float:
        """One scale for the row's two thumbnails (both normalised to the same
        ink height), so they are drawn like for like."""
        s = 1.0
        for h in (it.signature_hash, *(it.exemplar_hashes[:1])):
            img = self.thumbs.get(h) if h else None
            if img is not None and not img.isNull():
                s = min(s, THUMB_W / img.width(), THUMB_H / img.height())
        return s

    def _pixmap(self, digest: str | None, it: QueueItem) -> QPixmap | None:
        if not digest:
            return None
        img = self.thumbs.get(digest)
        if img is None or img.isNull():
            return None
        scale = self._row_scale(it)
        key = (digest, round(scale, 3))
        pm = self._pix.get(key)
        if pm is None:
            pm = scaled_by(img, scale)
            self._pix[key] = pm
        return pm

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        it = self.items[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return (it.label + (f"  #{it.sample_rank}" if it.sample_rank else "") + "\n"
                        + it.reason_label + ("" if it.level == "review" else f" [{it.level.replace('_', ' ')}]"))
            if col == SIG_COL:
                return "" if it.signature_hash else "no signature"
            if col == EX_COL:
                return (f"+{len(it.exemplar_hashes) - 1}" if len(it.exemplar_hashes) > 1 else "") \
                    if it.exemplar_hashes else "none on file"
            if col == 3:
                return "" if it.match_score is None else f"{it.match_score:.2f}"
            if col == 4:
                return "" if it.sig_score is None else f"{it.sig_score:.2f}"
        if role == Qt.ItemDataRole.DecorationRole:
            if col == SIG_COL:
                return self._pixmap(it.signature_hash, it)
            if col == EX_COL:
                return self._pixmap(it.exemplar_hashes[0] if it.exemplar_hashes else None, it)
        if role == Qt.ItemDataRole.SizeHintRole and col in (SIG_COL, EX_COL):
            return QSize(THUMB_W + 8, THUMB_H + 6)
        if role == Qt.ItemDataRole.ToolTipRole:
            n = len(it.exemplar_hashes)
            sample = f" Random sample #{it.sample_rank}." if it.sample_rank else ""
            return f"{it.label}: {it.reason_label}.{sample} {n} signature(s) on file. Double-click or Enter to open."
        if role == Qt.ItemDataRole.UserRole:
            return it.line_db_id
        return None
