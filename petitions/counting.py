"""Raw count, random samples stored in the workspace, and the filing's result.

The math lives in :mod:`petitions.law.sampling` and :mod:`petitions.law.projection`
(pure, importable by observers); this module feeds them from the store and
records what was drawn: seed (a string, always), frame hash, frame size and
every ticket, so an observer can recompute the sample from published inputs.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import polars as pl

from petitions.errors import UserError
from petitions.status import line_status
from petitions.store import Workspace, canonical_json, now_utc
from petitions.store import certification as cert_db
from petitions.store import reports as reports_db
from petitions.store import samples as samples_db
from petitions.store import sections as sections_db


def sampling_frame(ws: Workspace, filing_id: int) -> list[str]:
    """The raw count's lines: every signed line filed, in filing order
    (blank and struck lines excluded, 2 CCR §20510)."""
    return samples_db.signed_labels(ws, filing_id)


@dataclass
class SampleInfo:
    sample_id: int
    round: int
    seed: str
    frame_hash: str
    frame_size: int
    size: int
    total_drawn: int
    items: list[tuple[str, str]] = field(default_factory=list)


def draw_sample(ws: Workspace, filing_id: int, *, seed: str, user: str, size: int | None = None,
                purpose: str = "count", batch: int | None = None) -> SampleInfo:
    """Draw (or extend) the filing's random sample with the public-seed
    construction of shared/DOMAIN.md. Round 1 takes the rule set's sample
    size unless `size` is given; later rounds take `size` more lines from the
    same ticket order. The seed must stay the same across rounds, and so must
    the frame (its hash is checked).

    A filing that comes in batches (sections ingested with a batch number,
    e.g. a recall's submissions) is sampled per batch: `batch` names whose
    frame (that batch's signed lines) the sample is drawn from; each batch
    has its own frozen frame, rounds, seed and report
    (:func:`count_result` combines them)."""
    from petitions.stages.filings import get_filing
    from petitions.law.sampling import draw_sample as draw_sample_ids
    from petitions.law.sampling import frame_hash, sample_size

    from petitions.certification import require_unlocked

    if purpose != "count":
        raise UserError("QA audit samples are drawn per population with petitions.audit.draw_qa_sample")
    ws.require_supervisor(user, "draw the filing's random sample")
    require_unlocked(ws, filing_id, "drawing a sample")
    if not isinstance(seed, str) or not seed.strip():
        raise UserError("the sampling seed must be a non-empty string (it is published as typed)")
    filing = get_filing(ws, filing_id)
    batch = _check_batch(ws, filing_id, batch)
    frame = sampling_frame(ws, filing_id) if batch is None else sections_db.batch_signed_labels(ws, filing_id, batch)
    if not frame:
        raise UserError("no signed lines to sample yet; ingest the petition first")
    fhash = frame_hash(frame)
    prior = samples_db.rounds(ws, filing_id, purpose, batch)
    if prior:
        if prior[0]["seed"] != seed:
            raise UserError(f"this filing's sample was drawn with seed {prior[0]['seed']!r}; later rounds must use the same seed")
        if prior[0]["frame_hash"] != fhash:
            raise UserError(f"the set of signed lines changed since the first round (frame {prior[0]['frame_hash'][:12]}…, "
                            f"{prior[0]['frame_size']:,} lines; now {len(frame):,}); the sample cannot be extended. "
                            "Void it with a reason (petitions sample --void --reason TEXT) and draw again")
        if size is None:
            raise UserError("say how many more lines to draw for a further round")
    already = samples_db.drawn_labels(ws, filing_id, purpose, batch)
    if size is None:
        size = sample_size(len(frame), filing.ruleset)
    # draw_sample checks that earlier rounds are the start of this seed's order.
    new = [(d.id, d.ticket) for d in draw_sample_ids(frame, seed, size, already=already)]
    round_no = (prior[-1]["round"] + 1) if prior else 1
    ids = samples_db.line_ids_by_label(ws, filing_id)
    with ws.transaction():
        sid = samples_db.add_sample(
            ws, filing_id=filing_id, purpose=purpose, round_no=round_no, seed=seed, frame_hash=fhash,
            frame_size=len(frame), size=len(new),
            params_json=canonical_json({"ruleset": filing.ruleset.id,
                                        "construction": "consistent_sampler sha256, without replacement"}),
            created_at=now_utc(), created_by=user, batch=batch)
        samples_db.add_items(ws, [(sid, ids[lid], len(already) + i + 1, t) for i, (lid, t) in enumerate(new)])
        if not prior:
            # The frame is frozen with the first round: lines ingested later
            # stay outside it (count_result flags them, certify refuses).
            samples_db.add_frame_lines(ws, sid, [ids[lid] for lid in frame])
        ws.log_event("sample_drawn", user=user, filing_id=filing_id,
                     payload={"sample_id": sid, "purpose": purpose, "round": round_no, "seed": seed,
                              "frame_hash": fhash, "frame_size": len(frame), "size": len(new),
                              "first_tickets": new[:5], **({"batch": batch} if batch is not None else {})})
    return SampleInfo(sid, round_no, seed, fhash, len(frame), len(new), len(already) + len(new), new)


def void_sample(ws: Workspace, filing_id: int, *, user: str, reason: str, batch: int | None = None) -> dict:
    """Void the filing's count sample (every round in force), a supervisor's
    decision with a recorded reason, e.g. a section ingested after the draw.

    The voided rounds and their tickets stay on record (``samples``,
    ``sample_voids`` and a ``sample_voided`` event); a new sample can then be
    drawn on the current frame.

    Returns the event's payload.
    """
    from petitions.certification import require_unlocked

    ws.require_supervisor(user, "void the filing's random sample")
    if not (reason or "").strip():
        raise UserError("say why the sample is voided (--reason); it is recorded in the event log")
    require_unlocked(ws, filing_id, "voiding the sample")
    batch = _check_batch(ws, filing_id, batch)
    prior = samples_db.rounds(ws, filing_id, "count", batch)
    if not prior:
        raise UserError("the filing has no random sample in force to void"
                        + (f" in batch {batch}" if batch is not None else ""))
    if full_count_order(ws, filing_id) is not None:
        raise UserError("a full count was ordered from this sample; it is kept on record and cannot be voided")
    current = sampling_frame(ws, filing_id) if batch is None else sections_db.batch_signed_labels(ws, filing_id, batch)
    from petitions.law.sampling import frame_hash

    payload = {**({"batch": batch} if batch is not None else {}), "reason": reason.strip(), "sample_ids": [r["id"] for r in prior], "rounds": len(prior),
               "seed": prior[0]["seed"], "frame_hash": prior[0]["frame_hash"], "frame_size": prior[0]["frame_size"],
               "current_frame_hash": frame_hash(current) if current else None, "current_frame_size": len(current)}
    with ws.transaction():
        samples_db.void_samples(ws, payload["sample_ids"], voided_at=now_utc(), voided_by=user, reason=reason.strip())
        ws.log_event("sample_voided", user=user, filing_id=filing_id, payload=payload)
    return payload


def sample_items(ws: Workspace, filing_id: int, purpose: str = "count", batch: int | None = None, *,
                 every_batch: bool = True) -> pl.DataFrame:
    """The drawn lines in rank order: line_db_id, line_id, rank, ticket,
    round, batch (null for a filing sampled as one frame). By default every
    batch's sample (ranks restart per batch); with ``every_batch=False`` the
    one frame, or `batch`'s."""
    rows = samples_db.items(ws, filing_id, purpose, batch, every_batch=every_batch and batch is None)
    schema = {"line_db_id": pl.Int64, "line_id": pl.Utf8, "rank": pl.Int64, "ticket": pl.Utf8, "round": pl.Int64,
              "batch": pl.Int64}
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)


def _check_batch(ws: Workspace, filing_id: int, batch: int | None) -> int | None:
    """The batch a sample is drawn for, checked against how the filing came in."""
    batches = sections_db.batches(ws, filing_id)
    if batches and batch is None:
        raise UserError(f"this filing came in batches ({', '.join(map(str, batches))}); each batch has its own frame "
                        "and sample: say which (--batch N)")
    if batch is not None and batch not in batches:
        raise UserError(f"the filing has no batch {batch}" + (f" (batches: {', '.join(map(str, batches))})"
                                                              if batches else " (it was not ingested in batches)"))
    return batch


@dataclass
class CountResult:
    method: str                 # 'random_sample' or 'full_count'
    raw_count: int
    required: int | None
    valid: int
    invalid: int
    pending: int
    invalid_by_reason: dict
    sample_size: int | None = None
    sample_valid: int | None = None
    sample_duplicates: int | None = None
    sample_pending: int | None = None
    seed: str | None = None
    frame_hash: str | None = None
    frame_current: bool | None = None       # the frame is the filing's signed lines now
    lines_outside_frame: int = 0            # signed lines added after the sample was drawn
    outside_frame: list = field(default_factory=list)   # their labels (the first 50)
    frame_lines_not_signed: int = 0         # frame lines since found blank / struck / gone
    counted_in_full: bool = False           # the sample covers every line of the frame: counted, not projected
    projection: dict | None = None
    outcome: str | None = None
    percent_of_required: float | None = None
    batches: list = field(default_factory=list)   # a filing in batches: each batch's own report

    def to_dict(self) -> dict:
        return asdict(self)


def _sample_validity(status: pl.DataFrame) -> pl.DataFrame:
    """Sample lines judged on their own merits: a line flagged only as a
    duplicate of a line elsewhere counts as valid here, because the
    projection's duplicate estimate (2 CCR §20532) accounts for duplicates
    found *within* the sample."""
    dup_only = (pl.col("status") == "needs_review") & (pl.col("level") == "review") & (
        pl.col("det_reasons").list.len() == 1) & (pl.col("det_reasons").list.first() == "duplicate")
    # A line a person ruled a duplicate is, on its own merits, a genuine
    # signature too: it is counted once among the sample's duplicates (by
    # voter), never also as an invalid line. Only when its voter is known:
    # otherwise the duplicate could not be found again and it stays invalid.
    ruled_dup = (pl.col("status") == "invalid") & (pl.col("reason") == "duplicate") & pl.col("voter_id").is_not_null()
    return status.with_columns(
        pl.when(dup_only | ruled_dup).then(pl.lit("valid")).otherwise(pl.col("status")).alias("sample_status"))


def count_result(ws: Workspace, filing_id: int, *, status: pl.DataFrame | None = None) -> CountResult:
    """The filing's count as it stands: raw count, valid/invalid/pending,
    invalid by reason, and for sampled filings the projection and outcome.

    `status` is :func:`petitions.status.line_status` of the filing when the
    caller has it already (it is the expensive part on a large filing).
    """
    from petitions.stages.filings import get_filing
    from petitions.law.projection import full_count_status

    filing = get_filing(ws, filing_id)
    rs = filing.ruleset
    status = line_status(ws, filing_id) if status is None else status
    signed = status.filter(pl.col("state") == "signed")
    by_reason = (status.filter(pl.col("status") == "invalid").group_by("reason").len()
                 .sort(["len", "reason"], descending=[True, False]))
    res = CountResult(
        method="full_count",
        raw_count=signed.height,
        required=filing.required,
        valid=int((signed["status"] == "valid").sum()),
        invalid=int((signed["status"] == "invalid").sum()),
        pending=int((signed["status"] == "needs_review").sum()),
        invalid_by_reason={r["reason"] or "other": r["len"] for r in by_reason.iter_rows(named=True)},
    )
    full_count_ordered = full_count_order(ws, filing_id) is not None
    batches = sections_db.batches(ws, filing_id)
    if batches and not full_count_ordered:
        return _batched_result(ws, filing, res, status, batches)
    items = sample_items(ws, filing_id, every_batch=False)
    if items.height and not full_count_ordered:
        first_round = samples_db.rounds(ws, filing_id, "count")[0]
        return _sampled_result(ws, res, status, signed, items, first_round, filing.required, rs.bands,
                               filing_id=filing_id)
    elif filing.required:
        # Full count, ordered by the rule set or escalated from a sample:
        # a live count against the requirement; it may stop once met
        # (EC 9115(b)) when the rule set allows early stop.
        fc = full_count_status(res.valid, filing.required, res.pending, early_stop=rs.sampling.early_stop)
        res.outcome = "qualifies" if fc.met else ("fails" if fc.cannot_reach else "pending")
        res.percent_of_required = float(fc.percent_of_required)
    return res


def _sampled_result(ws: Workspace, res: CountResult, status: pl.DataFrame, signed: pl.DataFrame,
                    items: pl.DataFrame, first_round: dict, required: int | None, bands, *,
                    filing_id: int) -> CountResult:
    """`res` completed from one frame's sample: projected, or counted in full
    when the sample covers every line of the frame. `signed` is the frame's
    population now (the filing's signed lines, or one batch's)."""
    from petitions.law.projection import full_count_status, outcome, project

    s = _sample_validity(items.join(status.drop("line_id"), on="line_db_id", how="left").sort("rank"))
    # Duplicates found in the sample: lines whose confirmed voter appears
    # earlier in the sample (filing order decides "earlier").
    confirmed = s.filter(pl.col("sample_status") == "valid").sort("seq")
    dups = int(confirmed.filter(pl.col("voter_id").is_not_null()).select(
        pl.col("voter_id").is_duplicated() & ~pl.col("voter_id").is_first_distinct()).to_series().sum())
    # The frame is frozen at the first round: N is its size, whatever was
    # ingested since; lines outside it are flagged, never projected.
    res.raw_count = int(first_round["frame_size"])
    res.frame_current = _frame_is_current(ws, filing_id, status, signed, first_round)
    frame_ids = samples_db.frame_line_ids(ws, first_round["id"])
    if frame_ids:
        in_frame = pl.col("line_db_id").is_in(frame_ids)
        outside = signed.filter(~in_frame).sort("seq")
        res.lines_outside_frame = outside.height
        res.outside_frame = outside["line_id"].head(50).to_list()
        res.frame_lines_not_signed = len(frame_ids) - signed.filter(in_frame).height
    elif not res.frame_current:
        # A sample drawn before frames were stored: only its hash says it moved.
        res.lines_outside_frame = max(signed.height - res.raw_count, 0)
    res.sample_size = s.height
    res.sample_valid = int((s["sample_status"] == "valid").sum())
    res.sample_duplicates = dups
    res.sample_pending = int((s["sample_status"] == "needs_review").sum())
    res.seed, res.frame_hash = first_round["seed"], first_round["frame_hash"]
    if res.sample_size >= res.raw_count:
        # Every line of the frame is in the sample (a small filing): the
        # count is known exactly, so it is counted, not projected — the
        # regulation's rounding would move a known answer.
        res.method = "full_count"
        res.counted_in_full = True
        res.valid = res.sample_valid - dups
        res.pending = res.sample_pending
        res.invalid = res.raw_count - res.valid - res.pending
        if required:
            fc = full_count_status(res.valid, required, res.pending, early_stop=False)
            res.outcome = "qualifies" if fc.met else ("fails" if fc.cannot_reach else "pending")
            res.percent_of_required = float(fc.percent_of_required)
        return res
    res.method = "random_sample"
    proj = project(res.raw_count, res.sample_size, res.sample_valid, dups)
    res.projection = _jsonable(proj)
    if required:
        out = outcome(proj.projected_valid, required, bands)
        res.outcome = out.result
        res.percent_of_required = float(out.percent_of_required)
    return res


def _batched_result(ws: Workspace, filing, res: CountResult, status: pl.DataFrame, batches: list[int]) -> CountResult:
    """A filing that came in batches (a recall's submissions): each batch is
    its own frame with its own sample and report (``res.batches``), and the
    filing's result combines them.

    DOMAIN.md is silent on how batches combine, so this follows 2 CCR
    §20530-style per-submission sampling (docs/recall-batches.md): each
    batch is projected on its own frame exactly as a filing would be (its own
    raw count, sample, duplicates found within its sample, the regulation's
    rounding), or counted exactly when its sample covers its frame; the
    filing's valid count is the sum of the batches' counts, judged against
    the requirement with the rule set's bands. Until every batch has a sample
    the filing has no outcome (``pending``)."""
    from petitions.law.projection import full_count_status, outcome
    from petitions.law.sampling import frame_hash

    section_batch = pl.DataFrame(
        [(r["section"], r["batch"]) for r in sections_db.sections(ws, filing.id)],
        schema={"section": pl.Int64, "batch": pl.Int64}, orient="row")
    status = status.join(section_batch, on="section", how="left")
    reports, parts = [], []
    for b in batches:
        st_b = status.filter(pl.col("batch") == b)
        signed_b = st_b.filter(pl.col("state") == "signed")
        part = CountResult(method="full_count", raw_count=signed_b.height, required=None,
                           valid=int((signed_b["status"] == "valid").sum()),
                           invalid=int((signed_b["status"] == "invalid").sum()),
                           pending=int((signed_b["status"] == "needs_review").sum()), invalid_by_reason={})
        rounds = samples_db.rounds(ws, filing.id, "count", b)
        items = sample_items(ws, filing.id, batch=b)
        drawn = bool(rounds) and items.height > 0
        if drawn:
            part = _sampled_result(ws, part, st_b.drop("batch"), signed_b.drop("batch"), items.drop("batch"),
                                   rounds[0], None, None, filing_id=filing.id)
        counted = (part.projection or {}).get("projected_valid") if part.method == "random_sample" else \
            (part.valid if part.counted_in_full else None)
        parts.append((part, drawn, counted))
        reports.append({
            "batch": b, "sections": sorted(int(x) for x in st_b["section"].unique().to_list()),
            "signed_lines": signed_b.height, "sampled": drawn, "method": part.method if drawn else None,
            "raw_count": part.raw_count, "sample_size": part.sample_size, "sample_valid": part.sample_valid,
            "sample_duplicates": part.sample_duplicates, "sample_pending": part.sample_pending, "seed": part.seed,
            "frame_hash": part.frame_hash, "frame_current": part.frame_current if drawn else None,
            "lines_outside_frame": part.lines_outside_frame, "outside_frame": part.outside_frame,
            "counted_in_full": part.counted_in_full, "projection": part.projection,
            "valid": counted,
        })
    res.batches = reports
    if not all(d for _, d, _ in parts):
        res.method = "random_sample"
        res.outcome = "pending"
        return res
    drawn_parts = [p for p, _, _ in parts]
    res.raw_count = sum(p.raw_count for p in drawn_parts)
    res.sample_size = sum(p.sample_size or 0 for p in drawn_parts)
    res.sample_valid = sum(p.sample_valid or 0 for p in drawn_parts)
    res.sample_duplicates = sum(p.sample_duplicates or 0 for p in drawn_parts)
    res.sample_pending = sum(p.sample_pending or 0 for p in drawn_parts)
    res.frame_current = all(bool(p.frame_current) for p in drawn_parts)
    res.lines_outside_frame = sum(p.lines_outside_frame for p in drawn_parts)
    res.outside_frame = [x for p in drawn_parts for x in p.outside_frame][:50]
    res.frame_lines_not_signed = sum(p.frame_lines_not_signed for p in drawn_parts)
    seeds = list(dict.fromkeys(p.seed for p in drawn_parts))
    res.seed = seeds[0] if len(seeds) == 1 else "; ".join(f"batch {b}: {p.seed}" for b, p in zip(batches, drawn_parts))
    # The filing's frame is its batches' frames: one hash over theirs, in batch order.
    res.frame_hash = frame_hash(f"{b}:{p.frame_hash}" for b, p in zip(batches, drawn_parts))
    total = sum(int(c) for _, _, c in parts)
    if all(p.counted_in_full for p in drawn_parts):
        res.method, res.counted_in_full = "full_count", True
        res.valid, res.pending = total, res.sample_pending
        res.invalid = res.raw_count - res.valid - res.pending
        if filing.required:
            fc = full_count_status(res.valid, filing.required, res.pending, early_stop=False)
            res.outcome = "qualifies" if fc.met else ("fails" if fc.cannot_reach else "pending")
            res.percent_of_required = float(fc.percent_of_required)
        return res
    res.method = "random_sample"
    res.projection = {"projected_valid": total, "combined_from": "sum of each batch's count (per-batch frames)",
                      "by_batch": {str(r["batch"]): r["valid"] for r in reports}}
    if filing.required:
        out = outcome(total, filing.required, filing.ruleset.bands)
        res.outcome = out.result
        res.percent_of_required = float(out.percent_of_required)
    return res


def _frame_is_current(ws: Workspace, filing_id: int, status: pl.DataFrame, signed: pl.DataFrame,
                      first_round: dict) -> bool:
    """Whether the filing's signed lines are still the first round's frame (their hash is its hash).

    Hashing 60,000 labels on every count refresh holds the interpreter for
    tens of milliseconds; when `status` is the frame line_status keeps on the
    connection, the answer is kept under the same change stamp (the lines
    cannot change without it changing)."""
    from petitions.law.sampling import frame_hash

    kept = ws.memo.get(("line_status", filing_id))
    key = None
    if kept is not None and kept.get("final") is status:
        key = ("frame_current", filing_id, first_round["id"], tuple(sorted(kept["inputs"].items())))
        if key in ws.memo:
            return ws.memo[key]
    current = frame_hash(signed.sort("seq")["line_id"].to_list()) == first_round["frame_hash"]
    if key is not None:
        ws.memo[key] = current
    return current


def full_count_order(ws: Workspace, filing_id: int) -> dict | None:
    """The event that escalated this filing to a full count, if any."""
    row = reports_db.latest_event(ws, filing_id, "full_count_ordered")
    return None if row is None else {"event_id": row["id"], "ts": row["ts"], "user": row["user"],
                                     **json.loads(row["payload_json"])}


def order_full_count(ws: Workspace, filing_id: int, *, user: str, reason: str | None = None) -> dict:
    """Escalate a sampled filing to a full count (a supervisor's decision).

    Allowed when the sample's projection fell in the full-count band, or
    with a stated `reason` (e.g. a court order). From then on every signed
    line is verified and :func:`count_result` counts them all; the sample
    and its projection stay on record.
    """
    from petitions.certification import require_unlocked

    ws.require_supervisor(user, "order a full count")
    require_unlocked(ws, filing_id, "ordering a full count")
    if full_count_order(ws, filing_id) is not None:
        raise UserError("a full count was already ordered for this filing")
    res = count_result(ws, filing_id)
    if res.method != "random_sample":
        raise UserError("this filing is already counted in full; there is no sample to escalate from")
    if res.outcome != "full_count" and not reason:
        raise UserError(f"the sample's outcome is {res.outcome!r}, not the full-count band; give a reason to order "
                        "a full count anyway")
    payload = {"sample_outcome": res.outcome, "projected_valid": (res.projection or {}).get("projected_valid"),
               "percent_of_required": res.percent_of_required, "reason": reason}
    with ws.transaction():
        ws.log_event("full_count_ordered", user=user, filing_id=filing_id, payload=payload)
    return payload


def _jsonable(obj) -> dict:
    d = asdict(obj) if hasattr(obj, "__dataclass_fields__") else dict(obj)
    return json.loads(canonical_json({k: (str(v) if not isinstance(v, (int, float, str, type(None), bool)) else v)
                                      for k, v in d.items()}))


def unread_pages(ws: Workspace, filing_id: int) -> list[dict]:
    """Pages of the filing's scans that failed to read or segment, so their
    lines are missing from the raw count: ``file``, ``section``, ``page``
    (None when the error does not say) and ``error``, in ingest order."""
    import json
    import re

    out = []
    for d in cert_db.documents(ws, filing_id):
        for err in json.loads(d["errors_json"] or "[]"):
            m = re.search(r"\bpage (\d+)", str(err), flags=re.IGNORECASE)
            out.append({"file": d["path"], "section": d["section"], "page": int(m.group(1)) if m else None,
                        "error": str(err)})
    return out


def numbering_gaps(ws: Workspace, filing_id: int) -> dict:
    """Missing section numbers and, per section, missing page numbers
    (:func:`petitions.law.numbering.numbering_gaps`)."""
    from petitions.law.numbering import numbering_gaps as gaps

    return gaps((r["section"], r["page"]) for r in cert_db.section_pages(ws, filing_id))
