"""Sections as the law sees them (issue 18, item 5).

A section is one circulator's part of a filing and ends in the
circulator's declaration (name, address, dates circulated, signature).

* :func:`key_declarations` records the declarations as keyed (CSV
  ``section,circulator_name,circulator_address,circulated_from,circulated_to,signed[,declaration_date]``);
  a section not keyed as signed or unsigned is read from the declaration's
  signature crop the segmenter cut on each page (ink or none).
* :func:`sections_of` shows every section with its declaration, the crops
  and what :func:`petitions.law.sections.check_declaration` finds wrong.
* :func:`rule_section` — a supervisor voids a whole section with a reason
  code (``circulator_defect``, ``wrong_county``) and a stated reason; every
  signed line of it is then invalid for that code in the one status
  computation (:func:`petitions.status.line_status`), in the sample and on
  the certificate. :func:`restore_section` (a later supervisor ruling)
  takes it back; both stay on record, each with its event.

Software never voids a section: the checks only show.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

from petitions.errors import UserError
from petitions.law.sections import DeclarationProblem, check_declaration
from petitions.store import Workspace, now_utc
from petitions.store import sections as sections_db

__all__ = ["DeclarationImport", "SectionView", "key_declarations", "sections_of", "rule_section", "restore_section",
           "section_rulings_in_force", "declaration_warnings", "write_declaration_crops", "DECLARATION_CSV_COLUMNS"]

DECLARATION_CSV_COLUMNS = ("section", "circulator_name", "circulator_address", "circulated_from", "circulated_to",
                           "signed")
_YES = {"yes", "y", "true", "1", "signed"}
_NO = {"no", "n", "false", "0", "unsigned", "not signed"}
#: Share of dark pixels in the declaration's signature box above which it is read as signed.
INK_SHARE = 0.004


@dataclass
class DeclarationImport:
    imported: int = 0
    unchanged: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass
class SectionView:
    """One section as a supervisor checks it."""

    section: int
    batch: int | None
    pages: int
    signed_lines: int
    circulator: str | None                 # the name given at ingest
    declaration: dict | None               # the keyed declaration in force
    crops: dict[str, list[str]]            # field -> crop hash per page (circulator_name, ..., circulator_signature)
    signature_ink: bool | None             # read from the crops: ink on every page's signature box
    problems: list[DeclarationProblem]
    ruling: dict | None                    # the section ruling in force (void), or None
    history: list[dict]                    # every ruling on the section, oldest first

    def to_dict(self) -> dict:
        return {"section": self.section, "batch": self.batch, "pages": self.pages, "signed_lines": self.signed_lines,
                "circulator": self.circulator, "declaration": self.declaration, "crops": self.crops,
                "signature_ink": self.signature_ink,
                "problems": [{"code": p.code, "message": p.message} for p in self.problems],
                "ruling": self.ruling, "history": self.history}


def key_declarations(ws: Workspace, filing_id: int, csv_path: str | Path, *, user: str,
                     source: str = "keyed declarations CSV") -> DeclarationImport:
    """Record the circulators' declarations of the filing's sections as keyed.

    Columns: ``section,circulator_name,circulator_address,circulated_from,
    circulated_to,signed`` and optionally ``declaration_date`` (the date the
    circulator signed it); dates ``YYYY-MM-DD``; ``signed`` yes / no (blank:
    read from the page). A row that names no section of the filing, repeats
    one, or has a bad date or ``signed`` value is listed with its row and
    column and left out; the good rows are recorded (a supervisor's work,
    one event). Unchanged rows are skipped; a changed one is a new entry
    (history kept).
    """
    import datetime as dt

    ws.require_supervisor(user, "key circulators' declarations")
    csv_path = Path(csv_path)
    if not csv_path.exists():
        raise UserError("file not found", where=str(csv_path))
    with open(csv_path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in DECLARATION_CSV_COLUMNS if c not in header]
        if missing:
            raise UserError(f"missing column(s) {', '.join(missing)}; expected "
                            f"{','.join(DECLARATION_CSV_COLUMNS)}[,declaration_date]", where=str(csv_path))
        records = [{(k or "").strip(): (v or "").strip() for k, v in r.items()} for r in reader]
    numbers = {r["section"]: r["section_id"] for r in sections_db.sections(ws, filing_id)}
    current = {r["section"]: r for r in sections_db.current_declarations(ws, filing_id)}
    rep, rows, seen = DeclarationImport(), [], set()
    ts = now_utc()
    for i, rec in enumerate(records, start=2):
        where = f"{csv_path} row {i}"
        try:
            number = int(rec["section"])
        except ValueError:
            rep.problems.append(f"{where}, column section: expected a section number, got {rec['section']!r}")
            continue
        if number not in numbers:
            rep.problems.append(f"{where}, column section: no section {number} in this filing")
            continue
        if number in seen:
            rep.problems.append(f"{where}, column section: section {number} appears twice; first kept")
            continue
        seen.add(number)
        bad = False
        for col in ("circulated_from", "circulated_to", "declaration_date"):
            v = rec.get(col) or ""
            if v:
                try:
                    dt.date.fromisoformat(v)
                except ValueError:
                    rep.problems.append(f"{where}, column {col}: expected YYYY-MM-DD, got {v!r}")
                    bad = True
        s = (rec.get("signed") or "").lower()
        signed = 1 if s in _YES else 0 if s in _NO else None
        if s and signed is None:
            rep.problems.append(f"{where}, column signed: expected yes or no (or blank), got {rec['signed']!r}")
            bad = True
        if bad:
            continue
        values = (rec["circulator_name"] or None, rec["circulator_address"] or None, rec["circulated_from"] or None,
                  rec["circulated_to"] or None, signed, rec.get("declaration_date") or None)
        old = current.get(number)
        if old is not None and tuple(old[k] for k in ("circulator_name", "circulator_address", "circulated_from",
                                                        "circulated_to", "signed", "declaration_date")) == values:
            rep.unchanged += 1
            continue
        rows.append((numbers[number], *values, source, user, ts))
    with ws.transaction():
        sections_db.add_declarations(ws, rows)
        ws.log_event("declarations_keyed", user=user, filing_id=filing_id,
                     payload={"source": str(csv_path), "sections": sorted(seen), "imported": len(rows),
                              "unchanged": rep.unchanged, "problems": rep.problems[:50]})
    rep.imported = len(rows)
    return rep


def _ink(ws: Workspace, digests: list[str]) -> bool | None:
    """Ink on every page's declaration signature box (None when there is no crop)."""
    if not digests:
        return None
    for d in digests:
        img = ws.crops.get_image(d)
        if img is None or not img.size or float((img < 128).mean()) < INK_SHARE:
            return False
    return True


