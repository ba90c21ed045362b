"""Reading the CSV files the commands take: one place for the checks and
the one-line errors (file missing or unreadable, columns missing)."""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Iterator

from petitions.errors import UserError


def csv_records(path: Path, required: tuple[str, ...], *, what: str = "pairs file") -> Iterator[tuple[int, dict]]:
    """``(line number, record)`` for every row of `path`, whose header must
    name the `required` columns (headers are stripped of spaces)."""
    try:
        fh = open(path, newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise UserError(f"cannot open the {what} ({exc.strerror})", where=str(path)) from None
    with fh:
        reader = csv.DictReader(fh)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in required if c not in header]
        if missing:
            raise UserError(
                f"the header must have the columns {','.join(required)}; missing {', '.join(missing)}"
                + (f" (found: {','.join(header)})" if header else " (the file is empty)"),
                where=str(path),
            )
        reader.fieldnames = header
        try:
            for rec in reader:
                yield reader.line_num, rec
        except (csv.Error, UnicodeDecodeError) as exc:
            raise UserError(f"not a readable CSV file (line {reader.line_num}: {exc})", where=str(path)) from None
