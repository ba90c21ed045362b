"""The workspace schema: every change through a named, ordered migration.

Migrations run in a transaction each (``sqlite_utils.Migrations``); a
workspace made by an older version is upgraded when it is opened.
"""
from __future__ import annotations

import sqlite_utils

migrations = sqlite_utils.Migrations("sigverify-workbench")


@migrations(name="0001_initial")
def _m0001_initial(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        CREATE TABLE users (
            name TEXT PRIMARY KEY,
            role TEXT NOT NULL CHECK (role IN ('reviewer', 'supervisor')),
            created_at TEXT NOT NULL
        );
        CREATE TABLE voter_files (
            id INTEGER PRIMARY KEY,
            source_path TEXT NOT NULL,
            source_sha256 TEXT NOT NULL,
            parquet_path TEXT NOT NULL,
            rows INTEGER NOT NULL,
            mapping_json TEXT,
            imported_at TEXT NOT NULL,
            imported_by TEXT NOT NULL,
            active INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE exemplars (
            id INTEGER PRIMARY KEY,
            voter_id TEXT NOT NULL,
            image_hash TEXT NOT NULL,
            captured_date TEXT,
            source TEXT,
            imported_at TEXT NOT NULL,
            UNIQUE (voter_id, image_hash)
        );
        CREATE INDEX exemplars_voter ON exemplars (voter_id);
        CREATE TABLE filings (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            kind TEXT NOT NULL,
            jurisdiction TEXT NOT NULL,
            district TEXT,
            required INTEGER,
            filing_date TEXT,
            circulation_start TEXT,
            circulation_end TEXT,
            ruleset_id TEXT NOT NULL,
            ruleset_version TEXT NOT NULL,
            ruleset_json TEXT NOT NULL,
            created_at TEXT NOT NULL,
            created_by TEXT NOT NULL
        );
        CREATE TABLE documents (
            id INTEGER PRIMARY KEY,
            filing_id INTEGER NOT NULL REFERENCES filings (id),
            path TEXT NOT NULL,
            stored_path TEXT,
            sha256 TEXT NOT NULL,
            pages INTEGER NOT NULL DEFAULT 0,
            errors_json TEXT NOT NULL DEFAULT '[]',
            ingested_at TEXT NOT NULL,
            UNIQUE (filing_id, sha256)
        );
        CREATE TABLE sections (
            id INTEGER PRIMARY KEY,
            filing_id INTEGER NOT NULL REFERENCES filings (id),
            number INTEGER NOT NULL,
            circulator_name TEXT,
            circulator_address TEXT,
            circulated_from TEXT,
            circulated_to TEXT,
            declaration_ok INTEGER,
            document_id INTEGER REFERENCES documents (id),
            UNIQUE (filing_id, number)
        );
        CREATE TABLE pages (
            id INTEGER PRIMARY KEY,
            section_id INTEGER NOT NULL REFERENCES sections (id),
            number INTEGER NOT NULL,
            document_id INTEGER REFERENCES documents (id),
            document_page INTEGER,
            width INTEGER,
            height INTEGER,
            dpi REAL,
            skew_deg REAL,
            rotation INTEGER,
            image_hash TEXT,
            segmentation_json TEXT,
            fields_json TEXT NOT NULL DEFAULT '{}',
            UNIQUE (section_id, number)
        );
        CREATE TABLE lines (
            id INTEGER PRIMARY KEY,
            filing_id INTEGER NOT NULL REFERENCES filings (id),
            section_id INTEGER NOT NULL REFERENCES sections (id),
            page_id INTEGER REFERENCES pages (id),
            label TEXT NOT NULL,
            seq INTEGER NOT NULL,
            number INTEGER NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('signed', 'blank', 'struck')),
            signature_box TEXT,
            name_box TEXT,
            address_box TEXT,
            signature_hash TEXT,
            name_hash TEXT,
            address_hash TEXT,
            signature_ink REAL,
            UNIQUE (filing_id, label),
            UNIQUE (filing_id, seq)
        );
        CREATE TABLE keyed_entries (
            id INTEGER PRIMARY KEY,
            line_id INTEGER NOT NULL REFERENCES lines (id),
            name TEXT,
            address TEXT,
            city TEXT,
            zip TEXT,
            date_signed TEXT,
            source TEXT NOT NULL,
            keyed_by TEXT NOT NULL,
            keyed_at TEXT NOT NULL
        );
        CREATE INDEX keyed_entries_line ON keyed_entries (line_id);
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            filing_id INTEGER REFERENCES filings (id),
            stage TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            status TEXT NOT NULL CHECK (status IN ('running', 'done', 'cancelled', 'failed')),
            params_json TEXT NOT NULL DEFAULT '{}',
            model_json TEXT,
            model_version TEXT,
            voter_file_id INTEGER REFERENCES voter_files (id)
        );
        CREATE TABLE matches (
            line_id INTEGER NOT NULL REFERENCES lines (id),
            run_id INTEGER NOT NULL REFERENCES runs (id),
            voter_file_id INTEGER NOT NULL REFERENCES voter_files (id),
            voter_id TEXT,
            score REAL,
            status TEXT NOT NULL CHECK (status IN ('match', 'review', 'no_match')),
            reason TEXT,
            name_level TEXT,
            address_level TEXT,
            candidates_json TEXT NOT NULL DEFAULT '[]',
            details_json TEXT NOT NULL DEFAULT '{}',
            model_version TEXT NOT NULL,
            PRIMARY KEY (line_id, run_id)
        );
        CREATE TABLE signature_scores (
            line_id INTEGER NOT NULL REFERENCES lines (id),
            run_id INTEGER NOT NULL REFERENCES runs (id),
            voter_id TEXT,
            score REAL,
            decision TEXT NOT NULL CHECK (decision IN ('consistent', 'review')),
            reason TEXT,
            family_json TEXT NOT NULL DEFAULT '{}',
            n_exemplars INTEGER NOT NULL,
            best_exemplar_hash TEXT,
            model_version TEXT NOT NULL,
            PRIMARY KEY (line_id, run_id)
        );
        CREATE TABLE determinations (
            id INTEGER PRIMARY KEY,
            line_id INTEGER NOT NULL REFERENCES lines (id),
            run_id INTEGER REFERENCES runs (id),
            determination TEXT NOT NULL CHECK (determination IN ('valid', 'needs_review', 'invalid')),
            level TEXT,
            reasons_json TEXT NOT NULL,
            inputs_json TEXT NOT NULL,
            ruleset_id TEXT NOT NULL,
            ruleset_version TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE INDEX determinations_line ON determinations (line_id, id);
        CREATE TABLE rulings (
            id INTEGER PRIMARY KEY,
            line_id INTEGER NOT NULL REFERENCES lines (id),
            user TEXT NOT NULL,
            role TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('review', 'second_opinion', 'escalation', 'audit')),
            action TEXT NOT NULL CHECK (action IN ('accept', 'reject', 'escalate', 'reopen')),
            reason_code TEXT,
            note TEXT,
            shown_json TEXT NOT NULL,
            supersedes INTEGER REFERENCES rulings (id),
            created_at TEXT NOT NULL
        );
        CREATE INDEX rulings_line ON rulings (line_id, id);
        CREATE TRIGGER rulings_append_only_u BEFORE UPDATE ON rulings
            BEGIN SELECT RAISE(ABORT, 'rulings are append-only: record a new ruling instead'); END;
        CREATE TRIGGER rulings_append_only_d BEFORE DELETE ON rulings
            BEGIN SELECT RAISE(ABORT, 'rulings are append-only: record a new ruling instead'); END;
        CREATE TABLE samples (
            id INTEGER PRIMARY KEY,
            filing_id INTEGER NOT NULL REFERENCES filings (id),
            purpose TEXT NOT NULL CHECK (purpose IN ('count', 'qa')),
            round INTEGER NOT NULL,
            seed TEXT NOT NULL,
            frame_hash TEXT NOT NULL,
            frame_size INTEGER NOT NULL,
            size INTEGER NOT NULL,
            params_json TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL,
            created_by TEXT NOT NULL
        );
        CREATE TABLE sample_items (
            sample_id INTEGER NOT NULL REFERENCES samples (id),
            line_id INTEGER NOT NULL REFERENCES lines (id),
            rank INTEGER NOT NULL,
            ticket TEXT NOT NULL,
            PRIMARY KEY (sample_id, line_id)
        );
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            ts TEXT NOT NULL,
            user TEXT NOT NULL,
            kind TEXT NOT NULL,
            filing_id INTEGER,
            line_id INTEGER,
            payload_json TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL UNIQUE
        );
        CREATE TRIGGER events_append_only_u BEFORE UPDATE ON events
            BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
        CREATE TRIGGER events_append_only_d BEFORE DELETE ON events
            BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;

        -- "Current" state: the newest row per line. Older rows stay as history.
        CREATE VIEW current_keyed AS
            SELECT k.* FROM keyed_entries k
            WHERE k.id = (SELECT MAX(id) FROM keyed_entries WHERE line_id = k.line_id);
        CREATE VIEW current_match AS
            SELECT m.* FROM matches m
            WHERE m.run_id = (SELECT MAX(run_id) FROM matches WHERE line_id = m.line_id);
        CREATE VIEW current_signature AS
            SELECT s.* FROM signature_scores s
            WHERE s.run_id = (SELECT MAX(run_id) FROM signature_scores WHERE line_id = s.line_id);
        CREATE VIEW current_determination AS
            SELECT d.* FROM determinations d
            WHERE d.id = (SELECT MAX(id) FROM determinations WHERE line_id = d.line_id);
        CREATE VIEW current_ruling AS
            SELECT r.* FROM rulings r
            WHERE r.id = (SELECT MAX(id) FROM rulings WHERE line_id = r.line_id AND kind != 'audit');
        """
    )


@migrations(name="0002_match_inputs")
def _m0002_match_inputs(db: sqlite_utils.Database) -> None:
    """Matches record the exact inputs they were made from, as columns.

    ``keyed_id`` (the keyed entry matched, until now only inside
    ``details_json``) and ``operating_point`` (the matcher's operating point
    and address leniency, see :func:`petitions.stages.match.operating_point`),
    so that the work not yet done is a plain comparison of columns. Rows made
    before keep ``operating_point`` NULL, which means "match again".
    """
    import json

    db.execute("ALTER TABLE matches ADD COLUMN keyed_id INTEGER REFERENCES keyed_entries (id)")
    db.execute("ALTER TABLE matches ADD COLUMN operating_point TEXT")
    for r in list(db.query("SELECT line_id, run_id, details_json FROM matches")):
        keyed_id = json.loads(r["details_json"] or "{}").get("keyed_id")
        if keyed_id is not None:
            db.execute("UPDATE matches SET keyed_id = ? WHERE line_id = ? AND run_id = ?",
                       (int(keyed_id), r["line_id"], r["run_id"]))
    # a view names its columns when it is made (PostgreSQL): make it again
    db.execute("DROP VIEW current_match")
    db.execute(
        "CREATE VIEW current_match AS SELECT m.* FROM matches m "
        "WHERE m.run_id = (SELECT MAX(run_id) FROM matches WHERE line_id = m.line_id)")


@migrations(name="0003_blobs")
def _m0003_blobs(db: sqlite_utils.Database) -> None:
    # Files a server workspace keeps in the database so that every
    # workstation reaches them (an embedded workspace keeps them as files).
    db.executescript(
        """
        CREATE TABLE blobs (
            key TEXT PRIMARY KEY,
            sha256 TEXT NOT NULL,
            size INTEGER NOT NULL,
            data BLOB NOT NULL
        );
        """
    )


@migrations(name="0004_server_roles")
def _m0004_server_roles(db) -> None:
    # Roles the database enforces exist on a server only; an embedded
    # workspace is protected by its folder's permissions (README).
    if getattr(db, "is_server", False):
        from petitions.store.server import roles_ddl

        db.execute_raw(roles_ddl())


@migrations(name="0005_batches")
def _m0005_batches(db) -> None:
    # Work handed out in batches: a reviewer holds a batch of queue lines
    # under a lease; a line is in at most one live batch at a time.
    db.executescript(
        """
        CREATE TABLE batches (
            id INTEGER PRIMARY KEY,
            filing_id INTEGER NOT NULL REFERENCES filings (id),
            mode TEXT NOT NULL,
            holder TEXT NOT NULL,
            assigned_by TEXT NOT NULL,
            created_at TEXT NOT NULL,
            lease_until TEXT NOT NULL,
            closed_at TEXT,
            closed_by TEXT,
            close_reason TEXT
        );
        CREATE INDEX batches_filing ON batches (filing_id, mode, holder);
        CREATE TABLE batch_lines (
            batch_id INTEGER NOT NULL REFERENCES batches (id),
            line_id INTEGER NOT NULL REFERENCES lines (id),
            position INTEGER NOT NULL,
            PRIMARY KEY (batch_id, line_id)
        );
        CREATE INDEX batch_lines_line ON batch_lines (line_id);
        """
    )
    if getattr(db, "is_server", False):
        from petitions.store.server import batches_ddl

        db.execute_raw(batches_ddl())


@migrations(name="0006_sample_frames")
def _m0006_sample_frames(db) -> None:
    # A drawn count sample freezes its frame: the signed lines it was drawn
    # from (lines ingested later are outside it). A supervisor may void a
    # sample with a reason; voided rounds stay on record but no longer count.
    db.executescript(
        """
        CREATE TABLE frame_lines (
            sample_id INTEGER NOT NULL REFERENCES samples (id),
            line_id INTEGER NOT NULL REFERENCES lines (id),
            PRIMARY KEY (sample_id, line_id)
        );
        CREATE TABLE sample_voids (
            sample_id INTEGER PRIMARY KEY REFERENCES samples (id),
            voided_at TEXT NOT NULL,
            voided_by TEXT NOT NULL,
            reason TEXT NOT NULL
        );
        """
    )
    if getattr(db, "is_server", False):
        from petitions.store.server import frames_ddl

        db.execute_raw(frames_ddl())


@migrations(name="0007_intake_period")
def _m0007_intake_period(db) -> None:
    """What comes in (issue 18): voter-file problems kept with the import,
    offices of a filing period (filings point to theirs, with the candidate),
    and withdrawal requests matched to voters and lines."""
    db.executescript(
        """
        ALTER TABLE voter_files ADD COLUMN problems INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE voter_files ADD COLUMN comparison_json TEXT;
        CREATE TABLE voter_file_problems (
            id INTEGER PRIMARY KEY,
            voter_file_id INTEGER NOT NULL REFERENCES voter_files (id),
            source_path TEXT NOT NULL,
            row_number INTEGER NOT NULL,
            column_name TEXT NOT NULL,
            problem TEXT NOT NULL,
            value TEXT
        );
        CREATE INDEX voter_file_problems_file ON voter_file_problems (voter_file_id, row_number);
        CREATE TABLE offices (
            id INTEGER PRIMARY KEY,
            period TEXT NOT NULL,
            name TEXT NOT NULL,
            seats INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL,
            created_by TEXT NOT NULL,
            UNIQUE (period, name)
        );
        ALTER TABLE filings ADD COLUMN office_id INTEGER REFERENCES offices (id);
        ALTER TABLE filings ADD COLUMN candidate TEXT;
        CREATE TABLE withdrawals (
            id INTEGER PRIMARY KEY,
            filing_id INTEGER NOT NULL REFERENCES filings (id),
            source TEXT NOT NULL,
            row_number INTEGER NOT NULL,
            name TEXT,
            address TEXT,
            city TEXT,
            zip TEXT,
            request_date TEXT,
            given_voter_id TEXT,
            voter_id TEXT,
            match_status TEXT,
            match_score REAL,
            line_id INTEGER REFERENCES lines (id),
            created_at TEXT NOT NULL,
            created_by TEXT NOT NULL
        );
        CREATE INDEX withdrawals_filing ON withdrawals (filing_id, line_id);
        """
    )
    if getattr(db, "is_server", False):
        from petitions.store.server import ROLES

        reviewer, supervisor = ROLES["reviewer"], ROLES["supervisor"]
        db.execute_raw(
            f"GRANT SELECT ON voter_file_problems, offices, withdrawals TO {reviewer};\n"
            f"GRANT SELECT, INSERT ON voter_file_problems, offices, withdrawals TO {supervisor};\n"
            f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {reviewer}, {supervisor};\n")


@migrations(name="0008_voter_records")
def _m0008_voter_records(db) -> None:
    """What review may read of the voter file (issue 17): the records'
    display columns as a table the server hands out row by row through
    functions (a reviewer's login cannot read it, nor the stored file), and
    a log of voter look-ups. On a folder the table stays empty: the
    prepared file is read directly, and the folder's permissions protect it.
    On a server, batches are kept honest by the database too."""
    db.executescript(
        """
        CREATE TABLE voter_records (
            voter_file_id INTEGER NOT NULL REFERENCES voter_files (id),
            voter_id TEXT NOT NULL,
            first_name TEXT, middle_name TEXT, last_name TEXT, suffix TEXT, house_number TEXT,
            house_fraction TEXT, street_dir TEXT, street_name TEXT, street_type TEXT, street_post_dir TEXT,
            unit_type TEXT, unit_number TEXT, city TEXT, zip TEXT, status TEXT, registration_date TEXT,
            precinct TEXT, district TEXT,
            PRIMARY KEY (voter_file_id, voter_id)
        );
        CREATE TABLE voter_lookups (
            id INTEGER PRIMARY KEY,
            ts TEXT NOT NULL,
            login TEXT NOT NULL,
            purpose TEXT NOT NULL,
            query_json TEXT NOT NULL,
            rows_returned INTEGER NOT NULL
        );
        """
    )
    if getattr(db, "is_server", False):
        from petitions.store.server import backfill_voter_records, batch_guard_ddl, review_reads_ddl

        db.execute_raw(review_reads_ddl())
        db.execute_raw(batch_guard_ddl())
        backfill_voter_records(db._b)
@migrations(name="0009_sections_batches")
def _m0009_sections_batches(db) -> None:
    """Sections as the law sees them and recalls in batches (issue 18).

    ``section_declarations``: the circulator's declaration as keyed (newest
    per section in force; older rows stay as history). ``section_rulings``:
    a supervisor's ruling on a whole section (``void`` with a reason code,
    or ``restore``), append-only like line rulings. ``sections.batch`` and
    ``samples.batch``: the batch (a submission of signatures) a section came
    in and the batch a sample's frame is (NULL: the filing as one frame)."""
    db.executescript(
        """
        CREATE TABLE section_declarations (
            id INTEGER PRIMARY KEY,
            section_id INTEGER NOT NULL REFERENCES sections (id),
            circulator_name TEXT,
            circulator_address TEXT,
            circulated_from TEXT,
            circulated_to TEXT,
            signed INTEGER,
            declaration_date TEXT,
            source TEXT NOT NULL,
            keyed_by TEXT NOT NULL,
            keyed_at TEXT NOT NULL
        );
        CREATE INDEX section_declarations_section ON section_declarations (section_id, id);
        CREATE TABLE section_rulings (
            id INTEGER PRIMARY KEY,
            section_id INTEGER NOT NULL REFERENCES sections (id),
            action TEXT NOT NULL CHECK (action IN ('void', 'restore')),
            reason_code TEXT,
            reason TEXT NOT NULL,
            ruled_by TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE INDEX section_rulings_section ON section_rulings (section_id, id);
        CREATE TRIGGER section_rulings_append_only_u BEFORE UPDATE ON section_rulings
            BEGIN SELECT RAISE(ABORT, 'section rulings are append-only: record a new ruling instead'); END;
        CREATE TRIGGER section_rulings_append_only_d BEFORE DELETE ON section_rulings
            BEGIN SELECT RAISE(ABORT, 'section rulings are append-only: record a new ruling instead'); END;
        ALTER TABLE sections ADD COLUMN batch INTEGER;
        ALTER TABLE samples ADD COLUMN batch INTEGER;
        """
    )
    if getattr(db, "is_server", False):
        from petitions.store.server import sections_ddl

        db.execute_raw(sections_ddl())
