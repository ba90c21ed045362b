"""Supervisor QA audits: a reproducible sample, blind re-rulings, agreement, routing.

Supervisors re-rule a random sample of the software's accepts and of each
person's rulings (Colorado reviews at least 2 % of software approvals), see
how often they agree with the original decision per reviewer and per reason
(percent agreement and Cohen's kappa, :mod:`petitions.law.agreement`), and send
every disagreement back to the review queue.

Populations
-----------
Each decided line belongs to exactly one population, named after whoever
made the decision in force:

``software``
    Lines the software accepted and no person has ruled on (status
    ``valid`` at level ``auto``), sampled at ``RuleSet.qa.auto_accept_rate``.
``<user name>``
    Lines whose decision in force is that person's accept or reject (a
    rejection still waiting for a second person counts as the rejecter's),
    sampled at ``per_reviewer_rate`` but at least ``minimum_per_reviewer``
    (all of them if fewer).

How the sample is stored
------------------------
One draw is one *round*. A round writes **one** ``samples`` row per
population that gained lines, with ``purpose = 'qa'`` and ``params_json``::

    {"population": "<software or user name>", "population_kind": "software" | "person",
     "rate": "0.05", "minimum": 10, "quota": 12, "already_sampled": 3, ...}

``frame_size`` / ``frame_hash`` are the population's at the time of the draw
(the labels of its lines, :func:`petitions.law.sampling.frame_hash`),
``sample_items.ticket`` is the line's ticket under the published seed (the
``consistent-sampler`` construction, :func:`petitions.law.sampling.ticket`) and
``sample_items.rank`` its place in the population's ticket order. A
population's quota is ``qa.audit_size`` of its size; a round adds, in ticket
order, lines not sampled before until the lines drawn for that population in
all rounds reach the quota. Round 1 is therefore simply the smallest
tickets of each population, which an observer holding the seed and the
labels recomputes with ``consistent-sampler``. Every round of a filing uses
the same seed, and drawing again with nothing new writes nothing.

Blind re-rulings
----------------
:func:`qa_queue` returns :class:`BlindCase` items: the crops, the keyed
entry and the candidate voters (sorted by id, no scores) — never the
determination, the status, the reasons or who ruled. :func:`record_audit`
writes the supervisor's decision with ``record_ruling(kind='audit')``, which
never changes the line's status. The original decision an audit is compared
with is the one in force just before the audit ruling.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import polars as pl

from petitions.law.agreement import agreement_table, disagreements
from petitions.errors import UserError
from petitions.law.resolution import ACTION_DECISION, SOFTWARE, decision_in_force
from petitions.rulings import record_ruling
from petitions.store import Workspace
from petitions.store import audit as audit_db
from petitions.store import review as review_db
from petitions.store import rulings as rulings_db

__all__ = ["SOFTWARE", "PopulationDraw", "QaSampleInfo", "BlindCase", "QaReport", "RouteReport",
           "qa_populations", "draw_qa_sample", "qa_sample", "qa_queue", "record_audit", "audited_frame",
           "agreement_report", "route_disagreements", "qa_status"]


# ---------------------------------------------------------------------------
# Populations and the draw
# ---------------------------------------------------------------------------
def _line_rulings(ws: Workspace, filing_id: int) -> dict[int, list[dict]]:
    out: dict[int, list[dict]] = {}
    for r in rulings_db.filing_rulings(ws, filing_id):
        out.setdefault(r["line_id"], []).append(r)
    return out


def _det_map(ws: Workspace, filing_id: int) -> dict[int, tuple[str, list[str]]]:
    return {r["line_id"]: (r["determination"], json.loads(r["reasons_json"]))
            for r in audit_db.filing_determinations(ws, filing_id)}


def qa_populations(ws: Workspace, filing_id: int) -> pl.DataFrame:
    """Every decided line and whose decision is in force.

    Returns
    -------
    pl.DataFrame
        ``line_db_id``, ``line_id`` (label), ``reviewer`` (``"software"`` for
        auto-accepts), ``decision`` (``valid`` / ``invalid``), ``reason``
        (the rejection's code; null for accepts), ``ruling_id`` (null for
        software), in filing order. Escalated and undecided lines are not
        part of any population.
    """
    from petitions.stages.filings import get_filing

    rs = get_filing(ws, filing_id).ruleset
    dets = _det_map(ws, filing_id)
    ruled = _line_rulings(ws, filing_id)
    rows = []
    for line in audit_db.filing_lines(ws, filing_id):
        lid, label = line["id"], line["label"]
        det, reasons = dets.get(lid, (None, []))
        d = decision_in_force(ruled.get(lid, []), det, reasons, rs.rejections_required)
        if d is None or d[1] == "escalate":
            continue
        rows.append({"line_db_id": lid, "line_id": label, "reviewer": d[0], "decision": d[1], "reason": d[2],
                     "ruling_id": d[3]})
    schema = {"line_db_id": pl.Int64, "line_id": pl.String, "reviewer": pl.String, "decision": pl.String,
              "reason": pl.String, "ruling_id": pl.Int64}
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)


@dataclass
class PopulationDraw:
    """One population's part of a QA round."""

    population: str
    frame_size: int
    frame_hash: str
    quota: int
    already_sampled: int   # drawn for this population in earlier rounds
    sample_id: int | None = None
    items: list[tuple[str, str, int]] = field(default_factory=list)   # (label, ticket, rank) added this round


