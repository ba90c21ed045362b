"""What a reviewer may read of signers and voters on a server, tested by
attack (issue 17, item 3: "a reviewer's connection cannot ... read the
proponent or full exports ... even with a hand-written SQL statement").

A workspace on the test server with the voter file imported through the
real import, one filing whose lines are matched to a few voters, and a
reviewer's and a supervisor's logins. The reviewer tries to read the voter
file in bulk (its records, its stored copy, the look-up log, exemplars of
voters no line names, past the row-level policies) and to export: every
attempt is refused or comes back empty. Then the review path works as
that reviewer: queue, case with its candidates' records, a look-up by
name, a ruling that names the voter chosen by look-up.
"""
from __future__ import annotations

import json

import pytest

from petitions.errors import UserError
from petitions.stages.filings import create_filing
from petitions.stages.voters import import_voter_file
from petitions.store import Workspace, now_utc

PASSWORDS = {"ann": "ann-pw-1", "sue": "sue-pw-1"}
TIED = {"V001", "V002", "V003"}          # a line's match or one of its candidates


@pytest.fixture(scope="module")
def office(tmp_path_factory, pg_admin):
    from pg_server import fresh_database

    from gui_workspace_fixture import voters_frame

    tmp = tmp_path_factory.mktemp("office")
    admin_url = fresh_database(pg_admin)
    csv = tmp / "voters.csv"
    voters_frame().write_csv(csv)
    with Workspace(admin_url, create=True) as admin:
        suffix = admin_url.rsplit("/", 1)[1]
        names = {k: f"{k}_{suffix}" for k in PASSWORDS}
        admin.ensure_user(names["ann"], "reviewer", password=PASSWORDS["ann"])
        admin.ensure_user(names["sue"], "supervisor", password=PASSWORDS["sue"])
        who = admin.login
        import_voter_file(admin, csv, user=who)
        fid = create_filing(admin, name="Measure V", ruleset="ca-initiative", jurisdiction="City of Los Angeles",
                            user=who, required=10)
        run = admin.start_run("match", filing_id=fid, user=who, model_version="t")
        vf = admin._scalar("SELECT id FROM voter_files WHERE active = 1")
        lines = []
        with admin.transaction():
            sid = admin._insert("INSERT INTO sections (filing_id, number) VALUES (?, 1) RETURNING id", (fid,))
            pid = admin._insert("INSERT INTO pages (section_id, number) VALUES (?, 1) RETURNING id", (sid,))
            for i, (voter, cands, name) in enumerate(
                    [("V001", [], "Maria Garcia Lopez"), ("V002", ["V003"], "Jose Hernandez"),
                     (None, [], "Hovik Sarkissian")], start=1):
                lid = admin._insert("INSERT INTO lines (filing_id, section_id, page_id, label, seq, number, state) "
                                    "VALUES (?, ?, ?, ?, ?, ?, 'signed') RETURNING id",
                                    (fid, sid, pid, f"S001-P01-L{i:02d}", 1_001_000 + i, i))
                admin._exec("INSERT INTO keyed_entries (line_id, name, address, city, zip, source, keyed_by, keyed_at) "
                            "VALUES (?, ?, '100 Main St', 'Los Angeles', '90012', 't', ?, ?)",
                            (lid, name, who, now_utc()))
                cand_json = json.dumps([{"voter_id": v, "score": 0.9} for v in ([voter] if voter else []) + cands])
                admin._exec("INSERT INTO matches (line_id, run_id, voter_file_id, voter_id, score, status, "
                            "candidates_json, details_json, model_version) VALUES (?, ?, ?, ?, 0.9, ?, ?, '{}', 't')",
                            (lid, run, vf, voter, "review" if voter else "no_match", cand_json))
                admin._exec("INSERT INTO determinations (line_id, determination, level, reasons_json, inputs_json, "
                            "ruleset_id, ruleset_version, created_at) VALUES (?, 'needs_review', 'review', ?, '{}', "
                            "'t', '1', ?)", (lid, json.dumps(["signature_mismatch"]), now_utc()))
                lines.append(lid)
            for v in ("V001", "V002", "V003", "V010", "V020"):   # signatures on file
                admin._exec("INSERT INTO exemplars (voter_id, image_hash, captured_date, source, imported_at) "
                            "VALUES (?, ?, '2020-01-01', 'card', ?)", (v, f"hash-{v}", now_utc()))
        admin.finish_run(run, status="done", user=who)
    host = admin_url.split("@", 1)[1]

    def sign_in(who: str) -> Workspace:
        return Workspace(f"postgresql://{names[who]}:{PASSWORDS[who]}@{host}")

    yield {"sign_in": sign_in, "names": names, "filing": fid, "lines": lines, "admin": admin_url, "tmp": tmp}


