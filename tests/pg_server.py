"""A PostgreSQL server for the tests: the one named by SIGVERIFY_TEST_PG (an
admin address), or a throwaway cluster started with `.ci/pg-cluster`.

Under CI (CI=true) a missing server is a failure, never a skip: the server
backend is tested on every run.
"""
from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STARTED: list[Path] = []  # clusters this test run started (and stops)


def admin_address() -> str | None:
    url = os.environ.get("SIGVERIFY_TEST_PG")
    if url:
        return url
    script = ROOT / ".ci" / "pg-cluster"
    # Not under pytest's own tmp folder: that is private to this user, and as
    # root the server runs as `postgres`, which must reach its folder.
    import tempfile

    folder = Path(os.environ.get("SIGVERIFY_TEST_PG_DIR") or tempfile.mkdtemp(prefix="sigverify-pg-"))
    r = subprocess.run(["bash", str(script), "start", str(folder)], capture_output=True, text=True, timeout=180,
                       env={**os.environ, "PG_PORT": os.environ.get("PG_PORT") or str(_free_port())})
    if r.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"no PostgreSQL server for the tests: {r.stderr.strip()}")
        return None
    STARTED.append(folder)
    os.environ["SIGVERIFY_TEST_PG"] = url = r.stdout.strip().splitlines()[-1]
    os.environ["SIGVERIFY_TEST_PG_DIR"] = str(folder)
    return url


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_database(admin: str) -> str:
    """Create an empty database; its address (same admin login)."""
    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return admin.rsplit("/", 1)[0] + "/" + name


def stop_started() -> None:
    import shutil

    for folder in STARTED:
        subprocess.run(["bash", str(ROOT / ".ci" / "pg-cluster"), "stop", str(folder)], capture_output=True, timeout=120)
        shutil.rmtree(folder, ignore_errors=True)
    STARTED.clear()