@dataclass
class QaSampleInfo:
    """What one call of :func:`draw_qa_sample` drew."""

    round: int | None          # None when nothing new was drawn
    seed: str
    populations: list[PopulationDraw]

    @property
    def drawn(self) -> int:
        return sum(len(p.items) for p in self.populations)

    def to_dict(self) -> dict:
        return {"round": self.round, "seed": self.seed, "drawn": self.drawn,
                "populations": [asdict(p) for p in self.populations]}


def draw_qa_sample(ws: Workspace, filing_id: int, *, seed: str, user: str) -> QaSampleInfo:
    """Draw (or extend) the filing's QA audit sample with the published seed.

    Parameters
    ----------
    filing_id : int
    seed : str
        The audit's published seed, used exactly as typed. Every round of a
        filing's QA sample uses the same seed.
    user : str
        A supervisor.

    Returns
    -------
    QaSampleInfo
        Per population: its size, frame hash, quota and the lines added this
        round with their tickets. ``round`` is None and nothing is written
        when every quota is already covered (drawing again is idempotent).

    Raises
    ------
    UserError
        Not a supervisor, an empty seed, a seed other than earlier rounds',
        or no decided lines to audit.
    """
    from petitions.stages.filings import get_filing
    from petitions.law.sampling import frame_hash, ticket_order

    ws.require_supervisor(user, "draw a QA audit sample")
    if not isinstance(seed, str) or not seed.strip():
        raise UserError("the QA seed must be a non-empty string (it is published as typed)")
    filing = get_filing(ws, filing_id)
    qa = filing.ruleset.qa
    prior = audit_db.qa_seeds(ws, filing_id)
    if prior and any(p["seed"] != seed for p in prior):
        raise UserError(f"this filing's QA sample was drawn with seed {prior[0]['seed']!r}; later rounds must use "
                        "the same seed so observers can recompute it")
    pops = qa_populations(ws, filing_id)
    if pops.height == 0:
        raise UserError("nothing to audit yet: no line has been accepted by the software or ruled on by a person")
    already = audit_db.qa_sampled_labels(ws, filing_id)
    # Lines drawn for a population in earlier rounds count towards its quota
    # even if they have left it since (e.g. re-ruled after a disagreement).
    drawn_for: dict[str, int] = {}
    for r in audit_db.qa_rounds(ws, filing_id):
        name = json.loads(r["params_json"] or "{}").get("population")
        drawn_for[name] = drawn_for.get(name, 0) + int(r["size"])
    draws = []
    for name in sorted(pops["reviewer"].unique().to_list(), key=lambda n: (n != SOFTWARE, n)):
        labels = pops.filter(pl.col("reviewer") == name)["line_id"].to_list()
        if name == SOFTWARE:
            quota = qa.audit_size(len(labels), qa.auto_accept_rate)
        else:
            quota = qa.audit_size(len(labels), qa.per_reviewer_rate, qa.minimum_per_reviewer)
        need = max(0, quota - drawn_for.get(name, 0))
        order = ticket_order(labels, seed)
        new = [(d.id, d.ticket, rank) for rank, d in enumerate(order, start=1) if d.id not in already][:need]
        draws.append(PopulationDraw(name, len(labels), frame_hash(labels), quota, drawn_for.get(name, 0),
                                    items=new))
    info = QaSampleInfo(None, seed, draws)
    if info.drawn == 0:
        return info
    round_no = audit_db.next_qa_round(ws, filing_id)
    ids = {r["label"]: r["id"] for r in audit_db.filing_lines(ws, filing_id)}
    with ws.transaction():
        for d in draws:
            if not d.items:
                continue
            software = d.population == SOFTWARE
            params = {"population": d.population, "population_kind": "software" if software else "person",
                      "rate": str(qa.auto_accept_rate if software else qa.per_reviewer_rate),
                      "minimum": 0 if software else qa.minimum_per_reviewer, "quota": d.quota,
                      "already_sampled": d.already_sampled, "ruleset": filing.ruleset.id,
                      "construction": "consistent_sampler sha256 per population, smallest tickets first"}
            d.sample_id = audit_db.insert_qa_sample(
                ws, filing_id, round_no=round_no, seed=seed, frame_hash=d.frame_hash, frame_size=d.frame_size,
                size=len(d.items), params=params, user=user)
            audit_db.insert_sample_items(ws, d.sample_id, [(ids[lab], rk, t) for lab, t, rk in d.items])
        info.round = round_no
        ws.log_event("sample_drawn", user=user, filing_id=filing_id, payload={
            "purpose": "qa", "round": round_no, "seed": seed, "drawn": info.drawn,
            "populations": [{"population": d.population, "sample_id": d.sample_id, "frame_size": d.frame_size,
                             "frame_hash": d.frame_hash, "quota": d.quota, "added": len(d.items),
                             "first_tickets": d.items[:3]} for d in draws]})
    return info


