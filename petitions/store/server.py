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


#: The voter-record columns review shows (party, race, ethnicity and birth
#: date are never among them); petitions.review.records.VOTER_DISPLAY_COLUMNS.
VOTER_RECORD_COLUMNS = (
    "voter_id", "first_name", "middle_name", "last_name", "suffix", "house_number", "house_fraction",
    "street_dir", "street_name", "street_type", "street_post_dir", "unit_type", "unit_number", "city", "zip",
    "status", "registration_date", "precinct", "district",
)
#: Voter records one call may return: a case shows at most 6 candidates;
#: a look-up at most LOOKUP_ROWS rows, LOOKUPS_PER_HOUR calls a person an hour.
RECORDS_PER_CALL = 50
LOOKUP_ROWS = 25
LOOKUPS_PER_HOUR = 1500

#: A voter is tied to the petition when a line's match names them (as the
#: match or a candidate), a ruling's person chose them by look-up, or a
#: withdrawal request was matched to them. (Row-level; `v` is the voter id.)
_TIED = """(EXISTS (SELECT 1 FROM matches m WHERE m.voter_id = {v})
     OR EXISTS (SELECT 1 FROM matches m
                WHERE (m.candidates_json::jsonb) @> jsonb_build_array(jsonb_build_object('voter_id', {v})))
     OR EXISTS (SELECT 1 FROM rulings u WHERE (u.shown_json::jsonb) @> jsonb_build_object('chosen_voter_id', {v}))
     OR EXISTS (SELECT 1 FROM withdrawals w WHERE w.voter_id = {v}))"""


