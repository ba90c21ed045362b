"""Stage: filings and their rule sets.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from petitions.errors import UserError
from petitions.store import Workspace, now_utc
from petitions.store import filings as filings_db


def create_filing(
    ws: Workspace,
    *,
    name: str,
    ruleset: str,
    jurisdiction: str,
    user: str,
    district: str | None = None,
    required: int | None = None,
    filing_date: _dt.date | None = None,
    circulation_start: _dt.date | None = None,
    circulation_end: _dt.date | None = None,
    office: str | None = None,
    seats: int | None = None,
    period: str | None = None,
    candidate: str | None = None,
) -> int:
    """Create a filing under a rule set (a built-in name or a JSON file).

    With `office`, the filing belongs to that office of the filing `period`
    (made on first use with its number of `seats`, default 1; the period
    defaults to the filing date's year): the rule set's limits across
    filings (:class:`petitions.law.rules.CrossFilingRules`) apply among the
    filings of one office and period. `candidate` names whose paper it is,
    so that a candidate's in-lieu petition and nomination paper are counted
    together. See :func:`voter_file_warnings` for the checks against the
    voter file.
    """
    from petitions.law.rules import load_ruleset

    ws.require_supervisor(user, "create a filing or choose its rule set")
    rs = load_ruleset(ruleset)
    if filings_db.filing_id_by_name(ws, name) is not None:
        raise UserError(f"a filing named {name!r} already exists in this workspace", where=ws.location)
    if seats is not None and seats < 1:
        raise UserError(f"an office has at least one seat, got {seats}", where="--seats")
    if office is None and (seats is not None or period is not None):
        raise UserError("--seats and --period belong to an office; give --office too")
    with ws.transaction():
        office_id = None
        if office is not None:
            period = period or (str(filing_date.year) if filing_date else "current")
            rec = filings_db.office_by_name(ws, period, office)
            if rec is None:
                office_id = filings_db.add_office(ws, period=period, name=office, seats=seats or 1,
                                                  created_at=now_utc(), created_by=user)
                ws.log_event("office_created", user=user,
                             payload={"office_id": office_id, "period": period, "name": office, "seats": seats or 1})
            else:
                if seats is not None and seats != rec["seats"]:
                    raise UserError(f"office {office!r} of period {period!r} has {rec['seats']} seat(s), "
                                    f"not {seats}", where="--seats")
                office_id = int(rec["id"])
        filing_id = filings_db.add_filing(
            ws, name=name, kind=rs.kind, jurisdiction=jurisdiction, district=district, required=required,
            filing_date=_iso(filing_date), circulation_start=_iso(circulation_start),
            circulation_end=_iso(circulation_end), ruleset_id=rs.id, ruleset_version=str(rs.version),
            ruleset_json=rs.to_json(), created_at=now_utc(), created_by=user, office_id=office_id,
            candidate=candidate)
        ws.log_event("filing_created", user=user, filing_id=filing_id,
                     payload={"name": name, "ruleset": rs.id, "ruleset_version": rs.version,
                              "required": required, "jurisdiction": jurisdiction, "district": district,
                              "office_id": office_id, "office": office, "period": period, "candidate": candidate})
    return filing_id


def voter_file_warnings(ws: Workspace, filing: "Filing | int") -> list[str]:
    """Plain-words warnings about a filing the active voter file cannot serve.

    A filing's district that no voter's ``district`` holds, or a municipal
    jurisdiction's city that no voter's city is, sends every line to review
    as out of district; this says so before the run, at set-up and in the
    summary. An empty list when all is well.
    """
    import polars as pl

    from petitions.store import voters as voters_db

    if not isinstance(filing, Filing):
        filing = get_filing(ws, filing)
    row = voters_db.active_voter_file(ws)
    if not row:
        return ["no voter file imported yet: lines cannot be matched until one is (petitions import-voters)"]
    from matchers.normalize import normalize_city

    # the dashboard asks on every refresh: the answer changes only with the voter file or the filing
    memo_key = ("voter_file_warnings", row["id"], filing.district, filing.jurisdiction)
    if memo_key in ws.memo:
        return list(ws.memo[memo_key])
    out = []
    path = ws.crops.local_path(row["parquet_path"])
    have = set(pl.read_parquet_schema(path))
    voters = pl.read_parquet(path, columns=[c for c in ("district", "k_city", "city") if c in have])
    if "district" not in voters.columns:
        voters = voters.with_columns(pl.lit(None, pl.Utf8).alias("district"))
    if "k_city" not in voters.columns:
        city = pl.col("city").cast(pl.Utf8) if "city" in voters.columns else pl.lit(None, pl.Utf8)
        voters = voters.with_columns(normalize_city(city).alias("k_city"))
    if filing.district:
        if voters.filter(pl.col("district").cast(pl.Utf8) == filing.district).height == 0:
            known = sorted(str(d) for d in voters["district"].drop_nulls().unique().to_list())
            shown = ", ".join(known[:8]) + (" …" if len(known) > 8 else "") if known else "none"
            out.append(f"district {filing.district!r} is not in the voter file's district column "
                       f"(it has: {shown}); every line would be flagged out of district")
    if filing.jurisdiction_city and filing.jurisdiction.strip().lower().startswith(("city of", "town of")):
        jc = pl.DataFrame({"c": [filing.jurisdiction_city]}).select(normalize_city(pl.col("c")))["c"][0]
        if voters.filter(pl.col("k_city") == jc).height == 0:
            out.append(f"city {filing.jurisdiction_city!r} is not in the voter file's cities; every line would "
                       "be flagged out of the jurisdiction")
    ws.memo[memo_key] = tuple(out)
    return out


def _iso(d) -> str | None:
    return d.isoformat() if d is not None else None


def _date(s: str | None) -> _dt.date | None:
    return _dt.date.fromisoformat(s) if s else None


@dataclass(frozen=True)
class Filing:
    id: int
    name: str
    kind: str
    jurisdiction: str
    district: str | None
    required: int | None
    filing_date: _dt.date | None
    circulation_start: _dt.date | None
    circulation_end: _dt.date | None
    ruleset_json: str
    office_id: int | None = None
    office: str | None = None
    seats: int | None = None
    period: str | None = None
    candidate: str | None = None

    @property
    def jurisdiction_city(self) -> str:
        """The city a municipal jurisdiction names ("City of Los Angeles" → "Los Angeles")."""
        j = self.jurisdiction.strip()
        for prefix in ("City of ", "city of ", "Town of "):
            if j.startswith(prefix):
                return j[len(prefix):]
        return j

    @property
    def ruleset(self):
        from petitions.law.rules import RuleSet

        return RuleSet.from_json(self.ruleset_json)


def get_filing(ws: Workspace, filing: int | str | None = None) -> Filing:
    """A filing by id or name; with None, the only (or newest) filing."""
    if filing is None:
        rec = filings_db.newest_filing(ws)
    elif isinstance(filing, int) or (isinstance(filing, str) and filing.isdigit()):
        rec = filings_db.filing_by_id(ws, int(filing))
    else:
        rec = filings_db.filing_by_name(ws, filing)
    if rec is None:
        raise UserError(f"no filing {filing!r}" if filing is not None else "no filing in this workspace yet",
                        where=ws.location)
    return Filing(
        id=rec["id"], name=rec["name"], kind=rec["kind"], jurisdiction=rec["jurisdiction"],
        district=rec["district"], required=rec["required"], filing_date=_date(rec["filing_date"]),
        circulation_start=_date(rec["circulation_start"]), circulation_end=_date(rec["circulation_end"]),
        ruleset_json=rec["ruleset_json"], office_id=rec.get("office_id"), office=rec.get("office_name"),
        seats=rec.get("office_seats"), period=rec.get("office_period"), candidate=rec.get("candidate"),
    )


