"""Batches per reviewer: the queue handed out under leases, on both backends.
No case is served to two reviewers at once, an abandoned batch comes back
after its lease, and a supervisor assigns, reclaims and sees who has what."""
from __future__ import annotations

import datetime as dt
import json
import threading

import pytest

from petitions.errors import UserError
from petitions.review import batches
from petitions.rulings import record_ruling
from petitions.stages.filings import create_filing
from petitions.store import Workspace, now_utc


def _people(ws):
    if ws.login is None:
        ws.ensure_user("sup", "supervisor")
        for name in ("ann", "bob", "cy"):
            ws.ensure_user(name, "reviewer", by="sup")
        return {"sup": "sup", "ann": "ann", "bob": "bob", "cy": "cy"}
    # On a server the people are logins; the tests act as the administrator
    # (the database owner: a supervisor) and name reviewers it adds.
    suffix = ws.location.rsplit("/", 1)[1]
    names = {k: f"{k}_{suffix}" for k in ("ann", "bob", "cy")}
    for n in names.values():
        ws.ensure_user(n, "reviewer", password="pw")
    names["sup"] = ws.login
    return names


def _queue_filing(ws, n: int, sup: str) -> tuple[int, list[int]]:
    fid = create_filing(ws, name="F", ruleset="ca-initiative", jurisdiction="City of Los Angeles", user=sup,
                        required=10)
    with ws.transaction():
        sid = ws._insert("INSERT INTO sections (filing_id, number) VALUES (?, 1) RETURNING id", (fid,))
        pid = ws._insert("INSERT INTO pages (section_id, number) VALUES (?, 1) RETURNING id", (sid,))
        ids = []
        for i in range(1, n + 1):
            lid = ws._insert("INSERT INTO lines (filing_id, section_id, page_id, label, seq, number, state) "
                             "VALUES (?, ?, ?, ?, ?, ?, 'signed') RETURNING id",
                             (fid, sid, pid, f"S001-P01-L{i:02d}", 1_001_000 + i, i))
            ws._exec("INSERT INTO determinations (line_id, determination, level, reasons_json, inputs_json, "
                     "ruleset_id, ruleset_version, created_at) VALUES (?, 'needs_review', 'review', ?, '{}', "
                     "'t', '1', ?)", (lid, json.dumps(["signature_mismatch"]), now_utc()))
            ids.append(lid)
    return fid, ids


class Team:
    """Each person's own connection: on a server each signs in as their login."""

    def __init__(self, location):
        self.location = location
        self.ws = Workspace(location, create=True)
        self.names = _people(self.ws)
        self.fid, self.ids = _queue_filing(self.ws, 12, self.names["sup"])
        self._open: dict[str, Workspace] = {}

    def address(self, who: str):
        if self.ws.login is None or who == "sup":
            return self.location
        host = self.location.split("@", 1)[1]
        return f"postgresql://{self.names[who]}:pw@{host}"

    def __call__(self, who: str) -> Workspace:
        if self.ws.login is None or who == "sup":
            return self.ws
        if who not in self._open:
            self._open[who] = Workspace(self.address(who))
        return self._open[who]

    def close(self):
        for w in self._open.values():
            w.close()
        self.ws.close()


@pytest.fixture
def team(workspace_location):
    t = Team(workspace_location)
    yield t
    t.close()


def test_two_reviewers_never_hold_the_same_line(team):
    names, fid, ids = team.names, team.fid, team.ids
    a = batches.checkout(team("ann"), fid, user=names["ann"], size=5)
    b = batches.checkout(team("bob"), fid, user=names["bob"], size=5)
    assert a.line_ids == tuple(ids[:5]) and b.line_ids == tuple(ids[5:10])
    assert batches.checkout(team("ann"), fid, user=names["ann"], size=5).id == a.id  # lines left: the same batch
    c = batches.checkout(team("cy"), fid, user=names["cy"], size=5)
    assert c.line_ids == tuple(ids[10:])
    with pytest.raises(UserError, match="every waiting line is in someone's batch"):
        batches.checkout(team("sup"), fid, user=names["sup"], size=5)


