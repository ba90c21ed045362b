"""Test-wide settings: Qt always renders offscreen; tests never need a display."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def pg_admin():
    """The admin address of a running PostgreSQL server (see tests/pg_server.py)."""
    from pg_server import admin_address, stop_started

    url = admin_address()
    if url is None:
        pytest.skip("no PostgreSQL server (install Debian's postgresql package, or set SIGVERIFY_TEST_PG)")
    yield url
    stop_started()


@pytest.fixture(params=["sqlite", "postgresql"])
def workspace_location(request, tmp_path):
    """Where a new workspace goes, once per backend: a folder, or an empty
    database on the test server."""
    if request.param == "sqlite":
        return tmp_path / "ws"
    from pg_server import fresh_database

    return fresh_database(request.getfixturevalue("pg_admin"))
