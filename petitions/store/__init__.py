"""The store: the one place that holds SQL.

A workspace is an embedded folder (one SQLite file plus content-addressed
images). Everything above this package calls named reads and writes; no
connection object leaves it.
"""
from petitions.store.workspace import (
    DB_NAME,
    GENESIS_HASH,
    ChainCheck,
    CropStore,
    Workspace,
    canonical_json,
    event_hash,
    now_utc,
)

__all__ = ["DB_NAME", "GENESIS_HASH", "ChainCheck", "CropStore", "Workspace", "canonical_json", "event_hash", "now_utc"]
