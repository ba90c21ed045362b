"""Line status: the vectorized resolution of rulings equals the one-line
reference :func:`resolve` on every line, and ``line_status`` gives the frame
the dashboard, the counts and the reports read."""
from __future__ import annotations

import dataclasses
import json

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from petitions.law.reasons import REASONS
from petitions.law.resolution import resolve, resolve_frame
from petitions.law.rules import RuleSet
from petitions.status import STATUS_SCHEMA, line_status
from petitions.store import Workspace, now_utc

from store_helpers import determine, filing_with_lines

CODES = sorted(REASONS)
SIGNATURE_CODES = [c for c in CODES if REASONS[c].signature_grounds]
USERS = ["ann", "bob", "cy"]

determinations = st.sampled_from([None, "valid", "needs_review", "invalid"])
det_reasons = st.one_of(st.none(), st.lists(st.sampled_from(CODES + ["review"]), max_size=3))
rulings_of_a_line = st.lists(
    st.one_of(
        st.builds(lambda u: {"user": u, "action": "accept", "reason_code": None}, st.sampled_from(USERS)),
        st.builds(lambda u: {"user": u, "action": "reopen", "reason_code": None}, st.sampled_from(USERS)),
        st.builds(lambda u, c: {"user": u, "action": "escalate", "reason_code": c},
                  st.sampled_from(USERS), st.one_of(st.none(), st.sampled_from(CODES))),
        # Signature grounds drawn often, so the second-person rule is exercised.
        st.builds(lambda u, c: {"user": u, "action": "reject", "reason_code": c},
                  st.sampled_from(USERS), st.one_of(st.sampled_from(SIGNATURE_CODES), st.sampled_from(CODES))),
    ),
    max_size=7,
)
line = st.tuples(determinations, det_reasons, rulings_of_a_line)


def _frames(lines: list[tuple]) -> tuple[pl.DataFrame, pl.DataFrame, list[int]]:
    """The lines (ids in a shuffled-looking order) and their rulings interleaved across lines."""
    ids = [(7 * i + 3) % 1009 for i in range(len(lines))]
    lf = pl.DataFrame({"line_db_id": ids, "determination": [d for d, _, _ in lines],
                       "det_reasons": [r for _, r, _ in lines]},
                      schema={"line_db_id": pl.Int64, "determination": pl.Utf8, "det_reasons": pl.List(pl.Utf8)})
    # Round-robin interleaving: the frame keeps each line's own order, not a line-by-line block.
    rows, k = [], 0
    while any(k < len(rs) for _, _, rs in lines):
        for lid, (_, _, rs) in zip(ids, lines):
            if k < len(rs):
                rows.append({"line_db_id": lid, **rs[k]})
        k += 1
    rf = pl.DataFrame(rows, schema={"line_db_id": pl.Int64, "user": pl.Utf8, "action": pl.Utf8,
                                    "reason_code": pl.Utf8})
    return lf, rf, ids


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(line, max_size=12), rejections_required=st.integers(1, 3))
def test_resolve_frame_equals_resolve_on_every_line(lines, rejections_required):
    lf, rf, ids = _frames(lines)
    got = resolve_frame(lf, rf, rejections_required)
    assert got["line_db_id"].to_list() == ids
    expected = [resolve(rs, det, reasons, rejections_required) for det, reasons, rs in lines]
    assert list(zip(got["status"], got["reason"], got["level"])) == expected


def test_resolve_frame_keeps_the_lines_columns_and_order():
    lf = pl.DataFrame({"line_db_id": [5, 2, 9], "determination": ["valid", None, "needs_review"],
                       "det_reasons": [[], None, ["duplicate"]], "extra": ["a", "b", "c"]})
    rf = pl.DataFrame({"line_db_id": [9], "user": ["ann"], "action": ["accept"], "reason_code": [None]},
                      schema={"line_db_id": pl.Int64, "user": pl.Utf8, "action": pl.Utf8, "reason_code": pl.Utf8})
    got = resolve_frame(lf, rf, 2)
    assert got.columns == ["line_db_id", "determination", "det_reasons", "extra", "status", "reason", "level"]
    assert got.rows() == [(5, "valid", [], "a", "valid", None, "auto"),
                          (2, None, None, "b", "needs_review", None, "review"),
                          (9, "needs_review", ["duplicate"], "c", "valid", None, "ruled")]


