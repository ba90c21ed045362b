"""The whole pipeline on a server workspace gives the same figures as on a
folder: every named read and write runs on PostgreSQL too."""
from __future__ import annotations

import datetime as dt

from petitions import stages
from petitions.counting import draw_sample
from petitions.review.confirm import confirm_invalid
from petitions.store import Workspace
from petitions.summary import summarize


def _run(location, inputs, spec):
    with Workspace(location, create=True) as ws:
        if ws.login is None:
            ws.ensure_user("sup", "supervisor")
        who = ws.login or "sup"
        stages.import_voter_file(ws, inputs / "county" / "voters.csv", user=who)
        stages.import_exemplars(ws, inputs / "county" / "exemplars.csv", user=who)
        d = dt.date.fromisoformat
        fid = stages.create_filing(
            ws, name=spec["name"], ruleset=spec["ruleset"], jurisdiction=spec["jurisdiction"], user=who,
            required=spec["required"], filing_date=d(spec["filing_date"]),
            circulation_start=d(spec["circulation_start"]), circulation_end=d(spec["circulation_end"]))
        for sec in spec["sections"]:
            stages.ingest_document(ws, fid, inputs / sec["path"], user=who, section=sec["section"],
                                   circulator_name=sec["circulator"], workers=1)
        stages.import_keyed_entries(ws, fid, inputs / "keyed.csv", user=who)
        stages.run_all(ws, fid, user=who)
        confirm_invalid(ws, fid, user=who, all_proposed=True)
        draw_sample(ws, fid, seed="both-backends", user=who)
        # A ruling, its undo and a ruling again: the line status kept on the
        # connection and the reviewers' table follow on both backends.
        from petitions import review
        from petitions.summary import reviewer_counts

        lid = review.review_queue(ws, fid, user=who)[0].line_db_id
        first = review.rule(ws, review.load_case(ws, lid), user=who, action="reject", reason_code="not_registered")
        review.undo_ruling(ws, first.ruling_id, user=who)
        review.rule(ws, review.load_case(ws, lid), user=who, action="accept")
        s = summarize(ws, fid)
        s["reviewers"] = [{k: v for k, v in r.items() if k != "user"} for r in reviewer_counts(ws, fid)]
        assert ws.verify_chain().ok
        return s


def test_the_same_filing_gives_the_same_figures_on_both_backends(tmp_path, pg_admin):
    from pg_server import fresh_database

    from fixtures.filing import build_filing

    inputs = tmp_path / "inputs"
    spec = build_filing(inputs, signatures=24, seed=7).params
    on_folder = _run(tmp_path / "ws", inputs, spec)
    on_server = _run(fresh_database(pg_admin), inputs, spec)
    keys = ("lines", "states", "count", "invalid_by_reason", "needs_review_by_reason", "figures", "reviewers")
    for k in keys:
        if k in on_folder:
            a, b = on_folder[k], on_server[k]
            if k == "count":
                a = {x: v for x, v in a.items() if x not in ("frame_hash",)}
                b = {x: v for x, v in b.items() if x not in ("frame_hash",)}
            assert a == b, k
    assert on_folder["count"]["frame_hash"] == on_server["count"]["frame_hash"]
    # the undone rejection is not counted; the accept is, beside the confirmed invalid lines
    (row,) = on_server["reviewers"]
    assert (row["accepted"], row["rejected"]) == (1, on_server["invalid"]) and on_server["accepted_by_person"] == 1
