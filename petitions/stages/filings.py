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
) -> int:
    """Create a filing under a rule set (a built-in name or a JSON file)."""
    from petitions.law.rules import load_ruleset

    ws.require_supervisor(user, "create a filing or choose its rule set")
    rs = load_ruleset(ruleset)
    if filings_db.filing_id_by_name(ws, name) is not None:
        raise UserError(f"a filing named {name!r} already exists in this workspace", where=str(ws.root))
    with ws.transaction():
        filing_id = filings_db.add_filing(
            ws, name=name, kind=rs.kind, jurisdiction=jurisdiction, district=district, required=required,
            filing_date=_iso(filing_date), circulation_start=_iso(circulation_start),
            circulation_end=_iso(circulation_end), ruleset_id=rs.id, ruleset_version=str(rs.version),
            ruleset_json=rs.to_json(), created_at=now_utc(), created_by=user)
        ws.log_event("filing_created", user=user, filing_id=filing_id,
                     payload={"name": name, "ruleset": rs.id, "ruleset_version": rs.version,
                              "required": required, "jurisdiction": jurisdiction, "district": district})
    return filing_id


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
                        where=str(ws.root))
    return Filing(
        id=rec["id"], name=rec["name"], kind=rec["kind"], jurisdiction=rec["jurisdiction"],
        district=rec["district"], required=rec["required"], filing_date=_date(rec["filing_date"]),
        circulation_start=_date(rec["circulation_start"]), circulation_end=_date(rec["circulation_end"]),
        ruleset_json=rec["ruleset_json"],
    )