def qa_sample(ws: Workspace, filing_id: int) -> pl.DataFrame:
    """Every line in the filing's QA sample: ``line_db_id``, ``line_id``,
    ``population`` (from the round's ``params_json``; ``"(whole frame)"`` for a
    sample drawn without populations), ``round``, ``rank``, ``ticket``."""
    rows = audit_db.qa_sample_rows(ws, filing_id)
    for r in rows:
        r["population"] = json.loads(r.pop("params_json") or "{}").get("population", "(whole frame)")
    schema = {"line_db_id": pl.Int64, "line_id": pl.String, "round": pl.Int64, "rank": pl.Int64,
              "ticket": pl.String, "population": pl.String}
    return (pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)).unique(
        "line_db_id", keep="first", maintain_order=True)


# ---------------------------------------------------------------------------
# Blind re-rulings
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class BlindCase:
    """What an auditor sees of a line: enough to rule, nothing of the original decision.

    No determination, status, suspected reasons, scores, earlier rulings or
    population. ``candidates`` are the matcher's candidate voters sorted by
    id (so the order does not reveal the best match), each with the hashes of
    their signatures on file.
    """

    line_db_id: int
    label: str
    section: int
    page: int | None
    page_id: int | None
    number: int
    signature_hash: str | None
    name_hash: str | None
    address_hash: str | None
    keyed: dict | None
    candidates: tuple[tuple[str, tuple[str, ...]], ...]

    @property
    def shown(self) -> dict:
        """Stored with the audit ruling as what the auditor was shown."""
        return {"line": self.label, "blind": True, "signature_hash": self.signature_hash,
                "candidates": [v for v, _ in self.candidates],
                "exemplar_hashes": {v: list(h) for v, h in self.candidates}}


def _audits(ws: Workspace, filing_id: int) -> dict[int, dict]:
    """The audit ruling in force per line (the newest, unless it was undone by
    an audit ``reopen``)."""
    out: dict[int, dict] = {}
    for r in audit_db.audit_rulings(ws, filing_id):
        if r["action"] == "reopen":
            out.pop(r["line_id"], None)
        else:
            out[r["line_id"]] = r
    return out


def _blind_cases(ws: Workspace, line_ids: list[int]) -> dict[int, BlindCase]:
    rows = audit_db.blind_case_rows(ws, line_ids)
    cands = {r["id"]: sorted({v for v in [r["voter_id"]] + [c for c, _ in r["candidates"]] if v}) for r in rows}
    ex = {v: [e["image_hash"] for e in es]
          for v, es in review_db.exemplars(ws, sorted({v for vs in cands.values() for v in vs})).items()}
    out: dict[int, BlindCase] = {}
    for r in rows:
        keyed = ({k: r[k] for k in ("name", "address", "city", "zip", "date_signed")}
                 if r["keyed_id"] is not None else None)
        out[r["id"]] = BlindCase(r["id"], r["label"], r["section"], r["page"], r["page_id"], r["number"],
                                 r["signature_hash"], r["name_hash"], r["address_hash"], keyed,
                                 tuple((v, tuple(ex.get(v, []))) for v in cands[r["id"]]))
    return out


