"""The workbench's same-hand view (issue 21): a cluster side by side, every
signature beside its voter's signatures on file, ruled by a person line by
line or section by section through the review screen's checks. The real
window (pytest-qt, offscreen) on a real workspace scanned for real."""
from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from gui_helpers import open_window  # noqa: E402
from gui_workspace_fixture import REVIEWER, SUPERVISOR, build_tiny_workspace  # noqa: E402
from petitions.stages.fraud import ScanParams, scan_same_hand  # noqa: E402
from petitions.status import line_status  # noqa: E402
from petitions.store import Workspace  # noqa: E402


@pytest.fixture()
def scanned(tmp_path):
    """The tiny workspace with one signature copied onto six other voters'
    lines, scanned: one cluster of (at least) those seven lines."""
    tiny = build_tiny_workspace(tmp_path / "ws")
    with Workspace(tiny.root) as ws:
        rows = ws._rows("SELECT id, signature_hash FROM lines WHERE state = 'signed' ORDER BY seq")
        with ws.transaction():
            for r in rows[4:10]:
                ws._db.execute("UPDATE lines SET signature_hash = ? WHERE id = ?", (rows[0]["signature_hash"], r["id"]))
        scan_same_hand(ws, user=SUPERVISOR, filing_id=tiny.filing_id, params=ScanParams(null_rounds=0))
    return tiny, [rows[0]["id"]] + [r["id"] for r in rows[4:10]]


def _status(root, fid, line_id):
    with Workspace(root) as ws:
        st = line_status(ws, fid)
    return st.filter(st["line_db_id"] == line_id).row(0, named=True)["status"]


def _ruled(qtbot, view, act) -> tuple[int, int]:
    """Do `act()` and wait for its rulings to come back from the view's thread: (ruled, refused)."""
    with qtbot.waitSignal(view.rulings_done, timeout=20_000) as got:
        act()
    return got.args[0]


def test_cluster_view_shows_signatures_beside_exemplars_and_rules_through_review(qtbot, scanned):
    tiny, copies = scanned
    win = open_window(qtbot, tiny.root, user=REVIEWER)
    view = win.show_clusters()
    qtbot.addWidget(view)
    # read off the GUI thread: the first cluster is laid out when its read comes back
    qtbot.waitUntil(lambda: view.cluster is not None, timeout=20_000)
    assert view.clusters.count() >= 1
    shown = set(view.cases)
    assert set(copies) <= shown
    # every line: its signature and its voter's two signatures on file
    for lid in copies:
        row = next(i for i in range(view.grid.rowCount())
                   if view.grid.itemAtPosition(i, 0) and view.cases[lid].label in
                   view.grid.itemAtPosition(i, 0).widget().text())
        assert not view.grid.itemAtPosition(row, 1).widget().pixmap().isNull()
        exemplars = view.grid.itemAtPosition(row, 2).widget().findChildren(type(view.header))
        assert len(exemplars) == 2 and all(not x.pixmap().isNull() for x in exemplars)
    assert "software has rejected nothing" in view.header.text()
    # line by line: a person accepts one line (recorded as theirs)
    first = copies[0]
    assert _ruled(qtbot, view, lambda: view.rule_line(first, "accept")) == (1, 0)
    assert view.status_labels[first].text() == "valid" and view.message.text().endswith("accepted; now valid")
    assert _status(tiny.root, tiny.filing_id, first) == "valid"
    with Workspace(tiny.root) as ws:
        r = ws._one("SELECT user, action FROM current_ruling WHERE line_id = ?", (first,))
    assert (r["user"], r["action"]) == (REVIEWER, "accept")
    # ruling it again from a stale view is refused, as on the review screen
    assert _ruled(qtbot, view, lambda: view.rule_line(first, "accept")) == (0, 1)
    assert "not in the review queue" in view.message.text()
    # section by section: every remaining line of the section, one ruling each
    ok, refused = _ruled(qtbot, view, lambda: view.rule_section(view.cases[copies[1]].section, "reject"))
    assert ok == len(shown) - 1 and refused == 1   # the line accepted above is no longer waiting
    with Workspace(tiny.root) as ws:
        rej = ws._rows("SELECT line_id, user, reason_code FROM current_ruling WHERE action = 'reject'")
    assert {r["line_id"] for r in rej} == shown - {first}
    assert {(r["user"], r["reason_code"]) for r in rej} == {(REVIEWER, "signature_mismatch")}


def test_cluster_view_opens_on_a_server_as_the_signed_in_person(qtbot, pg_admin):
    """On a server workspace the view reads through its own connection, signed
    in as the window's person (the address is not taken for a folder)."""
    from urllib.parse import urlsplit

    from gui.session import ServerLocation
    from pg_server import fresh_database
    from petitions.stages.filings import create_filing

    admin_url = fresh_database(pg_admin)
    with Workspace(admin_url, create=True) as admin:
        login = f"sue_{admin_url.rsplit('/', 1)[1]}"
        admin.ensure_user(login, "supervisor", password="sue-pw-1")
        fid = create_filing(admin, name="Measure S", ruleset="ca-initiative", jurisdiction="City of Los Angeles",
                            user=admin.login, required=10)
    parts = urlsplit(admin_url)
    loc = ServerLocation(f"postgresql://{login}@{parts.hostname}:{parts.port}{parts.path}", "sue-pw-1")
    from gui.clusters import ClusterView

    view = ClusterView(loc, user=login, filing_id=fid)
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.listed, timeout=20_000):
        view.show()
    assert view.header.text().startswith("No same-hand clusters in this filing"), view.header.text()
    assert view.worker.root is loc and view.worker.root.password == "sue-pw-1"
    view.close()
    assert view.worker is None   # its connection thread ended with the view