def sections_of(ws: Workspace, filing_id: int) -> list[SectionView]:
    """Every section of the filing with its declaration, crops, checks and rulings, by section number."""
    from petitions.stages.filings import get_filing

    filing = get_filing(ws, filing_id)
    decls = {r["section"]: r for r in sections_db.current_declarations(ws, filing_id)}
    dates = {r["section"]: r for r in sections_db.signer_dates(ws, filing_id)}
    crops: dict[int, dict[str, list[str]]] = {}
    for p in sections_db.page_fields(ws, filing_id):
        for k, h in json.loads(p["fields_json"] or "{}").items():
            crops.setdefault(p["section"], {}).setdefault(k, []).append(h)
    history: dict[int, list[dict]] = {}
    for r in sections_db.rulings(ws, filing_id):
        history.setdefault(r["section"], []).append(r)
    out = []
    for s in sections_db.sections(ws, filing_id):
        n = s["section"]
        decl = decls.get(n)
        d = None if decl is None else {k: decl[k] for k in ("circulator_name", "circulator_address",
                                                             "circulated_from", "circulated_to", "signed",
                                                             "declaration_date", "keyed_by", "keyed_at")}
        c = crops.get(n, {})
        ink = _ink(ws, c.get("circulator_signature", [])) if (d is None or d["signed"] is None) else None
        sd = dates.get(n, {})
        problems = check_declaration(d, first_signed=sd.get("first_signed"), last_signed=sd.get("last_signed"),
                                     signature_ink=ink, circulation_start=filing.circulation_start,
                                     circulation_end=filing.circulation_end)
        hist = history.get(n, [])
        ruling = hist[-1] if hist and hist[-1]["action"] == "void" else None
        out.append(SectionView(n, s["batch"], s["pages"], s["signed"], s["circulator_name"], d, c, ink, problems,
                               ruling, hist))
    return out


