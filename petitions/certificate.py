"""Certificate of sufficiency / insufficiency, as a PDF.

What an official signs at the end of a verification: the filing, the rule
set applied, the raw count, how the sample was drawn (seed and frame hash,
so an observer can reproduce it with ``consistent-sampler``), the counts by
reason code, the projection with every rounding step (2 CCR §§20530–20532)
and the outcome, with a signature line for the certifying official.
Near-threshold results are challenged; per-reason counts and reproducible
sampling settle disputes.

Pure: takes a :class:`CertificateData`, writes one file atomically. Uses
fpdf2's built-in Helvetica, so text is limited to Latin-1; other characters
are transliterated (see :func:`_latin1`).
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from decimal import Decimal
from os import PathLike

from fpdf import FPDF

from petitions.atomic import atomic_path
from petitions.errors import UserError
from petitions.law.projection import Outcome, Projection
from petitions.law.reasons import REASONS, label

__all__ = ["CertificateData", "write_certificate", "certificate_title"]

_KIND_LABEL = {
    "nominating": "Nominating petition",
    "in_lieu": "Petition in lieu of filing fee",
    "initiative": "Initiative petition",
    "referendum": "Referendum petition",
    "recall": "Recall petition",
}


@dataclass(frozen=True)
class CertificateData:
    """Everything printed on the certificate.

    Attributes
    ----------
    filing : str
        Name / number of the filing (e.g. "Measure 24-03, City of Example").
    kind : str
        Petition kind (``RuleSet.kind``).
    jurisdiction : str
    required : int
        Valid signatures required.
    raw_count : int
        Signed lines filed (2 CCR §20510).
    method : str
        ``random_sample`` or ``full_count``.
    valid_count : int
        Lines found valid (in the sample, or in the full count).
    invalid_by_reason : dict[str, int]
        Lines found invalid per reason code (:mod:`petitions.law.reasons`).
    duplicates : int
        Duplicates found (in the sample for a random sample).
    result : str
        ``qualifies`` | ``full_count`` | ``fails`` (sample) or
        ``sufficient`` | ``insufficient`` (full count).
    ruleset_id, ruleset_version, ruleset_hash : str
    sample_size : int, optional
    seed : str, optional
    frame_hash : str, optional
    projection : Projection, optional
    outcome : Outcome, optional
    certified_on : datetime.date
    official_name, official_title, office : str
    filed_on : datetime.date, optional
    notes : str
    counted_in_full : bool
        The random sample drew every signed line: counted, not projected.
    unread_pages : tuple of str
        Pages that failed to read and gaps in section / page numbering
        (their lines are not in the raw count).
    missing_pages_reason : str
        The supervisor's reason for certifying despite them.
    qa_warnings : tuple of str
        The rule set's QA audits not done when certified.
    declaration_warnings : tuple of str
        Sections whose circulator's declaration shows problems (or was not
        keyed) and that no supervisor ruled on.
    batch_projections : tuple of (str, Projection)
        A filing sampled per batch: each batch's own projection (its label,
        e.g. "batch 1"); the filing's count is their sum.
    section_rulings : tuple of str
        Sections a supervisor ruled invalid as a whole (code, reason, who,
        lines), each applied to all its lines in the counts above.
    """

    filing: str
    kind: str
    jurisdiction: str
    required: int
    raw_count: int
    method: str
    valid_count: int
    invalid_by_reason: dict[str, int]
    duplicates: int
    result: str
    ruleset_id: str = ""
    ruleset_version: str = ""
    ruleset_hash: str = ""
    sample_size: int | None = None
    seed: str | None = None
    frame_hash: str | None = None
    projection: Projection | None = None
    outcome: Outcome | None = None
    certified_on: _dt.date = field(default_factory=_dt.date.today)
    official_name: str = ""
    official_title: str = "Elections Official"
    office: str = ""
    filed_on: _dt.date | None = None
    notes: str = ""
    counted_in_full: bool = False
    unread_pages: tuple[str, ...] = ()
    missing_pages_reason: str = ""
    qa_warnings: tuple[str, ...] = ()
    chain_head: str | None = None
    section_rulings: tuple[str, ...] = ()
    batch_projections: tuple[tuple[str, Projection], ...] = ()
    declaration_warnings: tuple[str, ...] = ()


def certificate_title(result: str) -> str:
    """The certificate's title for a result."""
    if result in ("qualifies", "sufficient"):
        return "Certificate of Sufficiency"
    if result in ("fails", "insufficient"):
        return "Certificate of Insufficiency"
    if result == "full_count":
        return "Certificate of Random Sample Result: Full Count Required"
    raise ValueError(f"unknown result {result!r}")


_TRANSLIT = str.maketrans({
    "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2265": ">=", "\u2264": "<=", "\u2248": "~",
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2026": "...", "\u2308": "", "\u2309": "",
    "\u00b7": "*",
})