def qa_queue(ws: Workspace, filing_id: int, *, user: str | None = None) -> list[BlindCase]:
    """QA-sampled lines still waiting for a blind audit ruling, in ticket order.

    Parameters
    ----------
    user : str, optional
        The auditor; lines whose decision in force is their own are left
        out (nobody audits themselves).
    """
    sample = qa_sample(ws, filing_id)
    if sample.height == 0:
        return []
    done = _audits(ws, filing_id)
    todo = sample.filter(~pl.col("line_db_id").is_in(list(done))).sort("ticket")
    if user is not None and todo.height:
        own = qa_populations(ws, filing_id).filter(pl.col("reviewer") == user)["line_db_id"].to_list()
        todo = todo.filter(~pl.col("line_db_id").is_in(own))
    ids = todo["line_db_id"].to_list()
    cases = _blind_cases(ws, ids)
    return [cases[i] for i in ids]


def record_audit(ws: Workspace, line_db_id: int, *, user: str, action: str, reason_code: str | None = None,
                 note: str | None = None):
    """Record a supervisor's blind audit ruling on a QA-sampled line.

    Parameters
    ----------
    action : {'accept', 'reject', 'escalate'}
    reason_code : str, optional
        Required for ``reject``.

    Returns
    -------
    petitions.rulings.RulingResult
        The line's status is unchanged: audit rulings never decide a line.

    Raises
    ------
    UserError
        Not a supervisor; the line is not in the QA sample; it already has an
        audit ruling (undo it first); or the decision in force is the
        auditor's own.
    """
    ws.require_supervisor(user, "record a QA audit ruling")
    if action not in ("accept", "reject", "escalate"):
        raise UserError(f"an audit ruling is accept, reject or escalate, not {action!r}")
    row = rulings_db.line_ref(ws, line_db_id)
    if row is None:
        raise UserError(f"no line with id {line_db_id}")
    filing_id, label = row["filing_id"], row["label"]
    if not audit_db.in_qa_sample(ws, line_db_id):
        raise UserError("the line is not in the QA audit sample", where=label)
    prior = _audits(ws, filing_id).get(line_db_id)
    if prior is not None:
        raise UserError(f"already audited by {prior['user']} (ruling {prior['id']}); undo that audit first",
                        where=label)
    own = qa_populations(ws, filing_id).filter((pl.col("line_db_id") == line_db_id) & (pl.col("reviewer") == user))
    if own.height:
        raise UserError(f"the decision on this line is {user}'s own; another supervisor must audit it", where=label)
    case = _blind_cases(ws, [line_db_id])[line_db_id]
    return record_ruling(ws, line_db_id, user=user, action=action, reason_code=reason_code, note=note,
                         shown=case.shown, kind="audit")


# ---------------------------------------------------------------------------
# Agreement
# ---------------------------------------------------------------------------
def audited_frame(ws: Workspace, filing_id: int) -> pl.DataFrame:
    """One row per audited line: the original decision against the audit's.

    The original decision is the one in force just before the audit ruling
    (later re-rulings, e.g. after routing a disagreement back, do not change
    what was audited).

    Returns
    -------
    pl.DataFrame
        ``line_db_id``, ``line_id``, ``reviewer`` (``"software"`` for
        auto-accepts), ``original_decision`` and ``audit_decision``
        (``valid`` / ``invalid`` / ``escalate``), ``reason`` (the original
        rejection's code; ``"(accepted)"`` for accepts), ``original_ruling_id``,
        ``audit_ruling_id``, ``auditor``, ``audit_reason``.
    """
    from petitions.stages.filings import get_filing

    schema = {"line_db_id": pl.Int64, "line_id": pl.String, "reviewer": pl.String,
              "original_decision": pl.String, "audit_decision": pl.String, "reason": pl.String,
              "original_ruling_id": pl.Int64, "audit_ruling_id": pl.Int64, "auditor": pl.String,
              "audit_reason": pl.String, "original_category": pl.String, "audit_category": pl.String}
    audits = _audits(ws, filing_id)
    if not audits:
        return pl.DataFrame(schema=schema)
    rs = get_filing(ws, filing_id).ruleset
    # The determination in force when the auditor ruled: routing a
    # disagreement back may store a newer one, which must not change what
    # was audited.
    dets: dict[int, tuple[str, list[str]]] = {}
    for d in audit_db.determination_history(ws, filing_id):
        a = audits.get(d["line_id"])
        if a is not None and d["created_at"] <= a["created_at"]:
            dets[d["line_id"]] = (d["determination"], json.loads(d["reasons_json"]))
    ruled = _line_rulings(ws, filing_id)
    labels = {r["id"]: r["label"] for r in audit_db.filing_lines(ws, filing_id)}
    rows = []
    for lid, a in sorted(audits.items(), key=lambda kv: kv[1]["id"]):
        det, reasons = dets.get(lid, (None, []))
        before = [r for r in ruled.get(lid, []) if r["id"] < a["id"]]
        d = decision_in_force(before, det, reasons, rs.rejections_required)
        if d is None:
            continue  # nothing was decided when the auditor ruled; not comparable
        reviewer, decision, reason, rid = d
        rows.append({"line_db_id": lid, "line_id": labels[lid], "reviewer": reviewer, "original_decision": decision,
                     "audit_decision": ACTION_DECISION[a["action"]],
                     "reason": reason or ("(accepted)" if decision == "valid" else "(none)"),
                     "original_ruling_id": rid, "audit_ruling_id": a["id"], "auditor": a["user"],
                     "audit_reason": a["reason_code"],
                     # A rejection for a reason of another category is a disagreement.
                     "original_category": rs.qa.category(reason) if decision == "invalid" else None,
                     "audit_category": rs.qa.category(a["reason_code"]) if a["action"] == "reject" else None})
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)