def test_resolve_frame_refuses_an_unknown_rejection_reason_as_resolve_does():
    rs = [{"user": "ann", "action": "reject", "reason_code": "no_such_code"}]
    with pytest.raises(KeyError):
        resolve(rs, "needs_review", [], 1)
    lf, rf, _ = _frames([("needs_review", [], rs)])
    with pytest.raises(KeyError):
        resolve_frame(lf, rf, 1)


@pytest.fixture
def ws(tmp_path):
    w = Workspace(tmp_path / "ws", create=True)
    yield w
    w.close()


def _rule(ws: Workspace, line_id: int, user: str, action: str, code: str | None = None, kind: str = "review"):
    # Behind the library's back: record_ruling would refuse some of these
    # sequences, and the resolution must still agree with the reference.
    with ws.transaction():
        ws._exec("INSERT INTO rulings (line_id, user, role, kind, action, reason_code, shown_json, created_at) "
                 "VALUES (?, ?, 'reviewer', ?, ?, ?, '{}', ?)", (line_id, user, kind, action, code, now_utc()))


def test_line_status_resolves_each_line_as_the_reference_does(ws):
    fid, ids = filing_with_lines(ws, ["signed"] * 7 + ["blank", "struck"])
    # A two-person rule, so a lone signature rejection waits for a second opinion.
    rs = RuleSet.from_json(ws._scalar("SELECT ruleset_json FROM filings WHERE id = ?", (fid,)))
    need = 2
    with ws.transaction():
        ws._exec("UPDATE filings SET ruleset_json = ? WHERE id = ?",
                 (dataclasses.replace(rs, rejections_required=need).to_json(), fid))
    determine(ws, ids[0], "valid", voter_id="V1")
    determine(ws, ids[1], "needs_review", ["signature_mismatch"])
    determine(ws, ids[2], "needs_review", ["duplicate"])
    determine(ws, ids[2], "needs_review", ["not_registered", "duplicate"])  # the newest determination counts
    determine(ws, ids[3], "needs_review", ["signature_mismatch"])
    determine(ws, ids[4], "needs_review", [])
    determine(ws, ids[7], "invalid", ["blank_line"])
    # ids[5], ids[6] and ids[8] have no determination yet.
    _rule(ws, ids[1], "ann", "reject", "signature_mismatch")
    _rule(ws, ids[2], "ann", "reject", "not_registered")
    _rule(ws, ids[3], "ann", "reject", "signature_mismatch")
    _rule(ws, ids[3], "bob", "escalate")
    _rule(ws, ids[3], "bob", "reject", "signature_mismatch")
    _rule(ws, ids[4], "ann", "accept")
    _rule(ws, ids[4], "sup", "reopen")
    _rule(ws, ids[0], "sup", "reject", "signature_mismatch", kind="audit")  # audits never count
    _rule(ws, ids[5], "ann", "escalate", "address_mismatch")
    st = line_status(ws, fid)
    assert st.schema == pl.Schema(STATUS_SCHEMA)
    assert st["line_db_id"].to_list() == ids and st["seq"].is_sorted()
    for row in st.iter_rows(named=True):
        rulings = ws._rows("SELECT user, action, reason_code FROM rulings WHERE line_id = ? AND kind <> 'audit' "
                           "ORDER BY id", (row["line_db_id"],))
        det = ws._one("SELECT determination, reasons_json FROM current_determination WHERE line_id = ?",
                      (row["line_db_id"],))
        reasons = json.loads(det["reasons_json"]) if det else []
        assert row["det_reasons"] == reasons
        assert (row["status"], row["reason"], row["level"]) == resolve(
            rulings, det["determination"] if det else None, reasons, need)
    assert st.filter(pl.col("line_db_id") == ids[0])["voter_id"].item() == "V1"
    levels = dict(zip(st["line_db_id"], st["level"]))
    assert [levels[i] for i in ids[:6]] == ["auto", "second_opinion", "ruled", "ruled", "review", "escalated"]
    assert st.filter(pl.col("line_db_id") == ids[2])["det_reasons"].item().to_list() == ["not_registered", "duplicate"]


