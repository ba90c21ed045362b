"""The command line on both kinds of workspace: a folder or a server address
(-w or $SIGVERIFY_WORKSPACE), and who may add people."""
from __future__ import annotations

import io
import json

from petitions.cli import main
from petitions.store import Workspace


def test_a_reviewer_cannot_add_people_to_a_folder_and_the_log_names_who_added(tmp_path, capsys):
    ws_dir = str(tmp_path / "ws")
    assert main(["init", "-w", ws_dir, "--user", "sup"]) == 0
    assert main(["user-add", "-w", ws_dir, "rev", "--role", "reviewer", "--user", "sup"]) == 0
    assert main(["user-add", "-w", ws_dir, "eve", "--role", "supervisor", "--user", "rev"]) == 2
    assert "only a supervisor may add people" in capsys.readouterr().err
    with Workspace(ws_dir) as ws:
        assert ws.user_role("eve") is None
        added = [json.loads(r["payload_json"]) | {"by": r["user"]} for r in ws._rows(
            "SELECT user, payload_json FROM events WHERE kind = 'user_added' ORDER BY id")]
    assert added == [{"name": "sup", "role": "supervisor", "by": "sup"},
                     {"name": "rev", "role": "reviewer", "by": "sup"}]


def test_the_workspace_may_come_from_the_environment(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SIGVERIFY_WORKSPACE", str(tmp_path / "env-ws"))
    assert main(["init", "--user", "sup"]) == 0
    assert main(["verify-log"]) == 0
    monkeypatch.delenv("SIGVERIFY_WORKSPACE")
    assert main(["verify-log"]) == 2
    assert "SIGVERIFY_WORKSPACE" in capsys.readouterr().err


def test_a_server_workspace_from_init_to_a_signed_in_reviewer(pg_admin, monkeypatch, capsys):
    from pg_server import fresh_database

    url = fresh_database(pg_admin)
    assert main(["init", "-w", url]) == 0
    name = "ann_" + url.rsplit("/", 1)[1]
    monkeypatch.setattr("sys.stdin", io.StringIO("ann-secret\n"))
    assert main(["user-add", "-w", url, name, "--role", "reviewer", "--password-stdin"]) == 0
    host = url.split("@", 1)[1]
    ann = f"postgresql://{name}:ann-secret@{host}"
    assert main(["verify-log", "-w", ann]) == 0
    # The signed-in reviewer can neither add people nor act under another name.
    monkeypatch.setattr("sys.stdin", io.StringIO("x\n"))
    assert main(["user-add", "-w", ann, "mallory_" + name, "--role", "supervisor", "--password-stdin"]) == 2
    assert "may not add people" in capsys.readouterr().err
    assert main(["user-add", "-w", ann, "x", "--user", "sigverify_admin"]) == 2
    assert main(["verify-log", "-w", f"postgresql://{name}:wrong@{host}"]) == 2
    assert "cannot connect" in capsys.readouterr().err
