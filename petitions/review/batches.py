"""Batches: the review queue handed out among a team.

A reviewer checks out a batch (say 50 lines) of a queue and holds it under
a lease; no line is in two live batches, so no case is served to two
reviewers at once. Working a line renews the lease; a batch given back, or
whose lease runs out, returns its unruled lines to the queue. A supervisor
can hand a batch to someone, reclaim one, and see who holds what, with each
reviewer's throughput. Every hand-out, renewal of ownership and reclaim is
an event.
"""
from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

from petitions.errors import UserError
from petitions.store import batches as batches_db
from petitions.store import now_utc
from petitions.store.workspace import Workspace

DEFAULT_SIZE = 50
DEFAULT_LEASE = _dt.timedelta(minutes=30)


@dataclass(frozen=True)
class Batch:
    id: int
    filing_id: int
    mode: str
    holder: str
    lease_until: str
    line_ids: tuple[int, ...]


def _later(delta: _dt.timedelta) -> str:
    return (_dt.datetime.now(_dt.timezone.utc) + delta).isoformat(timespec="microseconds")


def _batch(ws: Workspace, row: dict) -> Batch:
    lines = tuple(r["line_id"] for r in batches_db.batch_lines(ws, [row["id"]]))
    return Batch(row["id"], row["filing_id"], row["mode"], row["holder"], row["lease_until"], lines)


def _waiting(ws: Workspace, filing_id: int, user: str, mode: str) -> list[int]:
    from petitions.review.queue import review_queue

    return [it.line_db_id for it in review_queue(ws, filing_id, user=user, mode=mode)]


def held_batch(ws: Workspace, filing_id: int, user: str, *, mode: str = "review") -> Batch | None:
    """The live batch `user` holds in this queue, if any."""
    user = ws.acting_user(user)
    for row in batches_db.live_batches(ws, filing_id, now_utc(), mode=mode):
        if row["holder"] == user:
            return _batch(ws, row)
    return None


def my_queue(ws: Workspace, filing_id: int, *, user: str, mode: str = "review") -> list:
    """The review queue as `user` sees it while the queue is handed out in
    batches: only the waiting lines of the batch they hold in this queue,
    if it has any left; else every waiting line nobody else holds. (A line
    in someone else's live batch is never shown, so no case is served to
    two reviewers at once.) The blind QA audit queue is not batched.
    """
    from petitions.review.queue import review_queue

    user = ws.acting_user(user)
    items = review_queue(ws, filing_id, user=user, mode=mode)
    if mode == "audit" or not items:
        return items
    live = batches_db.live_batches(ws, filing_id, now_utc())
    if not live:
        return items
    holder = {b["id"]: (b["holder"], b["mode"]) for b in live}
    lines = batches_db.batch_lines(ws, list(holder))
    waiting = {it.line_db_id for it in items}
    mine = {r["line_id"] for r in lines if holder[r["batch_id"]] == (user, mode)} & waiting
    if mine:
        return [it for it in items if it.line_db_id in mine]
    others = {r["line_id"] for r in lines if holder[r["batch_id"]][0] != user}
    return [it for it in items if it.line_db_id not in others]


def batch_status(ws: Workspace, filing_id: int, *, user: str, mode: str = "review") -> dict | None:
    """The live batch `user` holds in queue `mode`, for the review screen:
    ``batch_id``, ``lines``, ``done`` (no longer waiting), ``left``,
    ``lease_until`` (ISO, UTC) and ``assigned_by``; None when they hold none."""
    from petitions.status import line_status

    b = held_batch(ws, filing_id, user, mode=mode)
    if b is None:
        return None
    st = line_status(ws, filing_id)
    waiting = set(st.filter(st["status"] == "needs_review")["line_db_id"].to_list())
    left = sum(1 for lid in b.line_ids if lid in waiting)
    row = batches_db.batch(ws, b.id) or {}
    return {"batch_id": b.id, "mode": b.mode, "lines": len(b.line_ids), "done": len(b.line_ids) - left,
            "left": left, "lease_until": b.lease_until, "assigned_by": row.get("assigned_by")}


def leased_to_others(ws: Workspace, filing_id: int, user: str) -> set[int]:
    """Lines in someone else's live batch (any queue)."""
    rows = [r for r in batches_db.live_batches(ws, filing_id, now_utc()) if r["holder"] != user]
    return {r["line_id"] for r in batches_db.batch_lines(ws, [r["id"] for r in rows])}