@dataclass(frozen=True)
class QaReport:
    """Agreement between original decisions and blind audit re-rulings.

    ``overall``, ``per_reviewer``, ``per_reason``: :func:`petitions.law.agreement.agreement_table`
    frames (``group``, ``n``, ``agreements``, ``percent_agreement`` 0–100,
    ``kappa``, null when undefined). ``audited``: :func:`audited_frame`.
    ``disagreements``: its rows where the decisions differ.
    """

    sampled: int
    audited_count: int
    awaiting: int
    overall: pl.DataFrame
    per_reviewer: pl.DataFrame
    per_reason: pl.DataFrame
    audited: pl.DataFrame
    disagreements: pl.DataFrame

    def to_dict(self) -> dict:
        return {"sampled": self.sampled, "audited": self.audited_count, "awaiting": self.awaiting,
                "overall": self.overall.to_dicts(), "per_reviewer": self.per_reviewer.to_dicts(),
                "per_reason": self.per_reason.to_dicts(),
                "disagreements": self.disagreements.select(
                    "line_id", "reviewer", "original_decision", "audit_decision", "reason", "auditor",
                    "audit_reason", "audit_ruling_id").to_dicts()}


def agreement_report(ws: Workspace, filing_id: int) -> QaReport:
    """Percent agreement and Cohen's kappa overall, per reviewer (the
    software counts as reviewer ``software``) and per reason, plus the
    disagreements to route back."""
    frame = audited_frame(ws, filing_id)
    sampled = qa_sample(ws, filing_id).height
    audited_n = len(_audits(ws, filing_id))
    return QaReport(sampled, audited_n, sampled - audited_n, agreement_table(frame),
                    agreement_table(frame, "reviewer"), agreement_table(frame, "reason"), frame,
                    disagreements(frame))


# ---------------------------------------------------------------------------
# Routing disagreements back
# ---------------------------------------------------------------------------
@dataclass
class RouteReport:
    routed: list[str] = field(default_factory=list)           # labels reopened now
    already_routed: list[str] = field(default_factory=list)   # routed by an earlier call
    reruled_since: list[str] = field(default_factory=list)    # someone ruled after the audit; left alone

    def to_dict(self) -> dict:
        return asdict(self)