def _latin1(text: str) -> str:
    """Make `text` printable with the core fonts (Latin-1): common
    typographic characters become ASCII, anything else a '?'."""
    return str(text).translate(_TRANSLIT).encode("latin-1", "replace").decode("latin-1")


def _fmt(n) -> str:
    if n is None:
        return "-"
    if isinstance(n, Decimal):
        return f"{n:,}"
    return f"{n:,}" if isinstance(n, int) else str(n)


class _Pdf(FPDF):
    def __init__(self, footer_text: str):
        super().__init__(orientation="P", unit="mm", format="Letter")
        self._footer_text = footer_text
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(20, 18, 20)

    def footer(self):
        self.set_y(-13)
        self.set_font("Helvetica", size=7)
        self.cell(0, 5, _latin1(f"{self._footer_text}   Page {self.page_no()}/{{nb}}"), align="C")


def _row(pdf: FPDF, key: str, value: str, *, bold: bool = False, mono: bool = False) -> None:
    pdf.set_font("Helvetica", size=9)
    pdf.cell(62, 4.8, _latin1(key))
    if mono:
        # Hashes in a fixed-width face, small enough for 64 hex digits on one line.
        pdf.set_font("Courier", size=7.5)
    else:
        pdf.set_font("Helvetica", style="B" if bold else "", size=9)
    pdf.multi_cell(0, 4.8, _latin1(value), new_x="LMARGIN", new_y="NEXT")


def _heading(pdf: FPDF, text: str) -> None:
    pdf.ln(1.5)
    pdf.set_font("Helvetica", style="B", size=10.5)
    pdf.cell(0, 6, _latin1(text), new_x="LMARGIN", new_y="NEXT")
    pdf.set_draw_color(160, 160, 160)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.ln(1)


def _validate(d: CertificateData) -> None:
    for name in ("required", "raw_count", "valid_count", "duplicates"):
        v = getattr(d, name)
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise UserError(f"{name} must be a whole number 0 or more, got {v!r}", where="certificate")
    if d.method not in ("random_sample", "full_count"):
        raise UserError(f"method must be random_sample or full_count, got {d.method!r}", where="certificate")
    if d.method == "random_sample" and (d.sample_size is None or d.seed is None
                                        or (d.projection is None and not d.batch_projections)):
        raise UserError("a random-sample certificate needs the sample size, the seed and the projection",
                        where="certificate")
    certificate_title(d.result)
    bad = [c for c, k in d.invalid_by_reason.items() if not isinstance(k, int) or k < 0]
    if bad:
        raise UserError(f"invalid counts must be whole numbers 0 or more: {', '.join(bad)}", where="certificate")


