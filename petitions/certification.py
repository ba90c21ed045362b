"""Certificates that hold: a certified filing is locked until a supervisor reopens it.

After ``petitions certify`` the count may not move: rulings, samples and
escalations on the filing are refused (:func:`require_unlocked`) until a
supervisor reopens it with a reason (:func:`reopen`), which marks the
certificate *superseded*; only then can a new certificate be issued. The
state is read from the hash-chained event log, so it cannot drift from it.
"""
from __future__ import annotations

import json

from petitions.errors import UserError
from petitions.store import Workspace
from petitions.store import certification as cert_db

__all__ = ["certification_state", "require_unlocked", "reopen"]


def certification_state(ws: Workspace, filing_id: int) -> dict:
    """Where the filing stands with its certificates.

    Returns
    -------
    dict
        ``state``: ``"none"`` (never certified), ``"certified"`` (the latest
        certificate holds; the filing is locked) or ``"superseded"`` (reopened
        since its latest certificate); ``certificates`` (how many were
        issued); ``certificate`` (the latest one's event: ``event_id``,
        ``ts``, ``user`` and its payload: result, frame_hash, pdf_sha256 …)
        and ``reopened`` (the reopening event after it, or None).
    """
    events = cert_db.certification_events(ws, filing_id)
    certs = [e for e in events if e["kind"] == "certified"]
    if not certs:
        return {"state": "none", "certificates": 0, "certificate": None, "reopened": None}
    last = certs[-1]
    after = [e for e in events if e["id"] > last["id"] and e["kind"] == "certification_reopened"]

    def _ev(e: dict) -> dict:
        return {"event_id": e["id"], "ts": e["ts"], "user": e["user"], **json.loads(e["payload_json"])}

    return {"state": "superseded" if after else "certified", "certificates": len(certs),
            "certificate": _ev(last), "reopened": _ev(after[0]) if after else None}


def require_unlocked(ws: Workspace, filing_id: int, what: str, *, hold: bool = False) -> None:
    """Refuse `what` (e.g. "a ruling") while the filing's certificate holds.

    Every door that can move the count calls it: rulings, samples and
    full-count orders, and ingest, keying, withdrawals and the pipeline's
    stages (match, signatures, triage).

    With ``hold=True`` (inside the write transaction of the change it
    guards), the event chain's lock is taken first, so no certificate can be
    issued between this check and the change (on a server; SQLite's write
    transaction serialises them already).

    Raises
    ------
    UserError
        Naming the certificate (result, date, who, frame) and the way out.
    """
    if hold:
        cert_db.hold_log(ws)
    st = certification_state(ws, filing_id)
    if st["state"] != "certified":
        return
    c = st["certificate"]
    frame = f", frame {str(c.get('frame_hash'))[:12]}…" if c.get("frame_hash") else ""
    from petitions.store import filings as filings_db

    row = filings_db.filing_by_id(ws, filing_id)
    named = f"filing {row['name']}" if row else f"filing {filing_id}"
    raise UserError(f"{named} was certified {str(c.get('result', '')).replace('_', ' ')} on {c['ts'][:10]} by "
                    f"{c['user']}{frame}; {what} is refused until a supervisor reopens it "
                    "(petitions reopen --reason TEXT), which supersedes the certificate")


def reopen(ws: Workspace, filing_id: int, *, user: str, reason: str) -> dict:
    """Reopen a certified filing (a supervisor, with a reason): the
    certificate is marked superseded and the filing takes rulings again.

    Returns the ``certification_reopened`` event's payload.
    """
    ws.require_supervisor(user, "reopen a certified filing")
    if not (reason or "").strip():
        raise UserError("say why the certified filing is reopened (--reason); it is recorded with the certificate")
    with ws.transaction():
        st = certification_state(ws, filing_id)
        if st["state"] != "certified":
            raise UserError("the filing has no certificate in force to reopen" +
                            (" (its last certificate is already superseded)" if st["state"] == "superseded" else ""))
        c = st["certificate"]
        payload = {"reason": reason.strip(), "certificate_event": c["event_id"], "result": c.get("result"),
                   "frame_hash": c.get("frame_hash"), "pdf_sha256": c.get("pdf_sha256")}
        ws.log_event("certification_reopened", user=user, filing_id=filing_id, payload=payload)
    return payload