@pytest.fixture
def ann(office):
    ws = office["sign_in"]("ann")
    yield ws
    ws.close()


REFUSED = [
    ("read the voter records", "SELECT * FROM voter_records"),
    ("count the voter records", "SELECT count(*) FROM voter_records"),
    ("copy the voter records out", "COPY voter_records TO STDOUT"),
    ("read the look-up log", "SELECT * FROM voter_lookups"),
    ("erase the look-up log", "DELETE FROM voter_lookups"),
    ("rewrite the look-up log", "UPDATE voter_lookups SET login = 'someone'"),
    ("forge a look-up log row", "INSERT INTO voter_lookups (ts, login, purpose, query_json, rows_returned) "
                                "VALUES ('now', 'x', 'lookup', '{}', 0)"),
    ("turn off the stored files' row security", "ALTER TABLE blobs DISABLE ROW LEVEL SECURITY"),
    ("drop the stored files' policy", "DROP POLICY blobs_read ON blobs"),
    ("read past row security", "SET row_security = off; SELECT key FROM blobs"),
    ("store a file", "INSERT INTO blobs (key, sha256, size, data) VALUES ('voterfiles/x', 'x', 1, 'x')"),
    ("replace the voter-record function", "CREATE OR REPLACE FUNCTION sigverify_voter_records(p_ids text[]) "
                                          "RETURNS SETOF voter_records LANGUAGE sql AS 'SELECT * FROM voter_records'"),
    ("look up with neither name nor address", "SELECT * FROM sigverify_lookup_voters('', '', '900', 1000)"),
]


@pytest.mark.parametrize("what,sql", REFUSED, ids=[w for w, _ in REFUSED])
def test_a_reviewer_connection_cannot(ann, what, sql):
    with pytest.raises(Exception) as err:
        with ann.transaction():
            for stmt in sql.split("; "):
                ann._backend.conn.execute(stmt)
    assert type(err.value).__module__.startswith("psycopg"), err.value


def test_what_a_reviewer_reads_of_voters_is_only_what_review_needs(office, ann):
    every = [f"V{i:03d}" for i in range(1, 23)]
    # the stored voter file is not there for them, by hand or through the library
    assert ann._rows("SELECT key FROM blobs WHERE key LIKE 'voterfiles/%'") == []
    parquet = ann._scalar("SELECT parquet_path FROM voter_files WHERE active = 1")
    with pytest.raises(UserError, match="holds no file"):
        ann.crops.local_path(parquet)
    # records: only voters a line names, whatever is asked for
    got = {r["voter_id"] for r in ann._rows("SELECT * FROM sigverify_voter_records(?)", (every,))}
    assert got == TIED
    row = ann._rows("SELECT * FROM sigverify_voter_records(?)", (["V002"],))[0]
    assert "party" not in row and "birth_date" not in row and row["last_name"] == "HERNANDEZ"
    # signatures on file: only of those voters
    assert {r["voter_id"] for r in ann._rows("SELECT voter_id FROM exemplars")} == TIED
    # a look-up returns at most 25 rows however many are asked for, and is logged
    rows = ann._rows("SELECT * FROM sigverify_lookup_voters('a', '', '', 100000)")
    assert 0 < len(rows) <= 25
    with Workspace(office["admin"]) as admin:
        log = admin._rows("SELECT login, purpose, query_json, rows_returned FROM voter_lookups ORDER BY id")
    assert log[-1]["login"] == office["names"]["ann"] and log[-1]["rows_returned"] == len(rows)
    assert json.loads(log[-1]["query_json"])["limit"] == 25
    # and the exports are a supervisor's
    from petitions.reports import proponent_export, write_report

    with pytest.raises(UserError, match="only a supervisor may export the report"):
        write_report(ann, office["filing"], office["tmp"] / "rep", user=ann.login)
    assert not (office["tmp"] / "rep" / "lines.csv").exists()
    with pytest.raises(UserError, match="only a supervisor"):
        proponent_export(ann, office["filing"], office["tmp"] / "prop", user=ann.login)