def route_disagreements(ws: Workspace, filing_id: int, *, user: str) -> RouteReport:
    """Send every audit disagreement back to the review queue. Idempotent.

    For each disagreement not routed before, the supervisor reopens the line
    (``record_ruling(action='reopen', kind='review')`` with a note naming the
    audit ruling) and a ``qa_disagreement_routed`` event records it, in one
    transaction. Reopening returns a line to its determination; when that
    determination is the software's accept (the disputed decision itself, or
    an auto-accept a person later ruled on) a new ``needs_review``
    determination at level ``qa_audit`` is stored first, with the auditor's
    reason, so the line really lands in the review queue.

    Lines someone has ruled on since the audit are left alone (the
    disagreement has already been acted on) and listed in ``reruled_since``.
    """
    from petitions.stages.filings import get_filing

    ws.require_supervisor(user, "route QA disagreements back to review")
    rs = get_filing(ws, filing_id).ruleset
    report = RouteReport()
    dis = agreement_report(ws, filing_id).disagreements
    if dis.height == 0:
        return report
    routed_ids = audit_db.routed_audit_ruling_ids(ws, filing_id)
    for r in dis.iter_rows(named=True):
        lid, aid, label = r["line_db_id"], r["audit_ruling_id"], r["line_id"]
        if aid in routed_ids:
            report.already_routed.append(label)
            continue
        if audit_db.ruled_since(ws, lid, aid):
            report.reruled_since.append(label)
            continue
        note = (f"QA audit ruling {aid} by {r['auditor']} ({r['audit_decision']}) disagrees with "
                f"{r['reviewer']}'s decision ({r['original_decision']}); returned to the review queue")
        with ws.transaction():
            det_id = None
            det = rulings_db.determination_of_line(ws, lid)
            if det is not None and det["determination"] == "valid":
                code = r["audit_reason"] or "other"
                det_id = audit_db.insert_qa_determination(
                    ws, lid, reasons=[code], inputs={"qa_audit_ruling": aid, "routed_by": user},
                    ruleset_id=rs.id, ruleset_version=str(rs.version))
            res = record_ruling(ws, lid, user=user, action="reopen", kind="review", note=note,
                                shown={"qa_audit_ruling": aid, "original_decision": r["original_decision"],
                                       "audit_decision": r["audit_decision"], "reviewer": r["reviewer"]})
            ws.log_event("qa_disagreement_routed", user=user, filing_id=filing_id, line_id=lid,
                         payload={"audit_ruling_id": aid, "reopen_ruling_id": res.ruling_id, "line": label,
                                  "reviewer": r["reviewer"], "original_decision": r["original_decision"],
                                  "audit_decision": r["audit_decision"], "determination_id": det_id})
        report.routed.append(label)
    return report


# ---------------------------------------------------------------------------
# Are the rule set's QA audits done? (asked by certify)
# ---------------------------------------------------------------------------
def qa_status(ws: Workspace, filing_id: int) -> dict:
    """How far the rule set's QA audits (``RuleSet.qa``) have got.

    Returns
    -------
    dict
        ``populations``: per population (``software`` and each person) its
        size, ``quota`` at the rule set's rates, lines ``drawn`` for it and
        ``audited``; ``sampled`` / ``audited`` / ``awaiting`` over the whole
        QA sample; ``warnings``: plain sentences, empty when every quota is
        drawn and every drawn line audited.
    """
    from petitions.stages.filings import get_filing

    qa = get_filing(ws, filing_id).ruleset.qa
    pops = qa_populations(ws, filing_id)
    sample = qa_sample(ws, filing_id)
    audited = set(_audits(ws, filing_id))
    drawn_for: dict[str, int] = {}
    for r in audit_db.qa_rounds(ws, filing_id):
        name = json.loads(r["params_json"] or "{}").get("population")
        drawn_for[name] = drawn_for.get(name, 0) + int(r["size"])
    done_for: dict[str, int] = {}
    for r in sample.iter_rows(named=True):
        if r["line_db_id"] in audited:
            done_for[r["population"]] = done_for.get(r["population"], 0) + 1
    rows, warnings = [], []
    for name in sorted(pops["reviewer"].unique().to_list(), key=lambda n: (n != SOFTWARE, n)):
        size = int((pops["reviewer"] == name).sum())
        quota = (qa.audit_size(size, qa.auto_accept_rate) if name == SOFTWARE
                 else qa.audit_size(size, qa.per_reviewer_rate, qa.minimum_per_reviewer))
        drawn, done = drawn_for.get(name, 0), done_for.get(name, 0)
        rows.append({"population": name, "size": size, "quota": quota, "drawn": drawn, "audited": done})
        if min(drawn, quota) > done or drawn < quota:
            warnings.append(f"QA audit of {name}: {done} of {quota} audited (rule set rate)")
    sampled, n_audited = sample.height, int(sample["line_db_id"].is_in(list(audited)).sum()) if sample.height else 0
    if pops.height and not sampled:
        warnings.insert(0, "no QA audit sample was drawn (petitions audit draw)")
    return {"populations": rows, "sampled": sampled, "audited": n_audited, "awaiting": sampled - n_audited,
            "warnings": warnings}