def holder_elsewhere(ws: Workspace, filing_id: int, line_id: int, user: str) -> dict | None:
    """The live batch of someone other than `user` that holds `line_id`, if any
    (``{"batch_id", "holder", "lease_until"}``)."""
    rows = [r for r in batches_db.live_batches(ws, filing_id, now_utc()) if r["holder"] != user]
    if not rows:
        return None
    by_id = {r["id"]: r for r in rows}
    for r in batches_db.batch_lines(ws, list(by_id)):
        if r["line_id"] == line_id:
            b = by_id[r["batch_id"]]
            return {"batch_id": b["id"], "holder": b["holder"], "lease_until": b["lease_until"]}
    return None


def checkout(ws: Workspace, filing_id: int, *, user: str, mode: str = "review", size: int = DEFAULT_SIZE,
             lease: _dt.timedelta = DEFAULT_LEASE) -> Batch:
    """Take the next `size` lines of queue `mode` that nobody holds.

    A reviewer who already holds a live batch in the queue with lines still
    waiting gets it back with its lease renewed; one whose batch is worked
    through gets a new one.
    """
    user = ws.acting_user(user)
    if size < 1:
        raise UserError(f"a batch holds at least one line, not {size}")
    with ws.transaction():
        batches_db.lock_filing(ws, filing_id)
        # The queue as it is now, under the lock: a line ruled or escalated
        # a moment ago (by the last holder of its batch) is not handed out.
        waiting = _waiting(ws, filing_id, user, mode)
        now = now_utc()
        live = batches_db.live_batches(ws, filing_id, now, mode=None)
        held = {r["line_id"]: r["batch_id"] for r in batches_db.batch_lines(ws, [b["id"] for b in live])}
        for b in live:
            if b["holder"] == user and b["mode"] == mode:
                left = [lid for lid, bid in held.items() if bid == b["id"] and lid in set(waiting)]
                if left:
                    until = _later(lease)
                    batches_db.extend_lease(ws, b["id"], until)
                    return _batch(ws, {**b, "lease_until": until})
                batches_db.close_batch(ws, b["id"], closed_at=now, closed_by=user, reason="worked through")
        free = [lid for lid in waiting if lid not in held][:size]
        if not free:
            raise UserError("no line of this queue is free: every waiting line is in someone's batch"
                            if waiting else "the queue is empty")
        until = _later(lease)
        bid = batches_db.insert_batch(ws, filing_id=filing_id, mode=mode, holder=user, assigned_by=user,
                                      created_at=now, lease_until=until, line_ids=free)
        ws.log_event("batch_checked_out", user=user, filing_id=filing_id,
                     payload={"batch_id": bid, "mode": mode, "lines": len(free), "lease_until": until})
    return Batch(bid, filing_id, mode, user, until, tuple(free))


def renew(ws: Workspace, batch_id: int, *, user: str, lease: _dt.timedelta = DEFAULT_LEASE) -> str:
    """Extend the lease of a batch `user` holds (working it does this)."""
    user = ws.acting_user(user)
    row = batches_db.batch(ws, batch_id)
    if row is None or row["closed_at"] is not None or row["holder"] != user:
        raise UserError(f"batch {batch_id} is not yours to keep")
    until = _later(lease)
    with ws.transaction():
        batches_db.extend_lease(ws, batch_id, until)
    return until


def give_back(ws: Workspace, batch_id: int, *, user: str) -> None:
    """Return a batch's unruled lines to the queue."""
    user = ws.acting_user(user)
    row = batches_db.batch(ws, batch_id)
    if row is None or row["closed_at"] is not None:
        raise UserError(f"batch {batch_id} is not open")
    if row["holder"] != user:
        raise UserError(f"batch {batch_id} is {row['holder']}'s; a supervisor can reclaim it")
    with ws.transaction():
        batches_db.close_batch(ws, batch_id, closed_at=now_utc(), closed_by=user, reason="given back")
        ws.log_event("batch_given_back", user=user, filing_id=row["filing_id"], payload={"batch_id": batch_id})


