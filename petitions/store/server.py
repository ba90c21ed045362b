"""What only a server workspace has: people as database logins, and roles
the database itself enforces.

Three group roles (cluster-wide, shared by every workspace database on the
server) carry the rights; each person is a login that is a member of one:

============================  ==================================================
``sigverify_reviewer``        reads what review needs; appends its own review
                              rulings, keyed entries and events; nothing else
``sigverify_auditor``         a reviewer who may also record QA audit rulings
``sigverify_supervisor``      everything the workbench does: voter files,
                              filings, ingest, runs, samples, audits,
                              certificates, exports, people
============================  ==================================================

No role may UPDATE or DELETE a ruling or an event (triggers refuse it for
everyone, the table owner included), and row-level security makes every
appended ruling and event carry the name of the login that wrote it. The
library never asks who someone is: on a server it reads ``current_user``.
"""
from __future__ import annotations

ROLES = {
    "reviewer": "sigverify_reviewer",
    "auditor": "sigverify_auditor",
    "supervisor": "sigverify_supervisor",
}

#: Tables a reviewer (and an auditor) may read.
_REVIEW_READ = ("users", "voter_files", "exemplars", "filings", "documents", "sections", "pages", "lines",
                "keyed_entries", "runs", "matches", "signature_scores", "determinations", "rulings", "samples",
                "sample_items", "events", "blobs", "current_keyed", "current_match", "current_signature",
                "current_determination", "current_ruling")
_ALL_TABLES = ("users", "voter_files", "exemplars", "filings", "documents", "sections", "pages", "lines",
               "keyed_entries", "runs", "matches", "signature_scores", "determinations", "rulings", "samples",
               "sample_items", "events", "blobs")


def roles_ddl() -> str:
    """The group roles, their grants and the row-level policies (idempotent)."""
    create = "\n".join(
        f"IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{r}') THEN CREATE ROLE {r} NOLOGIN; END IF;"
        for r in ROLES.values())
    reviewer, auditor, supervisor = ROLES["reviewer"], ROLES["auditor"], ROLES["supervisor"]
    tables = ", ".join(_ALL_TABLES)
    return f"""
DO $roles$ BEGIN
{create}
END $roles$;
GRANT {reviewer} TO {auditor};
REVOKE ALL ON {tables} FROM PUBLIC;
GRANT SELECT ON {", ".join(_REVIEW_READ)} TO {reviewer};
GRANT INSERT ON rulings, events, keyed_entries TO {reviewer};
GRANT SELECT, INSERT ON {tables} TO {supervisor};
GRANT SELECT ON current_keyed, current_match, current_signature, current_determination, current_ruling
    TO {supervisor};
GRANT UPDATE (active) ON voter_files TO {supervisor};
GRANT UPDATE (status, finished_at) ON runs TO {supervisor};
GRANT UPDATE (declaration_ok, circulator_name, circulator_address, circulated_from, circulated_to)
    ON sections TO {supervisor};
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {reviewer}, {supervisor};

ALTER TABLE rulings ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS rulings_read ON rulings;
CREATE POLICY rulings_read ON rulings FOR SELECT USING (true);
DROP POLICY IF EXISTS rulings_own ON rulings;
CREATE POLICY rulings_own ON rulings FOR INSERT WITH CHECK (
    "user" = current_user
    AND (pg_has_role(current_user, '{supervisor}', 'MEMBER')
         OR (kind = 'review' AND role = 'reviewer')
         OR (kind = 'audit' AND role = 'auditor' AND pg_has_role(current_user, '{auditor}', 'MEMBER'))));

ALTER TABLE events ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS events_read ON events;
CREATE POLICY events_read ON events FOR SELECT USING (true);
DROP POLICY IF EXISTS events_own ON events;
CREATE POLICY events_own ON events FOR INSERT WITH CHECK ("user" = current_user);

ALTER TABLE keyed_entries ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS keyed_read ON keyed_entries;
CREATE POLICY keyed_read ON keyed_entries FOR SELECT USING (true);
DROP POLICY IF EXISTS keyed_own ON keyed_entries;
CREATE POLICY keyed_own ON keyed_entries FOR INSERT WITH CHECK (keyed_by = current_user);
"""


def role_of(backend, name: str) -> str | None:
    """The workbench role of login `name` (None if it is not a workbench login)."""
    exists = backend.scalar("SELECT 1 FROM pg_roles WHERE rolname = ? AND rolcanlogin", (name,))
    if not exists:
        return None
    for role in ("supervisor", "auditor", "reviewer"):
        if backend.scalar("SELECT pg_has_role(?, ?, 'MEMBER')", (name, ROLES[role])):
            return role
    # The database's owner (the office's administrator, who lays out the
    # schema and adds logins) has a supervisor's rights.
    owner = backend.scalar("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()")
    return "supervisor" if name == owner else None


def add_login(backend, name: str, role: str, password: str | None) -> None:
    """Create login `name` in group `role` (needs CREATEROLE: the office's
    database administrator, not a workbench role)."""
    from psycopg import sql

    stmt = sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(name))
    if password:
        stmt = sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(name), sql.Literal(password))
    backend.conn.execute(stmt)
    backend.conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(ROLES[role]), sql.Identifier(name)))


def batches_ddl() -> str:
    """Reviewers take and give back their own batches; supervisors hand out any."""
    reviewer, supervisor = ROLES["reviewer"], ROLES["supervisor"]
    return f"""
GRANT SELECT, INSERT ON batches, batch_lines TO {reviewer}, {supervisor};
GRANT UPDATE (lease_until, closed_at, closed_by, close_reason) ON batches TO {reviewer}, {supervisor};
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {reviewer}, {supervisor};
ALTER TABLE batches ENABLE ROW LEVEL SECURITY;
CREATE POLICY batches_read ON batches FOR SELECT USING (true);
CREATE POLICY batches_take ON batches FOR INSERT WITH CHECK (
    assigned_by = current_user AND (holder = current_user OR pg_has_role(current_user, '{supervisor}', 'MEMBER')));
CREATE POLICY batches_keep ON batches FOR UPDATE USING (
    holder = current_user OR pg_has_role(current_user, '{supervisor}', 'MEMBER'));
"""


def frames_ddl() -> str:
    """Everyone reads a sample's frozen frame and its voids; supervisors write them."""
    reviewer, supervisor = ROLES["reviewer"], ROLES["supervisor"]
    return f"""
REVOKE ALL ON frame_lines, sample_voids FROM PUBLIC;
GRANT SELECT ON frame_lines, sample_voids TO {reviewer};
GRANT SELECT, INSERT ON frame_lines, sample_voids TO {supervisor};
"""


def fraud_ddl() -> str:
    """Embeddings are the supervisor's (computed by the stages, read by the
    scan; a reviewer needs none of them). Everyone reads the same-hand scans
    and clusters (the review screen shows a line's cluster); supervisors
    write them."""
    reviewer, supervisor = ROLES["reviewer"], ROLES["supervisor"]
    return f"""
REVOKE ALL ON embeddings, fraud_scans, fraud_clusters, fraud_cluster_lines FROM PUBLIC;
GRANT SELECT, INSERT ON embeddings TO {supervisor};
GRANT SELECT ON fraud_scans, fraud_clusters, fraud_cluster_lines TO {reviewer};
GRANT SELECT, INSERT ON fraud_scans, fraud_clusters, fraud_cluster_lines TO {supervisor};
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {reviewer}, {supervisor};
"""
