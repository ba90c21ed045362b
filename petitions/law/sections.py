"""The circulator's declaration, checked as the law asks (pure; no store).

Each section of a petition is circulated by one person and ends in the
circulator's declaration: name, residence address, the dates the section
was circulated and the circulator's signature (EC 104, 9022; shared
DOMAIN.md "Structure of a filing"). A defective declaration can void the
whole section, but only a supervisor decides that
(:func:`petitions.sections.rule_section`): these checks *show* what is
wrong, they never rule.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

__all__ = ["DeclarationProblem", "check_declaration", "DECLARATION_FIELDS"]

#: The declaration's fields as keyed (CSV columns after ``section``).
DECLARATION_FIELDS = ("circulator_name", "circulator_address", "circulated_from", "circulated_to", "signed",
                      "declaration_date")


@dataclass(frozen=True)
class DeclarationProblem:
    """One thing wrong with a declaration: a stable ``code`` and words for staff."""

    code: str
    message: str


def _date(v) -> _dt.date | None:
    if v is None or v == "":
        return None
    if isinstance(v, _dt.date):
        return v
    try:
        return _dt.date.fromisoformat(str(v))
    except ValueError:
        return None


def check_declaration(decl: dict | None, *, first_signed=None, last_signed=None, signature_ink: bool | None = None,
                      circulation_start=None, circulation_end=None) -> list[DeclarationProblem]:
    """What is missing or inconsistent in one section's declaration.

    Parameters
    ----------
    decl : dict or None
        The keyed declaration (:data:`DECLARATION_FIELDS`; dates ISO text or
        dates, ``signed`` 1 / 0 / None), or None when nothing was keyed.
    first_signed, last_signed : date or ISO text, optional
        The earliest and latest date signed among the section's lines.
    signature_ink : bool, optional
        What the declaration's signature crops show when ``signed`` was not
        keyed: ink on every page (True), a page without ink (False), no crop
        (None).
    circulation_start, circulation_end : date, optional
        The filing's circulation window.

    Returns
    -------
    list of DeclarationProblem
        Empty when the declaration is complete and consistent.

    Examples
    --------
    >>> d = {"circulator_name": "Ann Lee", "circulator_address": "1 Elm St", "circulated_from": "2026-05-01",
    ...      "circulated_to": "2026-05-20", "signed": 1, "declaration_date": "2026-05-18"}
    >>> [p.code for p in check_declaration(d, last_signed="2026-05-19")]
    ['declared_before_last_signer']
    """
    out: list[DeclarationProblem] = []
    if decl is None:
        decl = {}
        out.append(DeclarationProblem("not_keyed", "the circulator's declaration has not been keyed"))
    if not (decl.get("circulator_name") or "").strip():
        out.append(DeclarationProblem("no_name", "no circulator name"))
    if not (decl.get("circulator_address") or "").strip():
        out.append(DeclarationProblem("no_address", "no circulator residence address"))
    start, end = _date(decl.get("circulated_from")), _date(decl.get("circulated_to"))
    if start is None or end is None:
        out.append(DeclarationProblem("no_dates", "the dates circulated are missing or not dates"))
    elif start > end:
        out.append(DeclarationProblem("dates_reversed", f"circulated from {start} is after to {end}"))
    signed = decl.get("signed")
    if signed is None:
        if signature_ink is False:
            out.append(DeclarationProblem("not_signed", "no ink where the circulator signs (read from the page)"))
        elif signature_ink is None:
            out.append(DeclarationProblem("signature_unknown", "whether the declaration is signed is not known"))
    elif not int(signed):
        out.append(DeclarationProblem("not_signed", "the declaration is not signed"))
    first, last = _date(first_signed), _date(last_signed)
    declared = _date(decl.get("declaration_date"))
    if declared is not None and last is not None and declared < last:
        out.append(DeclarationProblem("declared_before_last_signer",
                                      f"declaration dated {declared}, before the latest signer's date {last}"))
    if end is not None and last is not None and last > end:
        out.append(DeclarationProblem("signed_after_circulation", f"a signer dated {last}, after circulation ended {end}"))
    if start is not None and first is not None and first < start:
        out.append(DeclarationProblem("signed_before_circulation",
                                      f"a signer dated {first}, before circulation began {start}"))
    ws, we = _date(circulation_start), _date(circulation_end)
    if start is not None and ws is not None and start < ws:
        out.append(DeclarationProblem("outside_window", f"circulated from {start}, before the filing's window opens {ws}"))
    if end is not None and we is not None and end > we:
        out.append(DeclarationProblem("outside_window", f"circulated to {end}, after the filing's window closes {we}"))
    return out