def write_certificate(path: str | PathLike, data: CertificateData) -> None:
    """Write the certificate PDF to `path`, atomically.

    Parameters
    ----------
    path : str or PathLike
        Destination ``.pdf``; never left half-written.
    data : CertificateData

    Raises
    ------
    UserError
        Missing sampling inputs for a random-sample certificate, negative
        counts, or an unknown result.
    """
    _validate(data)
    title = certificate_title(data.result)
    pdf = _Pdf(f"{data.filing} - {title} - rule set {data.ruleset_id} v{data.ruleset_version}")
    pdf.alias_nb_pages()
    pdf.set_title(_latin1(f"{title}: {data.filing}"))
    pdf.set_creator("sigverify-workbench")
    pdf.add_page()

    pdf.set_font("Helvetica", style="B", size=15)
    pdf.multi_cell(0, 8, _latin1(title), align="C", new_x="LMARGIN", new_y="NEXT")
    if data.office:
        pdf.set_font("Helvetica", size=10)
        pdf.cell(0, 6, _latin1(data.office), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)

    _heading(pdf, "Filing")
    _row(pdf, "Filing", data.filing, bold=True)
    _row(pdf, "Kind", _KIND_LABEL.get(data.kind, data.kind))
    _row(pdf, "Jurisdiction", data.jurisdiction)
    if data.filed_on:
        _row(pdf, "Filed on", data.filed_on.isoformat())
    _row(pdf, "Rule set", f"{data.ruleset_id} version {data.ruleset_version}")
    if data.ruleset_hash:
        _row(pdf, "Rule set hash (SHA-256)", data.ruleset_hash, mono=True)
    _row(pdf, "Valid signatures required", _fmt(data.required), bold=True)
    _row(pdf, "Raw count (signed lines filed)", _fmt(data.raw_count), bold=True)

    if data.method == "random_sample":
        _heading(pdf, "Random sample (2 CCR sections 20510-20540)")
        _row(pdf, "Sample size", _fmt(data.sample_size), bold=True)
        _row(pdf, "Seed", data.seed or "", mono=True)
        if data.frame_hash:
            _row(pdf, "Frame hash (SHA-256)", data.frame_hash, mono=True)
        _row(pdf, "Method", "consistent-sampler tickets: SHA-256(sha256_hex(seed) + line id), "
                            "sampled in increasing ticket order")
    elif data.counted_in_full:
        _heading(pdf, "Full count (every signed line drawn into the random sample)")
        _row(pdf, "Lines verified", _fmt(data.raw_count), bold=True)
        _row(pdf, "Sample size", _fmt(data.sample_size))
        _row(pdf, "Seed", data.seed or "", mono=True)
        if data.frame_hash:
            _row(pdf, "Frame hash (SHA-256)", data.frame_hash, mono=True)
        _row(pdf, "Method", "counted, not projected: the sample is the whole raw count")
    else:
        _heading(pdf, "Full count")
        _row(pdf, "Lines verified", _fmt(data.raw_count))
        if data.frame_hash:
            _row(pdf, "Frame hash (SHA-256)", data.frame_hash, mono=True)

    scope = "in the sample" if data.method == "random_sample" else "in the full count"
    _heading(pdf, f"Verification results {scope}")
    _row(pdf, "Valid", _fmt(data.valid_count), bold=True)
    total_invalid = sum(data.invalid_by_reason.values())
    _row(pdf, "Invalid (all reasons)", _fmt(total_invalid), bold=True)
    known = [c for c in REASONS if c in data.invalid_by_reason]
    unknown = sorted(c for c in data.invalid_by_reason if c not in REASONS)
    for code in known + unknown:
        _row(pdf, f"    {label(code)}", f"{_fmt(data.invalid_by_reason[code])}   [{code}]")
    if data.method == "random_sample":
        # Duplicates within the sample are genuine signatures counted once
        # each among the valid; the projection subtracts their estimate.
        _row(pdf, "Duplicates found within the sample", _fmt(data.duplicates))

    if data.projection is not None:
        _heading(pdf, "Projection (2 CCR sections 20530-20532)")
        for key, value in data.projection.steps():
            _row(pdf, key, value, bold=key == "Projected valid")
    for name, proj in data.batch_projections:
        _heading(pdf, f"Projection, {name} (its own frame; 2 CCR sections 20530-20532)")
        for key, value in proj.steps():
            _row(pdf, key, value, bold=key == "Projected valid")

    _heading(pdf, "Outcome")
    if data.outcome is not None:
        _row(pdf, "Percent of required", f"{data.outcome.percent_of_required} %")
        _row(pdf, "Determination", data.outcome.explain())
    elif data.method == "full_count":
        _row(pdf, "Determination", f"{_fmt(data.valid_count)} valid against {_fmt(data.required)} required")
    _row(pdf, "Result", data.result.replace("_", " ").upper(), bold=True)
    if data.notes:
        _row(pdf, "Notes", data.notes)
    if data.unread_pages:
        _heading(pdf, "Pages not in the raw count")
        for item in data.unread_pages:
            _row(pdf, "    Unaccounted for", item)
        _row(pdf, "Certified regardless because", data.missing_pages_reason or "-", bold=True)
    for items, heading, row_name in (
            (data.section_rulings, "Sections ruled invalid as a whole", "Section"),
            (data.declaration_warnings, "Circulators' declarations not in order (no section ruling)", "Declaration"),
            (data.qa_warnings, "Quality audits not completed", "Warning")):
        if items:
            _heading(pdf, heading)
            for item in items:
                _row(pdf, f"    {row_name}", item)
    if data.chain_head:
        # An outside anchor: `petitions verify-log --anchor HASH` shows whether
        # the record behind this certificate was rewritten afterwards.
        _heading(pdf, "Record")
        _row(pdf, "Event log chain head", data.chain_head, mono=True)

    # The attestation (statement, signature line, name, title, date) stays
    # together on one page: start a new page if it would not fit.
    if pdf.get_y() + 42 > pdf.h - pdf.b_margin:
        pdf.add_page()
    pdf.ln(6)
    pdf.set_font("Helvetica", size=9)
    pdf.multi_cell(0, 5, _latin1(
        f"I certify that the petition named above was examined as stated in this certificate and "
        f"that the result is: {data.result.replace('_', ' ')}."), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(12)
    y = pdf.get_y()
    pdf.line(pdf.l_margin, y, pdf.l_margin + 95, y)
    pdf.line(pdf.l_margin + 115, y, pdf.w - pdf.r_margin, y)
    pdf.set_font("Helvetica", size=8)
    pdf.cell(115, 5, _latin1(f"{data.official_name or 'Signature'}, {data.official_title}"))
    pdf.cell(0, 5, _latin1(f"Date: {data.certified_on.isoformat()}"), new_x="LMARGIN", new_y="NEXT")

    with atomic_path(path) as tmp:
        pdf.output(str(tmp))
