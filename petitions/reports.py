"""Reports: the certificate, tallies, CSV exports and the proponents' inspection.

* :func:`certify` — the certificate of sufficiency / insufficiency (PDF,
  :mod:`petitions.certificate`) from :func:`petitions.counting.count_result`,
  refused while lines of the count still wait for review; logged with the
  numbers and the PDF's SHA-256.
* :func:`tallies` — per-section and per-circulator counts.
* :func:`export_lines_csv` — every line with its state, determination, final
  status and reason (an internal record: petitions are not public records).
* :func:`proponent_export` — for the proponents of an insufficient petition
  (Gov. Code §7924.110): the disqualified lines only, each with its reason
  and its crops. Never party, birth date or other voter data; nothing about
  valid lines.
* :func:`export_events_csv` — the hash-chained audit trail.

Every file is written atomically (:mod:`petitions.atomic`).
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from petitions.atomic import atomic_path, atomic_write, file_sha256
from petitions.errors import UserError
from petitions.law.reasons import REASONS, label as reason_label
from petitions.status import line_status
from petitions.store import Workspace
from petitions.store import reports as reports_db
from petitions.store import samples as samples_db

__all__ = ["CertifyResult", "Tallies", "count_lines", "certificate_data", "certify", "tallies",
           "export_lines_csv", "export_tallies_csv", "proponent_export", "ProponentExport", "export_events_csv",
           "write_report"]




def _counts_in_raw(code: str | None) -> bool:
    r = REASONS.get(code or "")
    return r.counts_in_raw if r else True


# ---------------------------------------------------------------------------
# The lines the count rests on
# ---------------------------------------------------------------------------
def count_lines(ws: Workspace, filing_id: int, *, status: pl.DataFrame | None = None) -> pl.DataFrame:
    """The lines the filing's count rests on, each with the status it counts as.

    For a sampled filing the count sample's lines (a line flagged only as a
    duplicate of a line outside the sample counts as valid, as in
    :func:`petitions.counting.count_result`); otherwise every signed line.

    Returns
    -------
    pl.DataFrame
        :func:`petitions.status.line_status` columns plus ``count_status``
        (``valid`` / ``invalid`` / ``needs_review``) and ``sample_rank``
        (null in a full count), in sample order or filing order.
    """
    from petitions.counting import _sample_validity, sample_items

    status = line_status(ws, filing_id) if status is None else status
    items = sample_items(ws, filing_id)
    if items.height:
        s = _sample_validity(items.select("line_db_id", pl.col("rank").alias("sample_rank"))
                             .join(status, on="line_db_id", how="left").sort("sample_rank"))
        return s.rename({"sample_status": "count_status"})
    return (status.filter(pl.col("state") == "signed")
            .with_columns(pl.col("status").alias("count_status"), pl.lit(None, pl.Int64).alias("sample_rank")))


# ---------------------------------------------------------------------------
# Certificate
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class CertifyResult:
    result: str
    path: Path
    sha256: str
    event_id: int
    data: "object"   # petitions.certificate.CertificateData
    qa_warnings: tuple = ()


def certificate_data(ws: Workspace, filing_id: int, *, official_name: str = "",
                     official_title: str = "Elections Official", office: str = "",
                     certified_on: _dt.date | None = None, accept_missing_pages: str | None = None):
    """The :class:`petitions.certificate.CertificateData` for the filing as it stands.

    Parameters
    ----------
    accept_missing_pages : str, optional
        A supervisor's recorded reason to certify although pages of the
        filing failed to read or page / section numbers are missing.

    Raises
    ------
    UserError
        The filing has no required count; its certificate is in force (a
        second one needs the filing reopened first); the random sample's
        frozen frame is not the filing's current set of signed lines (void
        and redraw); pages are unaccounted for (unread, or gaps in the
        numbering) and no reason was given; or lines of the count still
        wait for review (a full count may stop early once the requirement
        is met when the rule set allows it, EC 9115(b)).
    """
    from petitions.certification import certification_state
    from petitions.law.sampling import frame_hash as _frame_hash
    from petitions.counting import numbering_gaps, unread_pages
    from petitions.certificate import CertificateData
    from petitions.counting import count_result
    from petitions.stages.filings import get_filing
    from petitions.law.projection import full_count_outcome, outcome, project

    filing = get_filing(ws, filing_id)
    rs = filing.ruleset
    if not filing.required:
        raise UserError("the filing has no required number of valid signatures; set it before certifying",
                        where=filing.name)
    st = certification_state(ws, filing_id)
    if st["state"] == "certified":
        c = st["certificate"]
        raise UserError(f"the filing was already certified {str(c.get('result')).replace('_', ' ')} on "
                        f"{c['ts'][:10]} by {c['user']}; a second certificate needs the filing reopened first "
                        "(petitions reopen --reason TEXT)", where=filing.name)
    status = line_status(ws, filing_id)
    res = count_result(ws, filing_id, status=status)
    if res.seed is not None and res.frame_current is False:
        added = (f"{res.lines_outside_frame:,} signed line(s) were added after the sample was drawn"
                 + (f" (first {res.outside_frame[0]})" if res.outside_frame else "")) if res.lines_outside_frame \
            else "the filing's signed lines changed after the sample was drawn"
        raise UserError(f"the random sample's frame {res.frame_hash[:12]}… ({res.raw_count:,} lines) is not the "
                        f"filing's current set of signed lines: {added}; void the sample with a reason and draw "
                        "again (petitions sample --void --reason TEXT)", where=filing.name)
    unread, gaps = unread_pages(ws, filing_id), numbering_gaps(ws, filing_id)
    missing = [f"{u['file']}" + (f", page {u['page']}" if u["page"] is not None else "") + f": {u['error']}"
               for u in unread]
    missing += [f"section {n} missing" for n in gaps["sections"]]
    missing += [f"section {g['section']}: page(s) {', '.join(map(str, g['missing']))} missing" for g in gaps["pages"]]
    if missing and not (accept_missing_pages or "").strip():
        raise UserError(f"{len(missing)} page(s) or section(s) of the filing are unaccounted for, so their lines "
                        f"are not in the raw count ({missing[0]}); ingest them, or certify with "
                        "--accept-missing-pages REASON", where=filing.name)
    signed_labels = status.filter(pl.col("state") == "signed").sort("seq")["line_id"].to_list()
    lines = count_lines(ws, filing_id, status=status)
    invalid = lines.filter(pl.col("count_status") == "invalid")
    by_reason: dict[str, int] = {}
    for code, n in invalid.group_by("reason").len().sort("reason").iter_rows():
        if _counts_in_raw(code):
            by_reason[code or "other"] = by_reason.get(code or "other", 0) + int(n)
    notes = ""
    from petitions.law.reasons import label as _label
    from petitions.sections import section_rulings_in_force

    ruled_sections = tuple(
        f"{r['section']}: {_label(r['reason_code'])} [{r['reason_code']}], {r['signed_lines']:,} signed line(s); "
        f"ruled by {r['ruled_by']} on {r['created_at'][:10]}: {r['reason']}"
        for r in section_rulings_in_force(ws, filing_id))
    common = dict(filing=filing.name, kind=filing.kind,
                  jurisdiction=filing.jurisdiction + (f", {filing.district}" if filing.district else ""),
                  required=int(filing.required), raw_count=res.raw_count, ruleset_id=rs.id,
                  ruleset_version=str(rs.version), ruleset_hash=rs.content_hash, official_name=official_name,
                  official_title=official_title, office=office, filed_on=filing.filing_date,
                  certified_on=certified_on or _dt.date.today(), unread_pages=tuple(missing),
                  missing_pages_reason=(accept_missing_pages or "").strip() if missing else "",
                  section_rulings=ruled_sections)
    if res.batches:
        return _batched_certificate(res, filing, common, by_reason)
    if res.method == "random_sample":
        if res.sample_pending:
            raise UserError(f"{res.sample_pending:,} line(s) of the random sample still need review; "
                            "rule on them before certifying", where=filing.name)
        proj = project(res.raw_count, res.sample_size, res.sample_valid, res.sample_duplicates)
        out = outcome(proj.projected_valid, filing.required, rs.bands)
        return CertificateData(**common, method="random_sample", valid_count=res.sample_valid,
                               invalid_by_reason=by_reason, duplicates=res.sample_duplicates, result=out.result,
                               sample_size=res.sample_size, seed=res.seed, frame_hash=res.frame_hash,
                               projection=proj, outcome=out)
    if res.counted_in_full:
        # Every signed line was drawn: counted, not projected (a full count).
        if res.pending:
            raise UserError(f"{res.pending:,} line(s) of the random sample still need review; "
                            "rule on them before certifying", where=filing.name)
        if res.sample_duplicates:
            by_reason["duplicate"] = by_reason.get("duplicate", 0) + int(res.sample_duplicates)
        return CertificateData(**common, method="full_count", valid_count=res.valid, invalid_by_reason=by_reason,
                               duplicates=by_reason.get("duplicate", 0),
                               result=full_count_outcome(res.valid, filing.required), sample_size=res.sample_size,
                               seed=res.seed, frame_hash=res.frame_hash, counted_in_full=True,
                               notes=f"Every one of the {res.raw_count:,} signed lines was drawn into the random "
                                     "sample, so the lines were counted, not projected: a full count.")
    if res.pending:
        if not (rs.sampling.early_stop and res.valid >= filing.required):
            raise UserError(f"{res.pending:,} signed line(s) still need review; a full count is certified once "
                            "every line is ruled on (or, where the rule set allows, once the requirement is met)",
                            where=filing.name)
        notes = (f"Counting stopped once the requirement was met (EC 9115(b)); {res.pending:,} line(s) were "
                 "not examined.")
    return CertificateData(**common, method="full_count", valid_count=res.valid, invalid_by_reason=by_reason,
                           duplicates=by_reason.get("duplicate", 0),
                           result=full_count_outcome(res.valid, filing.required), notes=notes,
                           frame_hash=_frame_hash(signed_labels) if signed_labels else None)


def certify(ws: Workspace, filing_id: int, *, user: str, out_pdf: str | os.PathLike, official_name: str,
            official_title: str = "Elections Official", office: str = "",
            accept_missing_pages: str | None = None) -> CertifyResult:
    """Certify the filing's result: write the PDF and log a ``certified`` event.

    Parameters
    ----------
    user : str
        A supervisor.
    out_pdf : path-like
        Where the certificate goes; written atomically, and only if the
        event is logged too.
    official_name, official_title, office : str
        Printed on the signature line and under the title.
    accept_missing_pages : str, optional
        Why the filing is certified although pages are unaccounted for
        (printed on the certificate and recorded in the event).

    Returns
    -------
    CertifyResult
        ``result`` (``qualifies`` / ``full_count`` / ``fails`` for a sample,
        ``sufficient`` / ``insufficient`` for a full count), the PDF's path
        and SHA-256, the event id, the frame certified (``data.frame_hash``)
        and ``qa_warnings``: the rule set's QA audits not done (also printed
        on the certificate and recorded in the event).
    """
    from dataclasses import replace

    from petitions.audit import qa_status
    from petitions.certificate import write_certificate
    from petitions.store import certification as cert_db

    role = ws.user_role(user)
    if role is None:
        raise UserError(f"unknown user {user!r}; add them to the workspace first")
    if role != "supervisor":
        raise UserError(f"{user} is a reviewer; only a supervisor may certify a filing")
    if not (official_name or "").strip():
        raise UserError("say who certifies: the official's name is printed on the certificate")
    out_pdf = Path(out_pdf)
    # The PDF is renamed into place only after the event is written, and the
    # event rolls back if the file cannot be: neither exists without the other.
    # The numbers are read inside the same write transaction, so no ruling
    # (nor a second certify) slips in between the count and its certificate.
    with ws.transaction():
        cert_db.hold_log(ws)
        data = certificate_data(ws, filing_id, official_name=official_name, official_title=official_title,
                                office=office, accept_missing_pages=accept_missing_pages)
        from petitions.sections import declaration_warnings

        data = replace(data, qa_warnings=tuple(qa_status(ws, filing_id)["warnings"]),
                       chain_head=_verified_head(ws),
                       declaration_warnings=tuple(declaration_warnings(ws, filing_id)))
        with atomic_path(out_pdf) as tmp:
            write_certificate(tmp, data)
            digest = file_sha256(tmp)
            payload = {
                "result": data.result, "method": data.method, "raw_count": data.raw_count,
                "required": data.required, "valid": data.valid_count, "invalid_by_reason": data.invalid_by_reason,
                "duplicates": data.duplicates, "sample_size": data.sample_size, "seed": data.seed,
                "frame_hash": data.frame_hash,
                "projected_valid": data.projection.projected_valid if data.projection else (
                    data.outcome.projected if data.batch_projections and data.outcome else None),
                "batch_projections": {n: p.projected_valid for n, p in data.batch_projections},
                "percent_of_required": str(data.outcome.percent_of_required) if data.outcome else None,
                "ruleset": data.ruleset_id, "ruleset_version": data.ruleset_version,
                "ruleset_hash": data.ruleset_hash, "official": data.official_name,
                "official_title": data.official_title, "certified_on": data.certified_on.isoformat(),
                "pdf": str(out_pdf), "pdf_sha256": digest, "notes": data.notes,
                "counted_in_full": data.counted_in_full, "qa_warnings": list(data.qa_warnings),
                "unaccounted_pages": list(data.unread_pages), "accept_missing_pages": data.missing_pages_reason,
                "chain_head": data.chain_head, "section_rulings": list(data.section_rulings),
                "declaration_warnings": list(data.declaration_warnings),
            }
            eid = ws.log_event("certified", user=user, filing_id=filing_id, payload=payload)
    return CertifyResult(data.result, out_pdf, digest, eid, data, data.qa_warnings)


def _batched_certificate(res, filing, common: dict, by_reason: dict):
    """The certificate of a filing sampled per batch: every batch drawn and
    its sample ruled on; each batch's report in the notes, the combined
    count (the sum of the batches') against the requirement."""
    from petitions.certificate import CertificateData
    from petitions.law.projection import full_count_outcome, outcome, project

    not_drawn = [str(b["batch"]) for b in res.batches if not b["sampled"]]
    if not_drawn:
        raise UserError(f"batch(es) {', '.join(not_drawn)} have no sample yet; each batch is sampled on its own frame "
                        "(petitions sample --batch N) before the filing is certified", where=filing.name)
    if res.sample_pending:
        raise UserError(f"{res.sample_pending:,} line(s) of the batches' samples still need review; rule on them "
                        "before certifying", where=filing.name)
    notes = "Sampled per batch, each batch on its own frozen frame: " + "; ".join(
        f"batch {b['batch']} (sections {', '.join(map(str, b['sections']))}): "
        + (f"all {b['raw_count']:,} lines drawn, counted {b['valid']:,} valid" if b["counted_in_full"] else
           f"{b['sample_size']:,} of {b['raw_count']:,} drawn with seed {b['seed']}, valid {b['sample_valid']:,}, "
           f"duplicates {b['sample_duplicates']}, projected {b['valid']:,}")
        + f", frame {str(b['frame_hash'])[:16]}" for b in res.batches) + ". The filing's count is their sum."
    if res.counted_in_full:
        return CertificateData(**common, method="full_count", valid_count=res.valid, invalid_by_reason=by_reason,
                               duplicates=res.sample_duplicates, result=full_count_outcome(res.valid, filing.required),
                               sample_size=res.sample_size, seed=res.seed, frame_hash=res.frame_hash,
                               counted_in_full=True, notes=notes)
    total = int(res.projection["projected_valid"])
    out = outcome(total, filing.required, filing.ruleset.bands)
    projections = tuple((f"batch {b['batch']}", project(b["raw_count"], b["sample_size"], b["sample_valid"],
                                                         b["sample_duplicates"]))
                        for b in res.batches if not b["counted_in_full"])
    return CertificateData(**common, method="random_sample", valid_count=res.sample_valid, invalid_by_reason=by_reason,
                           duplicates=res.sample_duplicates, result=out.result, sample_size=res.sample_size,
                           seed=res.seed, frame_hash=res.frame_hash, outcome=out, batch_projections=projections,
                           notes=notes + f" Projected valid, all batches: {total:,}.")


def _verified_head(ws: Workspace) -> str | None:
    """Verify the event log and the state it records before a certificate
    rests on them; the chain head to print on it."""
    from petitions.integrity import verify_state

    check = ws.verify_chain()
    if not check.ok:
        raise UserError(f"the event log does not verify (event {check.first_bad_id}: {check.problem}); "
                        "nothing is certified on an altered record")
    state = verify_state(ws)
    if not state.ok:
        raise UserError("the stored state does not match the event log (" + "; ".join(state.problems[:3])
                        + "); nothing is certified on an altered record")
    return check.head


def last_certification(ws: Workspace, filing_id: int) -> dict | None:
    """The payload of the filing's newest ``certified`` event (None if never
    certified), with ``superseded``: None while it holds, or the reopening
    (``ts``, ``user``, ``reason``) that superseded it."""
    from petitions.certification import certification_state

    st = certification_state(ws, filing_id)
    if st["certificate"] is None:
        return None
    cert = {k: v for k, v in st["certificate"].items() if k not in ("event_id", "ts", "user")}
    r = st["reopened"]
    cert["superseded"] = None if r is None else {"ts": r["ts"], "user": r["user"], "reason": r.get("reason")}
    return cert


# ---------------------------------------------------------------------------
# Tallies
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Tallies:
    """Counts per section and per circulator.

    Both frames have ``lines`` (signed lines), ``valid`` (of which
    ``auto_accepted`` and ``accepted_by_person``, the names every screen
    uses), ``invalid``,
    ``pending`` (needs review), ``not_counted`` (blank or struck lines) and
    one ``invalid_<code>`` column per reason code found. ``sections`` starts
    with ``section`` and ``circulator``; ``circulators`` with ``circulator``
    and ``sections`` (how many sections they circulated).
    """

    sections: pl.DataFrame
    circulators: pl.DataFrame


def tallies(ws: Workspace, filing_id: int) -> Tallies:
    """Per-section and per-circulator counts of every line's final status."""
    status = line_status(ws, filing_id)
    circ = pl.DataFrame(reports_db.circulators(ws, filing_id),
                        schema={"section": pl.Int64, "circulator": pl.String}, orient="row")
    st = status.join(circ, on="section", how="left").with_columns(pl.col("circulator").fill_null("(unknown)"))
    signed = pl.col("state") == "signed"
    codes = [c for c in REASONS if REASONS[c].counts_in_raw and
             c in set(st.filter(signed & (pl.col("status") == "invalid"))["reason"].fill_null("other").to_list())]
    aggs = [
        signed.sum().alias("lines"),
        (signed & (pl.col("status") == "valid")).sum().alias("valid"),
        (signed & (pl.col("status") == "valid") & (pl.col("level") == "auto")).sum().alias("auto_accepted"),
        (signed & (pl.col("status") == "valid") & (pl.col("level") != "auto")).sum().alias("accepted_by_person"),
        (signed & (pl.col("status") == "invalid")).sum().alias("invalid"),
        (signed & (pl.col("status") == "needs_review")).sum().alias("pending"),
        (~signed).sum().alias("not_counted"),
        *[(signed & (pl.col("status") == "invalid") & (pl.col("reason").fill_null("other") == c)).sum()
          .alias(f"invalid_{c}") for c in codes],
    ]
    counts = [c for c in ("lines", "valid", "auto_accepted", "accepted_by_person", "invalid", "pending", "not_counted",
                          *[f"invalid_{c}" for c in codes])]
    by_section = (circ.join(st.group_by("section").agg(aggs), on="section", how="left")
                  .with_columns([pl.col(c).fill_null(0).cast(pl.Int64) for c in counts]).sort("section"))
    by_circ = (st.group_by("circulator").agg(pl.col("section").n_unique().alias("sections"), *aggs)
               .with_columns([pl.col(c).cast(pl.Int64) for c in counts]).sort("circulator"))
    return Tallies(by_section, by_circ)


def export_tallies_csv(ws: Workspace, filing_id: int, path: str | os.PathLike) -> Path:
    """Write both tallies as one CSV: ``level`` (``section`` / ``circulator``),
    ``section`` (blank for circulators), ``circulator``, then the counts."""
    t = tallies(ws, filing_id)
    sec = t.sections.with_columns(pl.lit("section").alias("level"))
    cir = t.circulators.drop("sections").with_columns(pl.lit("circulator").alias("level"),
                                                       pl.lit(None, pl.Int64).alias("section"))
    df = pl.concat([sec, cir.select(sec.columns)], how="vertical")
    df = df.select("level", "section", "circulator", *[c for c in df.columns if c not in ("level", "section", "circulator")])
    path = Path(path)
    with atomic_path(path) as tmp:
        df.write_csv(tmp)
    return path


# ---------------------------------------------------------------------------
# Line export
# ---------------------------------------------------------------------------
LINE_COLUMNS = ("line_id", "section", "page", "line", "state", "determination", "suspected_reasons", "status",
                "level", "reason_code", "reason_label", "match_score", "signature_score", "voter_id",
                "sample_rank")


def export_lines_csv(ws: Workspace, filing_id: int, path: str | os.PathLike) -> Path:
    """Every line of the filing, in filing order, as CSV.

    Columns: ``line_id`` (label), ``section``, ``page``, ``line``, ``state``
    (signed / blank / struck), ``determination`` (triage's), ``suspected_reasons``
    (triage's, ``;``-separated), ``status`` (final: valid / invalid /
    needs_review), ``level`` (auto / ruled / review / second_opinion /
    escalated), ``reason_code``, ``reason_label``, ``match_score``,
    ``signature_score``, ``voter_id``, ``sample_rank`` (rank in the count
    sample, blank if not sampled). Internal: contains voter ids.
    """
    from petitions.counting import sample_items

    st = line_status(ws, filing_id)
    ranks = sample_items(ws, filing_id).select("line_db_id", pl.col("rank").alias("sample_rank"))
    df = (st.join(ranks, on="line_db_id", how="left").sort("seq").select(
        "line_id", "section", "page", pl.col("number").alias("line"), "state", "determination",
        pl.col("det_reasons").list.join(";").alias("suspected_reasons"), "status", "level",
        pl.col("reason").alias("reason_code"),
        pl.col("reason").replace({c: r.label for c, r in REASONS.items()}).alias("reason_label"),
        "match_score", pl.col("sig_score").alias("signature_score"), "voter_id", "sample_rank"))
    path = Path(path)
    with atomic_path(path) as tmp:
        df.write_csv(tmp)
    return path


def export_events_csv(ws: Workspace, path: str | os.PathLike, *, filing_id: int | None = None) -> Path:
    """The event log (the audit trail) as CSV, oldest first.

    Columns: ``id, ts, user, kind, filing_id, line_id, payload_json,
    prev_hash, hash`` — exactly as stored, so the chain can be re-verified
    from the file. With `filing_id`, only that filing's events (the chain
    then has gaps; verify with ``petitions verify-log`` on the workspace).
    """
    import csv

    cols = reports_db.EVENT_COLUMNS
    rows = reports_db.events(ws, filing_id)
    path = Path(path)
    with atomic_write(path) as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        for row in rows:
            w.writerow(["" if row[c] is None else row[c] for c in cols])
    return path


def write_report(ws: Workspace, filing_id: int, out_dir: str | os.PathLike, *,
                 user: str | None = None) -> dict[str, Path]:
    """``lines.csv``, ``tallies.csv``, ``events.csv``, ``sample.csv``,
    ``missing_pages.csv`` and ``chain_head.txt`` in `out_dir` (no certificate).

    The export of signer data is an event naming `user` (on a server, the
    signed-in login), with the chain head the files were written against.
    Every signer's line with its voter id: a supervisor's export (on a
    server the database refuses a reviewer's login the voter file too).
    """
    who = ws.acting_user(user)
    ws.require_supervisor(who or "", "export the report (every line with its voter)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"lines": export_lines_csv(ws, filing_id, out / "lines.csv"),
             "tallies": export_tallies_csv(ws, filing_id, out / "tallies.csv"),
             "events": export_events_csv(ws, out / "events.csv"),
             "sample": export_sample_csv(ws, filing_id, out / "sample.csv"),
             "missing_pages": export_missing_pages_csv(ws, filing_id, out / "missing_pages.csv")}
    head = ws.verify_chain().head
    with atomic_write(out / "chain_head.txt") as fh:
        fh.write(f"{head or ''}\n")
    paths["chain_head"] = out / "chain_head.txt"
    if who:
        with ws.transaction():
            ws.log_event("report_exported", user=who, filing_id=filing_id,
                         payload={"folder": str(out), "files": sorted(paths), "chain_head": head})
    return paths


def export_missing_pages_csv(ws: Workspace, filing_id: int, path: str | os.PathLike) -> Path:
    """What the raw count may be missing, one row each: ``kind``
    (``unread_page`` — a page of a scan that failed to read or segment;
    ``missing_section`` / ``missing_page`` — a gap in the numbering),
    ``file``, ``section``, ``page``, ``error``. Header only when nothing is
    missing."""
    import csv

    from petitions.counting import numbering_gaps, unread_pages

    rows = [{"kind": "unread_page", **u} for u in unread_pages(ws, filing_id)]
    gaps = numbering_gaps(ws, filing_id)
    rows += [{"kind": "missing_section", "file": "", "section": n, "page": "", "error": ""} for n in gaps["sections"]]
    rows += [{"kind": "missing_page", "file": "", "section": g["section"], "page": p, "error": ""}
             for g in gaps["pages"] for p in g["missing"]]
    with atomic_write(path) as fh:
        w = csv.DictWriter(fh, fieldnames=["kind", "file", "section", "page", "error"])
        w.writeheader()
        w.writerows([{k: ("" if v is None else v) for k, v in r.items()} for r in rows])
    return Path(path)


def export_sample_csv(ws: Workspace, filing_id: int, path: str | os.PathLike) -> Path:
    """The published random sample: round, rank, line id and ticket, with the
    seed and the frame's hash on every row, so an observer can recompute it
    (``petitions sample-tickets`` or the reference ``consistent-sampler``)."""
    import csv

    from petitions.atomic import atomic_write

    rows = samples_db.published_items(ws, filing_id)
    cols = ["round", "rank", "line_id", "ticket", "seed", "frame_hash", "frame_size"]
    if any(r["batch"] is not None for r in rows):
        cols = ["batch", *cols]   # a filing in batches: each batch's own sample, ranks per batch
    with atomic_write(path) as fh:
        w = csv.DictWriter(fh, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    return Path(path)


# ---------------------------------------------------------------------------
# Proponents' inspection (Gov. Code §7924.110)
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ProponentExport:
    out_dir: Path
    lines: int
    images: int
    result: str


_CROPS = (("signature", "signature_hash"), ("printed_name", "name_hash"), ("address", "address_hash"))
_README = """Disqualified lines of {filing}

Prepared for the proponents' inspection under Gov. Code section 7924.110.
Result certified: {result} ({method}).

disqualified_lines.csv  one row per line found invalid: line id, section,
                        page, line, reason code and reason.
index.csv               the same lines with the image files of their
                        signature, printed name and address crops.
crops/                  the crops, as PNG images.
SHA256SUMS              checksums of every file here.

This is a read-only copy. Petitions are not public records: do not publish.
"""


def proponent_export(ws: Workspace, filing_id: int, out_dir: str | os.PathLike, *,
                     user: str | None = None) -> ProponentExport:
    """The disqualified lines of an insufficient petition, for its proponents.

    Only lines of the count found invalid (in a sampled count, the sample's
    invalid lines — the others were never examined), each with its reason
    code, reason and the signature, printed-name and address crops. Nothing
    else: no voter ids, no voter-file data (never party, birth date or other
    demographics), nothing about valid lines. Files are made read-only and
    listed with checksums in ``SHA256SUMS``.

    Parameters
    ----------
    out_dir : path-like
        A new (or empty) folder; built beside it and renamed into place, so
        it is never left half-written.
    user : str, optional
        Who made the export, for the event log (default: the certifier).

    Raises
    ------
    UserError
        The filing has not been certified, or was certified as anything but
        insufficient (``fails`` / ``insufficient``); or `out_dir` is not empty.
    """
    from petitions.stages.filings import get_filing

    if user is not None:
        ws.require_supervisor(user, "export the disqualified lines for the proponents")
    filing = get_filing(ws, filing_id)
    cert = last_certification(ws, filing_id)
    if cert is None:
        raise UserError("the filing has not been certified; proponents may inspect the disqualified lines of a "
                        "petition certified insufficient", where=filing.name)
    if cert["superseded"]:
        raise UserError("the filing's certificate was superseded (reopened); proponents may inspect the "
                        "disqualified lines once it is certified again", where=filing.name)
    if cert["result"] not in ("fails", "insufficient"):
        raise UserError(f"the filing was certified {cert['result'].replace('_', ' ')}; the proponents' inspection "
                        "applies to an insufficient petition", where=filing.name)
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError("the output folder must be new or empty", where=str(out))
    not_signatures = [c for c, r in REASONS.items() if not r.counts_in_raw]
    lines = count_lines(ws, filing_id).filter(
        (pl.col("count_status") == "invalid") & ~pl.col("reason").fill_null("other").is_in(not_signatures)).sort("seq")
    ids = lines["line_db_id"].to_list()
    hashes = {r["id"]: r for r in reports_db.crop_hashes(ws, ids)}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent))
    try:
        (tmp / "crops").mkdir()
        disq, index = [], []
        n_images = 0
        for r in lines.iter_rows(named=True):
            code = r["reason"] or "other"
            base = {"line_id": r["line_id"], "section": r["section"], "page": r["page"], "line": r["number"],
                    "reason_code": code, "reason": reason_label(code)}
            disq.append(base)
            files = {}
            for part, col in _CROPS:
                digest = hashes[r["line_db_id"]][col]
                src = ws.crops.path(digest) if digest else None
                if src is not None and src.exists():
                    name = f"crops/{r['line_id']}_{part}.png"
                    shutil.copyfile(src, tmp / name)
                    files[part] = name
                    n_images += 1
                else:
                    files[part] = ""
            index.append({"line_id": r["line_id"], "reason_code": code, "reason": reason_label(code),
                          "signature_png": files["signature"], "printed_name_png": files["printed_name"],
                          "address_png": files["address"]})
        schema_d = {"line_id": pl.String, "section": pl.Int64, "page": pl.Int64, "line": pl.Int64,
                    "reason_code": pl.String, "reason": pl.String}
        pl.DataFrame(disq, schema=schema_d, orient="row").write_csv(tmp / "disqualified_lines.csv")
        schema_i = {"line_id": pl.String, "reason_code": pl.String, "reason": pl.String,
                    "signature_png": pl.String, "printed_name_png": pl.String, "address_png": pl.String}
        pl.DataFrame(index, schema=schema_i, orient="row").write_csv(tmp / "index.csv")
        (tmp / "README.txt").write_text(_README.format(filing=filing.name, result=cert["result"].replace("_", " "),
                                                       method=cert["method"].replace("_", " ")), encoding="utf-8")
        files = sorted(p for p in tmp.rglob("*") if p.is_file())
        (tmp / "SHA256SUMS").write_text("".join(f"{file_sha256(p)}  {p.relative_to(tmp).as_posix()}\n" for p in files),
                                        encoding="utf-8")
        for p in tmp.rglob("*"):
            if p.is_file():
                p.chmod(0o444)
        who = user or cert.get("official") or "unknown"
        # The folder is renamed into place last, inside the transaction that
        # logs the disclosure: neither happens without the other.
        with ws.transaction():
            ws.log_event("proponent_export", user=who, filing_id=filing_id,
                         payload={"out_dir": str(out), "lines": len(disq), "images": n_images,
                                  "certified_result": cert["result"],
                                  "sha256sums": file_sha256(tmp / "SHA256SUMS")})
            if out.exists():
                out.rmdir()  # empty, checked above
            os.replace(tmp, out)
    except BaseException:
        if tmp.exists():
            for p in tmp.rglob("*"):
                if p.is_file():
                    p.chmod(0o644)
            shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ProponentExport(out, len(disq), n_images, cert["result"])