def review_reads_ddl() -> str:
    """What a reviewer may read of the voter file, the database's way.

    A reviewer's login has no SELECT on the voter records, and the voter
    file's stored copy (``blobs`` under ``voterfiles/``) is hidden from it by
    row-level security. Review reads voter records only through two
    SECURITY DEFINER functions: ``sigverify_voter_records(ids)`` returns the
    display columns of at most RECORDS_PER_CALL voters tied to the
    petition's lines, and ``sigverify_lookup_voters(name, address, zip,
    limit)`` at most LOOKUP_ROWS rows a call and LOOKUPS_PER_HOUR calls an
    hour, each call logged in ``voter_lookups`` under the signed-in login.
    Exemplars (signatures on file) are readable only for voters tied to the
    petition. Supervisors keep full reads (they import the file and run
    matching).
    """
    reviewer, supervisor = ROLES["reviewer"], ROLES["supervisor"]
    cols = ", ".join(f"{c} text" for c in VOTER_RECORD_COLUMNS)
    sel = ", ".join(f"r.{c}" for c in VOTER_RECORD_COLUMNS)
    is_sup = f"pg_has_role(current_user, '{supervisor}', 'MEMBER')"
    return f"""
CREATE INDEX IF NOT EXISTS matches_voter ON matches (voter_id);
CREATE INDEX IF NOT EXISTS matches_candidates ON matches USING gin ((candidates_json::jsonb) jsonb_path_ops);
CREATE INDEX IF NOT EXISTS rulings_shown ON rulings USING gin ((shown_json::jsonb) jsonb_path_ops);
CREATE INDEX IF NOT EXISTS withdrawals_voter ON withdrawals (voter_id);
CREATE INDEX IF NOT EXISTS voter_lookups_login ON voter_lookups (login, ts);

REVOKE ALL ON voter_records, voter_lookups FROM PUBLIC;
REVOKE ALL ON voter_records, voter_lookups FROM {reviewer};
GRANT SELECT, INSERT ON voter_records TO {supervisor};
GRANT SELECT ON voter_lookups TO {supervisor};

ALTER TABLE blobs ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS blobs_read ON blobs;
CREATE POLICY blobs_read ON blobs FOR SELECT USING (key NOT LIKE 'voterfiles/%' OR {is_sup});
DROP POLICY IF EXISTS blobs_add ON blobs;
CREATE POLICY blobs_add ON blobs FOR INSERT WITH CHECK ({is_sup});

ALTER TABLE exemplars ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS exemplars_read ON exemplars;
CREATE POLICY exemplars_read ON exemplars FOR SELECT USING ({is_sup} OR {_TIED.format(v="exemplars.voter_id")});
DROP POLICY IF EXISTS exemplars_add ON exemplars;
CREATE POLICY exemplars_add ON exemplars FOR INSERT WITH CHECK ({is_sup});

CREATE OR REPLACE FUNCTION sigverify_voter_records(p_ids text[])
RETURNS TABLE ({cols})
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
    SELECT {sel} FROM voter_records r JOIN voter_files f ON f.id = r.voter_file_id AND f.active = 1
    WHERE r.voter_id = ANY (p_ids[1:{RECORDS_PER_CALL}])
      AND (pg_has_role(session_user, '{supervisor}', 'MEMBER') OR {_TIED.format(v="r.voter_id")})
    ORDER BY r.voter_id
$fn$;

CREATE OR REPLACE FUNCTION sigverify_lookup_voters(p_name text, p_address text, p_zip text, p_limit integer)
RETURNS TABLE ({cols})
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
DECLARE
    v_lim integer := LEAST(GREATEST(COALESCE(p_limit, {LOOKUP_ROWS}), 1), {LOOKUP_ROWS});
    v_names text[] := array_remove(regexp_split_to_array(upper(COALESCE(p_name, '')), '[^[:alnum:]]+'), '');
    v_addr text[] := array_remove(regexp_split_to_array(upper(COALESCE(p_address, '')), '[^[:alnum:]]+'), '');
    v_zip text := NULLIF(regexp_replace(COALESCE(p_zip, ''), '[^0-9]', '', 'g'), '');
    v_recent integer;
    v_found integer;
BEGIN
    IF NOT (pg_has_role(session_user, '{reviewer}', 'MEMBER') OR pg_has_role(session_user, '{supervisor}', 'MEMBER'))
    THEN
        RAISE EXCEPTION 'voter look-up: % is not a workbench login', session_user USING ERRCODE = '42501';
    END IF;
    IF COALESCE(array_length(v_names, 1), 0) = 0 AND COALESCE(array_length(v_addr, 1), 0) = 0 THEN
        RAISE EXCEPTION 'voter look-up: give a name or an address' USING ERRCODE = '22023';
    END IF;
    SELECT count(*) INTO v_recent FROM voter_lookups l
     WHERE l.login = session_user AND l.ts > to_char(now() AT TIME ZONE 'UTC' - interval '1 hour',
                                                     'YYYY-MM-DD"T"HH24:MI:SS');
    IF v_recent >= {LOOKUPS_PER_HOUR} THEN
        RAISE EXCEPTION 'voter look-up: % has made {LOOKUPS_PER_HOUR} look-ups in the last hour, the limit; %',
            session_user, 'every look-up is logged for the supervisors' USING ERRCODE = '54000';
    END IF;
    RETURN QUERY
    SELECT {sel} FROM voter_records r JOIN voter_files f ON f.id = r.voter_file_id AND f.active = 1
    WHERE (SELECT bool_and(upper(COALESCE(r.first_name, '')) ~ ('(^|[ -])' || w)
                        OR upper(COALESCE(r.middle_name, '')) ~ ('(^|[ -])' || w)
                        OR upper(COALESCE(r.last_name, '')) ~ ('(^|[ -])' || w)) FROM unnest(v_names) w) IS NOT FALSE
      AND (SELECT bool_and(CASE WHEN w ~ '^[0-9]+$' THEN COALESCE(r.house_number, '') = w
                                ELSE upper(COALESCE(r.street_dir, '')) LIKE w || '%'
                                  OR upper(COALESCE(r.street_name, '')) LIKE w || '%'
                                  OR upper(COALESCE(r.street_type, '')) LIKE w || '%'
                                  OR upper(COALESCE(r.unit_number, '')) LIKE w || '%' END)
           FROM unnest(v_addr) w) IS NOT FALSE
      AND (v_zip IS NULL OR COALESCE(r.zip, '') LIKE v_zip || '%')
    ORDER BY r.last_name, r.first_name, r.voter_id
    LIMIT v_lim;
    GET DIAGNOSTICS v_found = ROW_COUNT;
    INSERT INTO voter_lookups (ts, login, purpose, query_json, rows_returned)
    VALUES (to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'), session_user, 'lookup',
            json_build_object('name', p_name, 'address', p_address, 'zip', p_zip, 'limit', v_lim)::text, v_found);
END
$fn$;

REVOKE ALL ON FUNCTION sigverify_voter_records(text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION sigverify_lookup_voters(text, text, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sigverify_voter_records(text[]) TO {reviewer}, {supervisor};
GRANT EXECUTE ON FUNCTION sigverify_lookup_voters(text, text, text, integer) TO {reviewer}, {supervisor};
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {reviewer}, {supervisor};
"""