def test_look_ups_are_limited_per_hour(office):
    ws = office["sign_in"]("sue")     # a supervisor's look-ups count too; the limit is per person
    try:
        with Workspace(office["admin"]) as admin, admin.transaction():
            admin._many("INSERT INTO voter_lookups (ts, login, purpose, query_json, rows_returned) "
                        "VALUES (?, ?, 'lookup', '{}', 0)", [(now_utc(), ws.login)] * 1500)
        with pytest.raises(UserError, match="1500 look-ups in the last hour"):
            from petitions.store import review as review_db

            review_db.lookup_voters(ws, name="garcia", address="", zip="", limit=10)
    finally:
        ws.close()


def test_the_workbench_reviews_and_looks_up_as_a_reviewer_on_the_server(qtbot, office):
    """The real window, signed in through the sign-in dialog as the reviewer:
    the queue, a case with its voter's record, and a look-up by name."""
    from urllib.parse import urlsplit

    from PySide6.QtCore import Qt

    from gui.main_window import MainWindow

    from gui_helpers import wait_case

    parts = urlsplit(office["admin"])
    win = MainWindow(None, restore_state=False)
    qtbot.addWidget(win)
    win.show()
    dlg = win.open_server(f"postgresql://{parts.hostname}:{parts.port}{parts.path}")
    dlg.user.setText(office["names"]["ann"])
    dlg.password.setText(PASSWORDS["ann"])
    qtbot.mouseClick(dlg.ok, Qt.MouseButton.LeftButton)
    assert dlg.error.text() == ""
    qtbot.waitUntil(lambda: win.session is not None and win.is_ready, timeout=30_000)
    qtbot.waitUntil(lambda: win.review.voters is not None, timeout=30_000)
    assert type(win.review.voters).__name__ == "ServerVoterDirectory"
    wait_case(qtbot, win.review)
    case = win.review.view.loaded.case
    assert case.line_db_id == office["lines"][0] and case.candidate.record["last_name"] == "GARCIA LOPEZ"
    win.show_tab("lookup")
    win.lookup.name.setText("hernan")
    qtbot.waitUntil(lambda: win.lookup.model.rows is not None and len(win.lookup.model.rows) == 1, timeout=30_000)
    assert "HERNANDEZ" in str(win.lookup.model.rows[0])
    with Workspace(office["admin"]) as admin:
        last = admin._rows("SELECT login, query_json FROM voter_lookups ORDER BY id DESC LIMIT 1")[0]
    assert last["login"] == office["names"]["ann"] and "hernan" in last["query_json"]
    win.close()


def test_the_review_path_works_as_a_reviewer_on_the_server(office, ann):
    from petitions.review.case import load_case, rule
    from petitions.review.queue import review_queue
    from petitions.review.records import ServerVoterDirectory, VoterDirectory

    fid, lines = office["filing"], office["lines"]
    queue = review_queue(ann, fid, user=ann.login)
    assert [it.line_db_id for it in queue] == lines
    voters = VoterDirectory.open(ann)
    assert isinstance(voters, ServerVoterDirectory) and voters.height == 22
    case = load_case(ann, lines[1], voters=voters)
    shown = {c.voter_id: c.record for c in (case.candidate, *case.others)}
    assert shown["V002"]["last_name"] == "HERNANDEZ" and shown["V003"]["last_name"] == "KIM"
    assert [e.image_hash for e in case.candidate.exemplars] == ["hash-V002"]
    assert rule(ann, case, user=ann.login, action="accept").ruling_id

    # line 3 matched nobody: the reviewer finds the signer by name and rules naming them
    found = voters.search(name="sarkis")
    assert found["voter_id"].to_list() == ["V014"] and "party" not in found.columns
    assert voters.get(["V014"]) == {}                     # not tied to a line yet
    case3 = load_case(ann, lines[2], voters=voters)
    assert rule(ann, case3, user=ann.login, action="accept", voter_id="V014").ruling_id
    assert voters.get(["V014"])["V014"]["first_name"] == "HOVIK"   # now it is: the ruling names them
    assert [it.line_db_id for it in review_queue(ann, fid, user=ann.login)] == [lines[0]]
    assert ann.verify_chain().ok