def test_line_status_of_a_filing_without_lines_is_an_empty_frame_of_the_same_schema(ws):
    fid, _ = filing_with_lines(ws, [])
    st = line_status(ws, fid)
    assert st.height == 0 and st.schema == pl.Schema(STATUS_SCHEMA)


def test_dashboard_counts_rulings_per_person_by_action(ws):
    from petitions.summary import dashboard

    fid, ids = filing_with_lines(ws, ["signed"] * 4)
    for i in ids:
        determine(ws, i, "needs_review", ["signature_mismatch"])
    _rule(ws, ids[0], "ann", "accept")
    _rule(ws, ids[1], "ann", "reject", "signature_mismatch")
    _rule(ws, ids[2], "ann", "escalate")
    _rule(ws, ids[2], "bob", "reopen")  # reopenings are not counted
    _rule(ws, ids[3], "bob", "accept", kind="audit")
    reviewers = dashboard(ws, fid)["reviewers"]
    assert reviewers == [
        {"user": "ann", "role": "reviewer", "rulings": 3, "accepted": 1, "rejected": 1, "escalated": 1, "audits": 0},
        {"user": "bob", "role": "reviewer", "rulings": 1, "accepted": 1, "rejected": 0, "escalated": 0, "audits": 1},
    ]


def test_a_kept_status_frame_follows_every_later_write(ws):
    """line_status keeps its frame on the connection between refreshes: each
    later ruling, determination, match or new line must show exactly as a
    cold read would show it, from this connection or another one."""
    fid, ids = filing_with_lines(ws, ["signed"] * 6)
    for lid in ids:
        determine(ws, lid, "needs_review", ["signature_mismatch"])

    def same_as_cold():
        kept = line_status(ws, fid)
        ws.memo.clear()
        assert kept.equals(line_status(ws, fid))
        return kept

    assert same_as_cold()["status"].to_list() == ["needs_review"] * 6
    _rule(ws, ids[0], "ann", "accept")
    assert same_as_cold()["status"][0] == "valid"
    with Workspace(ws.root) as other:   # another workstation rules
        _rule(other, ids[1], "ann", "reject", "not_registered")
    assert same_as_cold()["status"][1] == "invalid"
    determine(ws, ids[2], "valid", voter_id="V9")                  # a new determination and match
    st = same_as_cold()
    assert st["status"][2] == "valid" and st["voter_id"][2] == "V9"
    fid2, more = filing_with_lines(ws, ["signed"])                 # lines of another filing change nothing here
    assert same_as_cold().height == 6


@settings(max_examples=25, deadline=None)
@given(steps=st.lists(st.tuples(st.integers(0, 4), rulings_of_a_line.filter(bool)), min_size=1, max_size=6))
def test_resolving_only_the_lines_new_rulings_touch_equals_a_cold_read(tmp_path_factory, steps):
    """After each batch of rulings, the kept frame (re-resolved only where
    rulings arrived) is exactly the frame a cold read gives."""
    with Workspace(tmp_path_factory.mktemp("ws"), create=True) as ws:
        fid, ids = filing_with_lines(ws, ["signed"] * 4 + ["blank"])
        for i, d in zip(ids, ("needs_review", "valid", "needs_review", None, "needs_review")):
            if d is not None:
                determine(ws, i, d, ["signature_mismatch"] if d != "valid" else [])
        line_status(ws, fid)
        for which, rulings in steps:
            for r in rulings:
                _rule(ws, ids[which], r["user"], r["action"], r["reason_code"])
            kept = line_status(ws, fid)
            cold = Workspace(ws.root)
            try:
                assert kept.equals(line_status(cold, fid))
            finally:
                cold.close()