def test_checkouts_at_the_same_moment_share_nothing(team):
    names, fid, ids = team.names, team.fid, team.ids
    got: dict[str, tuple[int, ...]] = {}

    def take(who):
        with Workspace(team.address(who)) as own:  # each workstation its own connection
            got[who] = batches.checkout(own, fid, user=names[who], size=4).line_ids

    threads = [threading.Thread(target=take, args=(w,)) for w in ("ann", "bob", "cy")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    held = [lid for lines in got.values() for lid in lines]
    assert len(held) == 12 and set(held) == set(ids)


def test_an_abandoned_batch_returns_after_its_lease_and_a_worked_one_is_replaced(team):
    names, fid, ids = team.names, team.fid, team.ids
    gone = batches.checkout(team("ann"), fid, user=names["ann"], size=6, lease=dt.timedelta(seconds=-1))
    assert batches.held_batch(team("ann"), fid, names["ann"]) is None   # lease over
    bob = team("bob")
    again = batches.checkout(bob, fid, user=names["bob"], size=6)
    assert again.line_ids == gone.line_ids                           # back in the queue, in order
    for lid in again.line_ids:  # bob rules his batch through, then gets the next lines
        record_ruling(bob, lid, user=names["bob"], action="accept", kind="review", shown={})
    nxt = batches.checkout(bob, fid, user=names["bob"], size=6)
    assert nxt.id != again.id and nxt.line_ids == tuple(ids[6:])


def test_a_supervisor_assigns_reclaims_and_sees_who_has_what(team):
    ws, names, fid, ids = team.ws, team.names, team.fid, team.ids
    given = batches.assign(ws, fid, to=names["cy"], by=names["sup"], line_ids=ids[2:4])
    with pytest.raises(UserError, match="not free"):
        batches.assign(ws, fid, to=names["ann"], by=names["sup"], line_ids=ids[3:5])
    mine = batches.checkout(team("ann"), fid, user=names["ann"], size=3)
    assert set(mine.line_ids).isdisjoint(given.line_ids)
    who = {h["holder"]: h for h in batches.holdings(ws, fid)}
    assert who[names["cy"]]["lines"] == 2 and who[names["ann"]]["left"] == 3
    with pytest.raises(UserError, match="reclaim"):
        batches.give_back(team("ann"), given.id, user=names["ann"])
    batches.reclaim(ws, given.id, by=names["sup"], reason="cy went home")
    assert names["cy"] not in {h["holder"] for h in batches.holdings(ws, fid)}
    kinds = [r["kind"] for r in ws._rows("SELECT kind FROM events WHERE kind LIKE 'batch_%' ORDER BY id")]
    assert kinds == ["batch_assigned", "batch_checked_out", "batch_reclaimed"]


def test_a_reviewer_cannot_hand_out_or_reclaim(tmp_path):
    with Workspace(tmp_path / "ws", create=True) as ws:
        names = _people(ws)
        fid, ids = _queue_filing(ws, 3, names["sup"])
        b = batches.checkout(ws, fid, user="ann", size=2)
        with pytest.raises(UserError, match="only a supervisor"):
            batches.assign(ws, fid, to="bob", by="ann")
        with pytest.raises(UserError, match="only a supervisor"):
            batches.reclaim(ws, b.id, by="bob")


def test_throughput_per_reviewer_by_reason(tmp_path):
    with Workspace(tmp_path / "ws", create=True) as ws:
        names = _people(ws)
        fid, ids = _queue_filing(ws, 4, names["sup"])
        record_ruling(ws, ids[0], user="ann", action="accept", kind="review", shown={})
        record_ruling(ws, ids[1], user="ann", action="reject", reason_code="not_registered", kind="review", shown={})
        record_ruling(ws, ids[2], user="bob", action="accept", kind="review", shown={})
        t = {p["user"]: p for p in batches.throughput(ws, fid)}
        assert t["ann"]["rulings"] == 2 and t["ann"]["by_reason"] == {"accepted": 1, "not_registered": 1}
        assert t["bob"]["by_reason"] == {"accepted": 1} and t["ann"]["lines_per_hour"] == 8.0


def test_a_line_in_someone_elses_batch_is_not_ruled_on_through_any_door(team):
    """`review.rule` (the screen's and the CLI's door) refuses a reviewer a line
    another reviewer holds; once the batch is reclaimed it can be ruled."""
    from petitions.review.case import load_case, rule

    held = batches.checkout(team("ann"), team.fid, user=team.names["ann"], size=3)
    line = held.line_ids[0]
    bob = team("bob")
    with pytest.raises(UserError, match=r"in .*batch .* not ruled on"):
        rule(bob, load_case(bob, line), user=team.names["bob"], action="accept")
    assert load_case(team.ws, line).history == ()  # nothing stored by the refused attempt
    batches.reclaim(team.ws, held.id, by=team.names["sup"], reason="ann went home")
    res = rule(bob, load_case(bob, line), user=team.names["bob"], action="accept")
    assert res.final_status == "valid"
    assert [r.user for r in load_case(team.ws, line).history] == [team.names["bob"]]