def test_a_reviewer_cannot_take_or_hand_out_batches_behind_the_library(office, ann):
    """The assignment controls are a supervisor's in the library
    (tests/test_gui_batches.py); on a server the database refuses them too."""
    from petitions.review import batches

    fid, lines = office["filing"], office["lines"]
    sue = office["sign_in"]("sue")
    try:
        theirs = batches.assign(sue, fid, to=sue.login, by=sue.login, line_ids=[lines[0]])
        with pytest.raises(UserError, match="only a supervisor may hand out batches"):
            batches.assign(ann, fid, to=ann.login, by=ann.login, size=1)
        with pytest.raises(UserError, match="only a supervisor may reclaim batches"):
            batches.reclaim(ann, theirs.id, by=ann.login)

        def refused(sql, params=()):
            with pytest.raises(Exception) as err:
                with ann.transaction():
                    ann._backend.conn.execute(sql, params)
            assert type(err.value).__module__.startswith("psycopg"), err.value

        # a batch handed to someone else, a line put in another's batch
        refused("INSERT INTO batches (filing_id, mode, holder, assigned_by, created_at, lease_until) "
                "VALUES (%s, 'review', %s, %s, 'now', '9999')", (fid, sue.login, ann.login))
        refused("INSERT INTO batch_lines (batch_id, line_id, position) VALUES (%s, %s, 9)", (theirs.id, lines[1]))
        # a line someone holds, taken into one's own batch by hand
        with ann.transaction():
            own = ann._insert("INSERT INTO batches (filing_id, mode, holder, assigned_by, created_at, lease_until) "
                              "VALUES (?, 'review', ?, ?, ?, '9999') RETURNING id",
                              (fid, ann.login, ann.login, now_utc()))
        refused("INSERT INTO batch_lines (batch_id, line_id, position) VALUES (%s, %s, 0)", (own, lines[0]))
        # closing another's batch touches nothing (row security hides it from the update)
        with ann.transaction():
            n = ann._exec("UPDATE batches SET closed_at = 'x', closed_by = ? WHERE id = ?", (ann.login, theirs.id))
        assert n == 0
        live = {h["batch_id"]: h for h in batches.holdings(sue, fid)}
        assert live[theirs.id]["holder"] == sue.login and live[theirs.id]["lines"] == 1
    finally:
        for h in batches.holdings(sue, fid):
            batches.reclaim(sue, h["batch_id"], by=sue.login)
        sue.close()


def test_an_older_server_workspace_gets_its_voter_records_on_upgrade(tmp_path, pg_admin):
    """Migration 0008 fills the voter records from the voter file already stored."""
    from pg_server import fresh_database

    from gui_workspace_fixture import voters_frame

    url = fresh_database(pg_admin)
    csv = tmp_path / "voters.csv"
    voters_frame().write_csv(csv)
    with Workspace(url, create=True) as ws:
        import_voter_file(ws, csv, user=ws.login)
        assert ws._scalar("SELECT COUNT(*) FROM voter_records") == 22
        # as it was before 0008: no table, no functions, the migration not applied
        with ws.transaction():
            ws._backend.conn.execute("DROP FUNCTION sigverify_voter_records(text[]); "
                                     "DROP FUNCTION sigverify_lookup_voters(text, text, text, integer); "
                                     "DROP TABLE voter_records, voter_lookups; "
                                     "DELETE FROM schema_migrations WHERE name = '0008_voter_records'")
    with Workspace(url) as ws:
        assert ws._scalar("SELECT COUNT(*) FROM voter_records") == 22
        assert ws._rows("SELECT last_name FROM voter_records WHERE voter_id = 'V002'") == [{"last_name": "HERNANDEZ"}]