@migrations(name="0010_crop_packs")
def _m0010_crop_packs(db) -> None:
    """Crops kept in append-only pack files, one per ingested document (issue
    19): which pack holds each image (by the SHA-256 of its PNG bytes), at
    which byte and how long. A workspace made before keeps its loose crop
    files; both are read."""
    db.executescript(
        """
        CREATE TABLE crop_index (
            digest TEXT PRIMARY KEY,
            pack TEXT NOT NULL,
            pos INTEGER NOT NULL,
            size INTEGER NOT NULL
        );
        CREATE INDEX crop_index_pack ON crop_index (pack, pos);
        """
    )
    if getattr(db, "is_server", False):
        from petitions.store.server import ROLES

        reviewer, supervisor = ROLES["reviewer"], ROLES["supervisor"]
        db.execute_raw(
            f"GRANT SELECT ON crop_index TO {reviewer};\n"
            f"GRANT SELECT, INSERT ON crop_index TO {supervisor};\n")
@migrations(name="0011_embeddings_fraud")
def _m0011_embeddings_fraud(db) -> None:
    """Issue 21: each signature image's learned embedding, computed once and
    kept (keyed by the image's SHA-256 and the embedding's version, so a new
    network or preprocessing computes new rows and the old ones stay), and
    the same-hand scans with their clusters and the lines in them."""
    db.executescript(
        """
        CREATE TABLE embeddings (
            image_hash TEXT NOT NULL,
            model_version TEXT NOT NULL,
            dim INTEGER NOT NULL,
            vector BLOB,
            error TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            PRIMARY KEY (image_hash, model_version)
        );
        CREATE TABLE fraud_scans (
            id INTEGER PRIMARY KEY,
            filing_id INTEGER REFERENCES filings (id),
            model_version TEXT NOT NULL,
            embedding_version TEXT NOT NULL,
            params_json TEXT NOT NULL,
            lines INTEGER NOT NULL,
            clusters INTEGER NOT NULL,
            flagged INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            created_by TEXT NOT NULL
        );
        CREATE TABLE fraud_clusters (
            id INTEGER PRIMARY KEY,
            scan_id INTEGER NOT NULL REFERENCES fraud_scans (id),
            number INTEGER NOT NULL,
            scope TEXT NOT NULL,
            score REAL NOT NULL,
            size INTEGER NOT NULL,
            evidence_json TEXT NOT NULL,
            UNIQUE (scan_id, number)
        );
        CREATE TABLE fraud_cluster_lines (
            cluster_id INTEGER NOT NULL REFERENCES fraud_clusters (id),
            line_id INTEGER NOT NULL REFERENCES lines (id),
            filing_id INTEGER NOT NULL REFERENCES filings (id),
            strength REAL NOT NULL,
            PRIMARY KEY (cluster_id, line_id)
        );
        CREATE INDEX fraud_cluster_lines_line ON fraud_cluster_lines (line_id);
        CREATE INDEX fraud_cluster_lines_filing ON fraud_cluster_lines (filing_id);
        """
    )
    if getattr(db, "is_server", False):
        from petitions.store.server import fraud_ddl

        db.execute_raw(fraud_ddl())
