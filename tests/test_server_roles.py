"""Roles the database enforces, tested by attack: connect as each role and
try, with hand-written SQL, what it must not do."""
from __future__ import annotations

import pytest

from petitions.errors import UserError
from petitions.store import Workspace, canonical_json, now_utc

PASSWORDS = {"ann": "ann-pw-1", "aud": "aud-pw-1", "sue": "sue-pw-1"}


@pytest.fixture
def server(pg_admin):
    """A laid-out server workspace with a reviewer, an auditor and a supervisor,
    one filing with a line; returns a function that signs a person in."""
    from pg_server import fresh_database

    admin_url = fresh_database(pg_admin)
    opened = []
    with Workspace(admin_url, create=True) as admin:
        suffix = admin_url.rsplit("/", 1)[1]
        names = {k: f"{k}_{suffix}" for k in PASSWORDS}  # logins are cluster-wide
        admin.ensure_user(names["ann"], "reviewer", password=PASSWORDS["ann"])
        admin.ensure_user(names["aud"], "auditor", password=PASSWORDS["aud"])
        admin.ensure_user(names["sue"], "supervisor", password=PASSWORDS["sue"])
        with admin.transaction():
            fid = admin._insert(
                "INSERT INTO filings (name, kind, jurisdiction, ruleset_id, ruleset_version, ruleset_json, "
                "created_at, created_by) VALUES ('F', 'initiative', 'X', 'r', '1', '{}', ?, 'admin') RETURNING id",
                (now_utc(),))
            sid = admin._insert("INSERT INTO sections (filing_id, number) VALUES (?, 1) RETURNING id", (fid,))
            lid = admin._insert("INSERT INTO lines (filing_id, section_id, label, seq, number, state) "
                                "VALUES (?, ?, 'S001-P01-L01', 1001001, 1, 'signed') RETURNING id", (fid, sid))

    def sign_in(who: str) -> Workspace:
        host = admin_url.split("@", 1)[1]
        ws = Workspace(f"postgresql://{names[who]}:{PASSWORDS[who]}@{host}")
        opened.append(ws)
        return ws

    sign_in.names, sign_in.line, sign_in.filing = names, lid, fid
    yield sign_in
    for ws in opened:
        ws.close()


def _ruling(ws, line, *, user, role="reviewer", kind="review", action="accept"):
    with ws.transaction():
        return ws._insert("INSERT INTO rulings (line_id, user, role, kind, action, shown_json, created_at) "
                          "VALUES (?, ?, ?, ?, ?, '{}', ?) RETURNING id", (line, user, role, kind, action, now_utc()))


REVIEWER_REFUSED = [
    ("draw a sample", "INSERT INTO samples (filing_id, purpose, round, seed, frame_hash, frame_size, size, "
                      "created_at, created_by) VALUES (1, 'count', 1, 's', 'h', 1, 1, 'now', 'ann')"),
    ("import a voter file", "INSERT INTO voter_files (source_path, source_sha256, parquet_path, rows, imported_at, "
                            "imported_by) VALUES ('x', 'x', 'x', 0, 'now', 'ann')"),
    ("switch the active voter file", "UPDATE voter_files SET active = 1"),
    ("add a user row", "INSERT INTO users (name, role, created_at) VALUES ('mallory', 'supervisor', 'now')"),
    ("write a determination", "INSERT INTO determinations (line_id, determination, reasons_json, inputs_json, "
                              "ruleset_id, ruleset_version, created_at) VALUES (1, 'valid', '[]', '{}', 'r', '1', 'now')"),
    ("change a ruling", "UPDATE rulings SET action = 'reject'"),
    ("delete a ruling", "DELETE FROM rulings"),
    ("change an event", "UPDATE events SET payload_json = '{}'"),
    ("delete an event", "DELETE FROM events"),
    ("drop the append-only trigger", "DROP TRIGGER rulings_append_only_u ON rulings"),
    ("turn off row security", "ALTER TABLE rulings DISABLE ROW LEVEL SECURITY"),
    ("create a login", "CREATE ROLE mallory LOGIN PASSWORD 'x'"),
    ("make themself a supervisor", "GRANT sigverify_supervisor TO CURRENT_USER"),
    ("certify (write a certification event as someone else)",
     "INSERT INTO events (ts, user, kind, payload_json, prev_hash, hash) VALUES ('now', 'sue', 'certified', '{}', 'x', 'y')"),
]


@pytest.mark.parametrize("what,sql", REVIEWER_REFUSED, ids=[w for w, _ in REVIEWER_REFUSED])
def test_a_reviewer_connection_cannot(server, what, sql):
    ann = server("ann")
    with pytest.raises(Exception) as err:
        with ann.transaction():
            ann._exec(sql)
    assert type(err.value).__module__.startswith("psycopg"), err.value
    assert any(w in str(err.value) for w in ("permission denied", "must be", "append-only", "row-level security",
                                             "must have admin option", "owner")), str(err.value)


def test_a_reviewer_rules_only_as_themself_and_only_in_the_review_queue(server):
    ann, names = server("ann"), server.names
    assert _ruling(ann, server.line, user=names["ann"]) > 0
    for bad in (dict(user=names["sue"]),                                     # as someone else
                dict(user=names["ann"], role="supervisor", kind="escalation"),  # a supervisor's ruling
                dict(user=names["ann"], kind="second_opinion"),
                dict(user=names["ann"], kind="audit", role="auditor")):         # a QA audit ruling
        with pytest.raises(Exception, match="row-level security"):
            _ruling(ann, server.line, **bad)


def test_an_auditor_may_record_audit_rulings_a_supervisor_anything(server):
    aud, sue, names = server("aud"), server("sue"), server.names
    assert _ruling(aud, server.line, user=names["aud"], role="auditor", kind="audit") > 0
    with pytest.raises(Exception, match="row-level security"):
        _ruling(aud, server.line, user=names["aud"], role="supervisor", kind="escalation")
    assert _ruling(sue, server.line, user=names["sue"], role="supervisor", kind="escalation", action="escalate") > 0
    with pytest.raises(Exception, match="row-level security"):  # even a supervisor rules only as themself
        _ruling(sue, server.line, user=names["ann"])


def test_the_person_is_the_login_never_a_claimed_name(server):
    ann, names = server("ann"), server.names
    assert ann.login == names["ann"] and ann.user_role(names["ann"]) == "reviewer"
    with pytest.raises(UserError, match="signed in .* as"):
        ann.acting_user(names["sue"])
    with pytest.raises(UserError, match="cannot act as"):
        ann.require_supervisor(names["sue"], "draw a sample")   # claiming a supervisor's name is refused
    with pytest.raises(UserError, match="only a supervisor"):
        ann.require_supervisor(None, "draw a sample")
    with pytest.raises(UserError, match="may not add people"):
        ann.ensure_user("mallory", "supervisor", password="x")
    sue = server("sue")
    sue.require_supervisor(None, "draw a sample")
    with sue.transaction():
        sue.log_event("sample_drawn", user=sue.login, payload={"note": canonical_json({})})
    assert sue.verify_chain().ok