def assign(ws: Workspace, filing_id: int, *, to: str, by: str, mode: str = "review", size: int = DEFAULT_SIZE,
           line_ids: list[int] | None = None, lease: _dt.timedelta = DEFAULT_LEASE) -> Batch:
    """A supervisor hands `to` a batch: the given waiting lines, or the next
    `size` free ones."""
    by = ws.acting_user(by)
    ws.require_supervisor(by, "hand out batches")
    if ws.user_role(to) is None:
        raise UserError(f"unknown user {to!r}")
    with ws.transaction():
        batches_db.lock_filing(ws, filing_id)
        waiting = _waiting(ws, filing_id, by, mode)
        now = now_utc()
        live = batches_db.live_batches(ws, filing_id, now)
        held = {r["line_id"] for r in batches_db.batch_lines(ws, [b["id"] for b in live])}
        if line_ids is not None:
            bad = [lid for lid in line_ids if lid not in set(waiting) or lid in held]
            if bad:
                raise UserError(f"{len(bad)} of the chosen lines are not free in this queue (ruled, or in a batch)")
            chosen = list(line_ids)
        else:
            chosen = [lid for lid in waiting if lid not in held][:size]
        if not chosen:
            raise UserError("no free line to hand out in this queue")
        until = _later(lease)
        bid = batches_db.insert_batch(ws, filing_id=filing_id, mode=mode, holder=to, assigned_by=by,
                                      created_at=now, lease_until=until, line_ids=chosen)
        ws.log_event("batch_assigned", user=by, filing_id=filing_id,
                     payload={"batch_id": bid, "to": to, "mode": mode, "lines": len(chosen)})
    return Batch(bid, filing_id, mode, to, until, tuple(chosen))


def reclaim(ws: Workspace, batch_id: int, *, by: str, reason: str | None = None) -> None:
    """A supervisor takes a batch back (its unruled lines return to the queue)."""
    by = ws.acting_user(by)
    ws.require_supervisor(by, "reclaim batches")
    row = batches_db.batch(ws, batch_id)
    if row is None or row["closed_at"] is not None:
        raise UserError(f"batch {batch_id} is not open")
    with ws.transaction():
        batches_db.close_batch(ws, batch_id, closed_at=now_utc(), closed_by=by, reason=reason or "reclaimed")
        ws.log_event("batch_reclaimed", user=by, filing_id=row["filing_id"],
                     payload={"batch_id": batch_id, "holder": row["holder"], "reason": reason})


def holdings(ws: Workspace, filing_id: int) -> list[dict]:
    """Who holds what: each live batch with its holder, lines and lines left."""
    from petitions.status import line_status

    live = batches_db.live_batches(ws, filing_id, now_utc())
    if not live:
        return []
    st = line_status(ws, filing_id)
    pending = set(st.filter(st["status"] == "needs_review")["line_db_id"].to_list())
    lines: dict[int, list[int]] = {}
    for r in batches_db.batch_lines(ws, [b["id"] for b in live]):
        lines.setdefault(r["batch_id"], []).append(r["line_id"])
    out = []
    for b in live:
        mine = lines.get(b["id"], [])
        left = sum(1 for lid in mine if lid in pending)
        out.append({"batch_id": b["id"], "holder": b["holder"], "mode": b["mode"], "assigned_by": b["assigned_by"],
                    "lines": len(mine), "left": left, "done": len(mine) - left, "lease_until": b["lease_until"]})
    return out


def throughput(ws: Workspace, filing_id: int, *, hours: float = 8.0) -> list[dict]:
    """Each person's rulings over the last `hours`: lines per hour, and counts
    by reason (``accepted`` for acceptances)."""
    since = (_dt.datetime.now(_dt.timezone.utc) - _dt.timedelta(hours=hours)).isoformat(timespec="microseconds")
    per: dict[str, dict] = {}
    for r in batches_db.ruled_lines_since(ws, filing_id, since):
        if r["action"] == "reopen" or r["kind"] == "audit":
            continue
        p = per.setdefault(r["user"], {"user": r["user"], "rulings": 0, "first": r["created_at"],
                                        "last": r["created_at"], "by_reason": {}})
        p["rulings"] += 1
        p["last"] = r["created_at"]
        key = "accepted" if r["action"] == "accept" else (r["reason_code"] or r["action"])
        p["by_reason"][key] = p["by_reason"].get(key, 0) + 1
    out = []
    for p in per.values():
        span = (_dt.datetime.fromisoformat(p["last"]) - _dt.datetime.fromisoformat(p["first"])).total_seconds()
        p["lines_per_hour"] = round(p["rulings"] / max(span / 3600.0, 0.25), 1)
        out.append(p)
    return sorted(out, key=lambda p: p["user"])