def _rule(ws: Workspace, filing_id: int, section: int, *, user: str, action: str, code: str | None,
          reason: str) -> dict:
    from petitions.certification import require_unlocked
    from petitions.law.reasons import REASONS, section_codes

    what = "rule on a whole section" if action == "void" else "restore a section"
    ws.require_supervisor(user, what)
    if not (reason or "").strip():
        raise UserError(f"say why (--reason): a section ruling is recorded with its reason; {what}")
    if action == "void" and code not in section_codes():
        known = ", ".join(section_codes())
        raise UserError(f"{code!r} is not a reason a whole section is ruled for; use one of: {known}"
                        + (f" ({code} is a single line's reason: petitions rule)" if code in REASONS else ""))
    sid = sections_db.section_id(ws, filing_id, section)
    if sid is None:
        raise UserError(f"the filing has no section {section}")
    with ws.transaction():
        require_unlocked(ws, filing_id, f"a ruling on section {section}", hold=True)
        in_force = sections_db.voided_sections(ws, filing_id)
        if action == "void" and in_force.get(section) == code:
            raise UserError(f"section {section} is already ruled {code}")
        if action == "restore" and section not in in_force:
            raise UserError(f"section {section} has no section ruling in force to restore")
        signed = next(s["signed"] for s in sections_db.sections(ws, filing_id) if s["section"] == section)
        rid = sections_db.add_ruling(ws, section_id=sid, action=action, reason_code=code, reason=reason.strip(),
                                     ruled_by=user, created_at=now_utc())
        payload = {"section_ruling_id": rid, "section": section, "action": action, "reason_code": code,
                   "reason": reason.strip(), "signed_lines": int(signed), "replaces": in_force.get(section)}
        ws.log_event("section_ruled", user=user, filing_id=filing_id, payload=payload)
    return payload


def rule_section(ws: Workspace, filing_id: int, section: int, *, user: str, code: str, reason: str) -> dict:
    """A supervisor's ruling that a whole section is invalid (`code`, e.g.
    ``circulator_defect`` or ``wrong_county``), with the reason recorded.

    Every signed line of the section then counts as invalid for `code`
    (also in the sample and on the certificate) until :func:`restore_section`.
    Refused for anyone but a supervisor, without a reason, for a code that
    is not a section's, and while the filing's certificate is in force.

    Returns the ``section_ruled`` event's payload.
    """
    return _rule(ws, filing_id, section, user=user, action="void", code=code, reason=reason)


def restore_section(ws: Workspace, filing_id: int, section: int, *, user: str, reason: str) -> dict:
    """A later supervisor ruling that takes a section ruling back: the lines'
    own statuses count again. The voiding ruling stays on record."""
    return _rule(ws, filing_id, section, user=user, action="restore", code=None, reason=reason)


def section_rulings_in_force(ws: Workspace, filing_id: int) -> list[dict]:
    """The sections voided as a whole now: section, reason_code, reason,
    ruled_by, created_at, signed_lines."""
    signed = {s["section"]: s["signed"] for s in sections_db.sections(ws, filing_id)}
    last: dict[int, dict] = {}
    for r in sections_db.rulings(ws, filing_id):
        last[r["section"]] = r
    return [{"section": n, "reason_code": r["reason_code"], "reason": r["reason"], "ruled_by": r["ruled_by"],
             "created_at": r["created_at"], "signed_lines": int(signed.get(n, 0))}
            for n, r in sorted(last.items()) if r["action"] == "void"]


def declaration_warnings(ws: Workspace, filing_id: int) -> list[str]:
    """One line per section whose declaration shows problems and that no
    supervisor has ruled on (the certificate lists them, so nothing found
    wrong goes by unseen): ``section N: problem; problem``."""
    out = []
    for v in sections_of(ws, filing_id):
        if not v.problems or v.ruling is not None:
            continue
        codes = {p.code for p in v.problems}
        text = ("the circulator's declaration was not keyed, so not checked" if "not_keyed" in codes
                else "; ".join(p.message for p in v.problems))
        out.append(f"section {v.section}: {text}")
    return out


def write_declaration_crops(ws: Workspace, filing_id: int, out_dir: str | Path) -> list[Path]:
    """Write each section's declaration crops as PNG files for a person to
    look at: ``section-NNN-page-PP-<field>.png`` (fields ``circulator_name``,
    ``circulator_address``, ``circulation_dates``, ``circulator_signature``).
    Returns the files written, in section and page order."""
    import cv2

    from petitions.atomic import atomic_path

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for p in sections_db.page_fields(ws, filing_id):
        for name, digest in sorted(json.loads(p["fields_json"] or "{}").items()):
            path = out_dir / f"section-{p['section']:03d}-page-{p['page']:02d}-{name}.png"
            with atomic_path(path) as tmp:
                if not cv2.imwrite(str(tmp), ws.crops.get_image(digest)):
                    raise UserError("cannot write the image", where=str(path))
            written.append(path)
    return written
