"""Withdrawals: a signer asks that their signature not count (2 CCR §20530(b)(1)).

:func:`import_withdrawals` reads requests (name, address, date, optional
city, zip and voter id), finds each requester in the voter file with the
matcher (or takes the voter id given, once it is found in the file) and
then the filing's lines matched to that voter. Each request is stored and
logged as an event; a line a request names is then proposed invalid for
``withdrawn`` (triage level ``confirm_invalid``): it does not count as
valid — in the sample too — and a person confirms it like every invalid
line. Requests that find no voter, only an uncertain one, or a voter with
no line in the filing are listed, never guessed.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from petitions.rulings import record_ruling
from petitions.stages.decide import run_triage
from petitions.stages.filings import get_filing
from petitions.stages.job import read_csv_strings
from petitions.stages.voters import active_voter_file
from petitions.store import Workspace, now_utc
from petitions.store import ingest as ingest_db
from petitions.store import rulings as rulings_db
from petitions.store import withdrawals as withdrawals_db

REQUIRED = ("name", "address", "date")


@dataclass
class WithdrawalImport:
    """What :func:`import_withdrawals` did.

    ``matched``: (row, voter id, line labels) per request applied to lines;
    ``unmatched``: one plain-words line per request that names no line;
    ``problems``: rows not read (file, row, column); ``reopened``: lines
    someone had already ruled on, reopened by the supervisor recording the
    withdrawal so that a person looks again.
    """

    matched: list[tuple[int, str, list[str]]] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    lines_withdrawn: int = 0
    reopened: list[str] = field(default_factory=list)


def withdrawal_preview(ws: Workspace, filing_id: int, csv_path: str | Path, *, model=None) -> dict:
    """What :func:`import_withdrawals` would record, without recording it
    (for a person to look before recording; the withdrawals screen).

    Returns
    -------
    dict
        ``requests``: one dict per readable row — ``row``, ``name``,
        ``address``, ``city``, ``zip``, ``date``, ``given_voter_id``,
        ``voter_id`` (the voter found, or None), ``match_status``,
        ``match_score``, ``lines`` (the filing's line labels it withdraws)
        and ``why`` (None, or in plain words why it withdraws no line);
        ``problems``: rows not read, with file, row and column.
    """
    plan, problems = _plan(ws, get_filing(ws, filing_id), Path(csv_path), model)
    return {"requests": [{k: v for k, v in g.items() if k not in ("day", "targets")}
                         | {"date": g["day"].isoformat(), "lines": [lab for _, lab in g["targets"]]}
                         for g in plan], "problems": problems}


def _plan(ws: Workspace, filing, csv_path: Path, model) -> tuple[list[dict], list[str]]:
    """Read the requests and decide, for each, its voter and lines (or why none)."""
    import matchers

    filing_id = filing.id
    df = read_csv_strings(csv_path, required=REQUIRED)
    for c in ("city", "zip", "voter_id"):
        if c not in df.columns:
            df = df.with_columns(pl.lit(None, pl.Utf8).alias(c))
    df = df.with_columns([pl.col(c).fill_null("").str.strip_chars() for c in ("name", "address", "city", "zip",
                                                                               "voter_id", "date")])
    df = df.with_row_index("row", offset=2)
    problems: list[str] = []
    good = []
    for r in df.iter_rows(named=True):
        where = f"{csv_path} row {r['row']}"
        if not r["name"] and not r["voter_id"]:
            problems.append(f"{where}, column name: a request needs the signer's name (or a voter id)")
            continue
        try:
            day = _dt.date.fromisoformat(r["date"])
        except ValueError:
            problems.append(f"{where}, column date: expected YYYY-MM-DD, got {r['date']!r}")
            continue
        good.append({**r, "day": day})
    vf_id, voters = active_voter_file(ws)
    known_ids = set(voters["voter_id"].cast(pl.Utf8).to_list())
    # one batch call to the matcher for every request
    queries = pl.DataFrame({"line_id": [str(g["row"]) for g in good], "name": [g["name"] for g in good],
                            "address": [g["address"] for g in good], "city": [g["city"] for g in good],
                            "zip": [g["zip"] for g in good]}, schema={c: pl.Utf8 for c in
                                                                      ("line_id", "name", "address", "city", "zip")})
    found: dict[str, dict] = {}
    if queries.height:
        model = (model or matchers.load_default_model()).at_operating_point(
            filing.ruleset.triage.match_operating_point)
        result = matchers.match_lines(queries, voters, model=model, jurisdiction_city=filing.jurisdiction_city,
                                      district=filing.district,
                                      address_leniency=filing.ruleset.address_leniency.tolerated())
        found = {r["line_id"]: r for r in result.select("line_id", "voter_id", "score", "status", "reason")
                 .iter_rows(named=True)}
    lines_of: dict[str, list[tuple[int, str]]] = {}
    for r in withdrawals_db.filing_voter_lines(ws, filing_id):
        lines_of.setdefault(str(r["voter_id"]), []).append((int(r["line_id"]), r["label"]))
    plan = []
    for g in good:
        m = found.get(str(g["row"]), {})
        voter, status, score = m.get("voter_id"), m.get("status"), m.get("score")
        why = None
        if g["voter_id"]:
            if g["voter_id"] not in known_ids:
                why = f"voter id {g['voter_id']!r} is not in the voter file"
            elif voter and voter != g["voter_id"] and status == "match":
                why = f"voter id {g['voter_id']!r} given, but the name and address match voter {voter!r}"
            else:
                voter, status = g["voter_id"], "given"
        elif status != "match":
            why = ("no voter in the file fits the name and address" if not voter else
                   f"only an uncertain match (voter {voter}, {m.get('reason') or status}); a person decides")
        if why is None and filing.filing_date and g["day"] > filing.filing_date:
            why = f"received {g['day']} after the petition was filed ({filing.filing_date}); not a withdrawal"
        targets = lines_of.get(str(voter), []) if why is None else []
        if why is None and not targets:
            why = f"voter {voter} has no line in this filing"
        plan.append({"row": g["row"], "name": g["name"], "address": g["address"], "city": g["city"],
                     "zip": g["zip"], "given_voter_id": g["voter_id"] or None, "day": g["day"],
                     "voter_id": str(voter) if voter is not None else None, "match_status": status,
                     "match_score": score, "targets": targets, "why": why})
    return plan, problems


def import_withdrawals(ws: Workspace, filing_id: int, csv_path: str | Path, *, user: str, model=None) -> WithdrawalImport:
    """Record withdrawal requests from a CSV and apply them to the filing's lines.

    Parameters
    ----------
    csv_path : path
        CSV with ``name,address,date`` and optionally ``city``, ``zip``,
        ``voter_id``; ``date`` is the day the request was received
        (YYYY-MM-DD). A request received after the filing date is not a
        withdrawal and is listed as unmatched.
    model : matchers.MatchModel, optional
        Taken at the rule set's operating point (as the lines were matched);
        only a clear ``match`` is applied, and a person confirms each
        withdrawn line before it is invalid.
    """
    from petitions.certification import require_unlocked

    ws.require_supervisor(user, "record withdrawal requests")
    csv_path = Path(csv_path)
    require_unlocked(ws, filing_id, f"importing withdrawals ({csv_path.name})")
    filing = get_filing(ws, filing_id)
    plan, problems = _plan(ws, filing, csv_path, model)
    report = WithdrawalImport(problems=problems)
    ts = now_utc()
    with ws.transaction():
        for g in plan:
            where = f"{csv_path} row {g['row']}"
            voter, why, targets = g["voter_id"], g["why"], g["targets"]
            base = dict(filing_id=filing_id, source=str(csv_path), row_number=g["row"], name=g["name"],
                        address=g["address"], city=g["city"], zip=g["zip"], request_date=g["day"].isoformat(),
                        given_voter_id=g["given_voter_id"], voter_id=voter if why is None else None,
                        match_status=g["match_status"], match_score=g["match_score"], created_at=ts,
                        created_by=user)
            if why is not None:
                wid = withdrawals_db.add_withdrawal(ws, line_id=None, **base)
                report.unmatched.append(f"{where}: {g['name'] or g['given_voter_id']}: {why}")
                ws.log_event("withdrawal_unmatched", user=user, filing_id=filing_id,
                             payload={"withdrawal_id": wid, "row": g["row"], "name": g["name"], "why": why})
                continue
            for line_id, label in targets:
                wid = withdrawals_db.add_withdrawal(ws, line_id=line_id, **base)
                ws.log_event("withdrawal", user=user, filing_id=filing_id, line_id=line_id,
                             payload={"withdrawal_id": wid, "row": g["row"], "line": label, "voter_id": voter,
                                      "match_status": g["match_status"], "match_score": g["match_score"],
                                      "request_date": g["day"].isoformat()})
            report.matched.append((g["row"], str(voter), [lab for _, lab in targets]))
            report.lines_withdrawn += len(targets)
    if report.lines_withdrawn:
        run_triage(ws, filing_id, user=user)
        # A line someone already ruled on would keep that ruling over the new
        # determination: the supervisor recording the withdrawal reopens it,
        # so it waits, proposed invalid for withdrawal, for a person again.
        for row, _voter, labels in report.matched:
            for label in labels:
                line_id = ingest_db.line_id_by_label(ws, filing_id, label)
                last = rulings_db.latest_ruling_id(ws, line_id) if line_id is not None else None
                if last is not None and rulings_db.ruling(ws, last)["action"] != "reopen":
                    record_ruling(ws, line_id, user=user, action="reopen", kind="review",
                                  note=f"withdrawal request ({csv_path} row {row})",
                                  shown={"via": "withdrawals", "withdrawal_row": row, "line": label})
                    report.reopened.append(label)
    return report


def withdrawals_of(ws: Workspace, filing_id: int) -> list[dict]:
    """Every withdrawal request recorded for the filing (matched or not), oldest first."""
    return withdrawals_db.withdrawals_of(ws, filing_id)


__all__ = ["WithdrawalImport", "import_withdrawals", "withdrawal_preview", "withdrawals_of"]
