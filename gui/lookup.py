"""Voter look-up with type-ahead: by name and/or address (party never shown)."""
from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import QFormLayout, QHeaderView, QLabel, QLineEdit, QTableView, QVBoxLayout, QWidget

from petitions import VOTER_DISPLAY_COLUMNS

HEADERS = {"voter_id": "Voter", "first_name": "First", "middle_name": "Middle", "last_name": "Last",
           "suffix": "Sfx", "house_number": "No.", "house_fraction": "Frac", "street_dir": "Dir",
           "street_name": "Street", "street_type": "Type", "street_post_dir": "Post", "unit_type": "Unit",
           "unit_number": "#", "city": "City", "zip": "Zip", "status": "Status",
           "registration_date": "Registered", "precinct": "Precinct", "district": "District"}


class FrameModel(QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.columns: list[str] = list(VOTER_DISPLAY_COLUMNS)
        self.rows: list[dict] = []

    def set_frame(self, df) -> None:
        self.beginResetModel()
        self.columns = list(df.columns) if df is not None else list(VOTER_DISPLAY_COLUMNS)
        self.rows = df.to_dicts() if df is not None else []
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()):
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, s, o, role=Qt.ItemDataRole.DisplayRole):
        if o == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS.get(self.columns[s], self.columns[s])
        return None

    def data(self, idx, role=Qt.ItemDataRole.DisplayRole):
        if idx.isValid() and role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            v = self.rows[idx.row()].get(self.columns[idx.column()])
            return "" if v is None else str(v)
        return None


class VoterLookup(QWidget):
    """Type in name and/or address; results update as you type (debounced,
    searched in the reader thread)."""

    search_requested = Signal(str, str, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.name = QLineEdit()
        self.name.setObjectName("lookupName")
        self.name.setPlaceholderText("e.g. garc mar — any order, beginnings of names")
        self.name.setToolTip("Given and family names, or their beginnings, in any order")
        self.address = QLineEdit()
        self.address.setObjectName("lookupAddress")
        self.address.setPlaceholderText("e.g. 1200 main")
        self.address.setToolTip("House number and the beginning of the street name")
        self.zip = QLineEdit()
        self.zip.setObjectName("lookupZip")
        self.zip.setMaximumWidth(100)
        self.zip.setToolTip("Zip code (or its beginning)")
        form.addRow("&Name:", self.name)
        form.addRow("&Address:", self.address)
        form.addRow("&Zip:", self.zip)
        lay.addLayout(form)
        self.status = QLabel("Type a name or an address.")
        self.status.setObjectName("lookupStatus")
        lay.addWidget(self.status)
        self.model = FrameModel(self)
        self.table = QTableView()
        self.table.setObjectName("lookupTable")
        self.table.setModel(self.model)
        self.table.setCornerButtonEnabled(False)
        self.table.setToolTip("Voters found (party, race and ethnicity are never shown)")
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        lay.addWidget(self.table, 1)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(200)
        self.timer.timeout.connect(self._fire)
        for e in (self.name, self.address, self.zip):
            e.textChanged.connect(lambda _t: self.timer.start())

    def _fire(self) -> None:
        self.status.setText("Searching …")
        self.search_requested.emit(self.name.text(), self.address.text(), self.zip.text())

    def show_results(self, query: tuple, df, err) -> None:
        if query != (self.name.text(), self.address.text(), self.zip.text()):
            return  # typed on since: a newer search is coming
        if err:
            self.status.setText(err)
            return
        self.model.set_frame(df)
        n = 0 if df is None else df.height
        self.status.setText(f"{n} voter{'s' if n != 1 else ''} found" + (" (showing the first 50)" if n >= 50 else ""))
