"""`petitions rule` follows the review screen's rules: the queue the line is
waiting in, the person's role, the latest ruling seen, two people for a
signature rejection; and a rerun of the same command stores nothing new."""
from __future__ import annotations

import pytest

from petitions.cli import main
from petitions.store import Workspace

from store_helpers import determine, filing_with_lines


@pytest.fixture
def ws_dir(tmp_path):
    root = tmp_path / "ws"
    with Workspace(root, create=True) as ws:
        fid, ids = filing_with_lines(ws, ["signed"] * 4, required=2)
        for name in ("rev1", "rev2"):
            ws.ensure_user(name, "reviewer", by="sup")
        for lid in ids:
            determine(ws, lid, "needs_review", ["signature_mismatch"])
        # two people for a signature rejection
        import dataclasses

        from petitions.law.rules import RuleSet
        rs = RuleSet.from_json(ws._scalar("SELECT ruleset_json FROM filings WHERE id = ?", (fid,)))
        with ws.transaction():
            ws._exec("UPDATE filings SET ruleset_json = ? WHERE id = ?",
                     (dataclasses.replace(rs, rejections_required=2).to_json(), fid))
    return str(root)


def _rulings(root):
    with Workspace(root) as ws:
        return ws._rows("SELECT l.label, r.user AS who, r.kind, r.action FROM rulings r JOIN lines l ON l.id = r.line_id "
                        "ORDER BY r.id")


def rule(root, *args):
    return main(["rule", "-w", root, *args])


def test_a_rerun_stores_nothing_new_and_another_person_cannot_replace_a_ruling(ws_dir, capsys):
    assert rule(ws_dir, "--line", "S001-P01-L01", "--accept", "--user", "rev1") == 0
    assert rule(ws_dir, "--line", "S001-P01-L01", "--accept", "--user", "rev1") == 0   # interrupted, run again
    assert _rulings(ws_dir) == [{"label": "S001-P01-L01", "who": "rev1", "kind": "review", "action": "accept"}]
    # a second workstation on the same line: the line is no longer waiting in the review queue
    assert rule(ws_dir, "--line", "S001-P01-L01", "--reject", "not_registered", "--user", "rev2") == 2
    assert "not in the review queue" in capsys.readouterr().err
    assert len(_rulings(ws_dir)) == 1


def test_roles_queues_and_the_second_person(ws_dir, capsys):
    assert rule(ws_dir, "--line", "S001-P01-L02", "--reject", "signature_mismatch", "--user", "rev1") == 0
    # a reviewer cannot give the second opinion, nor rule on escalations or audits
    assert rule(ws_dir, "--line", "S001-P01-L02", "--reject", "signature_mismatch", "--kind", "second_opinion",
                "--user", "rev2") == 2
    assert rule(ws_dir, "--line", "S001-P01-L03", "--accept", "--kind", "escalation", "--user", "rev1") == 2
    assert rule(ws_dir, "--line", "S001-P01-L03", "--accept", "--kind", "audit", "--user", "rev1") == 2
    # the rejecting reviewer's own line is not theirs to overturn from the review queue
    assert rule(ws_dir, "--line", "S001-P01-L02", "--accept", "--user", "rev1") == 2
    # the supervisor's second opinion makes it invalid; a reviewer may not reopen
    assert rule(ws_dir, "--line", "S001-P01-L02", "--reject", "signature_mismatch", "--kind", "second_opinion",
                "--user", "sup") == 0
    assert rule(ws_dir, "--line", "S001-P01-L02", "--reopen", "--user", "rev1") == 2
    assert "only a supervisor may reopen" in capsys.readouterr().err
    assert [r["who"] for r in _rulings(ws_dir)] == ["rev1", "sup"]


def test_after_names_the_ruling_seen(ws_dir, capsys):
    assert rule(ws_dir, "--line", "S001-P01-L04", "--escalate", "--user", "rev1", "--after", "none") == 0
    first = _rulings(ws_dir)
    with Workspace(ws_dir) as ws:
        rid = ws._scalar("SELECT MAX(id) FROM rulings")
    assert rule(ws_dir, "--line", "S001-P01-L04", "--accept", "--kind", "escalation", "--user", "sup",
                "--after", "none") == 2
    assert "ruled on since" in capsys.readouterr().err
    assert rule(ws_dir, "--line", "S001-P01-L04", "--accept", "--kind", "escalation", "--user", "sup",
                "--after", str(rid)) == 0
    assert len(_rulings(ws_dir)) == len(first) + 1