def copy_voter_records(backend, voter_file_id: int, frame) -> int:
    """Load a prepared voter file's display columns into ``voter_records``
    (COPY; inside the caller's transaction)."""
    cols = [c for c in VOTER_RECORD_COLUMNS if c in frame.columns]
    if "voter_id" not in cols:
        return 0
    import polars as pl

    df = frame.select([pl.col(c).cast(pl.Utf8) for c in cols])
    with backend.conn.cursor() as cur:
        with cur.copy(f"COPY voter_records (voter_file_id, {', '.join(cols)}) FROM STDIN") as copy:
            for row in df.iter_rows():
                copy.write_row((voter_file_id, *row))
    return df.height


def backfill_voter_records(backend) -> None:
    """Fill ``voter_records`` from the voter files already stored (a
    workspace laid out before the table existed)."""
    import hashlib
    import io

    import polars as pl

    for vf in backend.conn.execute("SELECT f.id, b.sha256, b.data FROM voter_files f "
                                   "JOIN blobs b ON b.key = f.parquet_path ORDER BY f.id").fetchall():
        data = bytes(vf["data"])
        if hashlib.sha256(data).hexdigest() != vf["sha256"]:
            continue   # verify-log names an altered file; nothing is read from it
        copy_voter_records(backend, vf["id"], pl.read_parquet(io.BytesIO(data)))


def batch_guard_ddl() -> str:
    """Batches the database keeps honest: a line goes into a batch only by
    the batch's own holder who took it (or a supervisor), and never while
    it is in another live batch, whoever writes the SQL."""
    supervisor = ROLES["supervisor"]
    return f"""
ALTER TABLE batch_lines ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS batch_lines_read ON batch_lines;
CREATE POLICY batch_lines_read ON batch_lines FOR SELECT USING (true);
DROP POLICY IF EXISTS batch_lines_add ON batch_lines;
CREATE POLICY batch_lines_add ON batch_lines FOR INSERT WITH CHECK (
    pg_has_role(current_user, '{supervisor}', 'MEMBER')
    OR EXISTS (SELECT 1 FROM batches b WHERE b.id = batch_id AND b.holder = current_user
                                         AND b.assigned_by = current_user AND b.closed_at IS NULL));
CREATE OR REPLACE FUNCTION batch_lines_free_fn() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    IF EXISTS (SELECT 1 FROM batch_lines bl JOIN batches b ON b.id = bl.batch_id
               WHERE bl.line_id = NEW.line_id AND bl.batch_id <> NEW.batch_id AND b.closed_at IS NULL
                 AND b.lease_until > to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')) THEN
        RAISE EXCEPTION 'line % is in another live batch', NEW.line_id;
    END IF;
    RETURN NEW;
END $f$;
DROP TRIGGER IF EXISTS batch_lines_free ON batch_lines;
CREATE TRIGGER batch_lines_free BEFORE INSERT ON batch_lines FOR EACH ROW EXECUTE FUNCTION batch_lines_free_fn();
"""


def sections_ddl() -> str:
    """Everyone reads a section's declaration and rulings; only supervisors key
    declarations and rule on a whole section (a reviewer's INSERT is refused)."""
    reviewer, supervisor = ROLES["reviewer"], ROLES["supervisor"]
    return f"""
REVOKE ALL ON section_declarations, section_rulings FROM PUBLIC;
GRANT SELECT ON section_declarations, section_rulings TO {reviewer};
GRANT SELECT, INSERT ON section_declarations, section_rulings TO {supervisor};
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {reviewer}, {supervisor};
ALTER TABLE section_rulings ENABLE ROW LEVEL SECURITY;
CREATE POLICY section_rulings_read ON section_rulings FOR SELECT USING (true);
CREATE POLICY section_rulings_own ON section_rulings FOR INSERT WITH CHECK (ruled_by = current_user);
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
