"""Stage: keyed printed names and addresses (vendor CSV or the workbench).
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path

from petitions.errors import UserError
from petitions.stages.job import read_csv_strings
from petitions.store import Workspace, now_utc
from petitions.store import ingest as ingest_db
from petitions.store import keying as keying_db
from petitions.store import rulings as rulings_db

KEYED_COLUMNS = ("line_id", "name", "address", "city", "zip")


@dataclass
class KeyedImport:
    imported: int = 0
    unchanged: int = 0
    problems: list[str] = field(default_factory=list)


def import_keyed_entries(ws: Workspace, filing_id: int, csv_path: str | Path, *, user: str,
                         source: str = "keying vendor CSV") -> KeyedImport:
    """Import keyed printed names and addresses (``line_id,name,address,city,zip``
    and optionally ``date_signed``). Re-importing the same values changes nothing;
    changed values become a new keyed entry (the old one stays as history)."""
    from petitions.certification import require_unlocked

    csv_path = Path(csv_path)
    require_unlocked(ws, filing_id, f"importing keyed entries ({csv_path.name})")
    df = read_csv_strings(csv_path, required=KEYED_COLUMNS)
    labels = ingest_db.line_ids_by_label(ws, filing_id)
    current = {r["line_id"]: (r["name"], r["address"], r["city"], r["zip"], r["date_signed"])
               for r in keying_db.current_keyed(ws, filing_id)}
    report = KeyedImport()
    rows, seen = [], set()
    has_date = "date_signed" in df.columns
    ts = now_utc()
    for i, rec in enumerate(df.iter_rows(named=True), start=2):
        label = (rec["line_id"] or "").strip()
        line_id = labels.get(label)
        if line_id is None:
            report.problems.append(f"{csv_path} row {i}, column line_id: no line {label!r} in this filing")
            continue
        if line_id in seen:
            report.problems.append(f"{csv_path} row {i}, column line_id: {label!r} appears twice; first kept")
            continue
        seen.add(line_id)
        date_signed = (rec.get("date_signed") or "").strip() or None if has_date else None
        if date_signed:
            try:
                _dt.date.fromisoformat(date_signed)
            except ValueError:
                report.problems.append(f"{csv_path} row {i}, column date_signed: expected YYYY-MM-DD, got {date_signed!r}")
                date_signed = None
        values = tuple((rec.get(c) or "").strip() for c in ("name", "address", "city", "zip")) + (date_signed,)
        if current.get(line_id) == values:
            report.unchanged += 1
            continue
        rows.append((line_id, *values, source, user, ts))
    with ws.transaction():
        require_unlocked(ws, filing_id, f"importing keyed entries ({csv_path.name})", hold=True)
        keying_db.add_keyed_entries(ws, rows)
        ws.log_event("keyed_entries_imported", user=user, filing_id=filing_id,
                     payload={"source": str(csv_path), "imported": len(rows), "unchanged": report.unchanged,
                              "problems": report.problems[:50]})
    report.imported = len(rows)
    return report


def key_line(ws: Workspace, line_id: int, *, name: str, address: str, city: str = "", zip: str = "",
             date_signed: str | None = None, user: str) -> None:
    """Record what a clerk keyed for one line (from the workbench)."""
    from petitions.certification import require_unlocked

    line = rulings_db.line_ref(ws, line_id)
    if line is None:
        raise UserError(f"no line with id {line_id}")
    with ws.transaction():
        require_unlocked(ws, line["filing_id"], f"keying line {line['label']}", hold=True)
        keying_db.add_keyed_entry(ws, line_id, name=name.strip(), address=address.strip(), city=city.strip(),
                                  zip=zip.strip(), date_signed=date_signed, source="workbench", keyed_by=user,
                                  keyed_at=now_utc())
        ws.log_event("line_keyed", user=user, line_id=line_id,
                     payload={"name": name, "address": address, "city": city, "zip": zip})

