"""The form template a filing's scans were read with is kept in the workspace
(issue 19): recorded by SHA-256 in each document's event, usable by name for
the filing's next scans without the file, and checked by `verify-log` like
the stored scans (altered or deleted behind the software's back: named).
Both backends: a folder, and a database on the test server."""
from __future__ import annotations

import json

import numpy as np
import pytest

from fixtures.forms import FormLine, layout_template, render_template_page, scan, write_document
from petitions import stages
from petitions.cli import main as cli_main
from petitions.errors import UserError
from petitions.integrity import verify_state
from petitions.store import Workspace
from petitions.templates import filing_templates, save_template, stored_template
from sigverify.pages.templates import FormTemplate

SPEC = layout_template("la-single-row")   # the generator's layout (a dict) ...
LA = FormTemplate.from_dict(SPEC)          # ... and its template, as measured for it


def _section(path, seed: int):
    rng = np.random.default_rng(seed)
    lines = [FormLine(f"Ann Lee {seed}", "1 Main St", "LA", "90012", "", None, s)
             for s in ("signed", "blank", "struck")]
    page = scan(render_template_page(SPEC, lines, dpi=200, rng=rng)[0], rng=rng, skew_deg=-1.0, noise=0.02)[0]
    (doc,) = write_document([page], path, fmt="pdf", dpi=200)
    return doc


def _cli(capsys, *args) -> tuple[int, str, str]:
    code = cli_main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_template_is_kept_with_the_filing_used_by_name_and_checked(workspace_location, tmp_path, capsys):
    loc = str(workspace_location)
    server = loc.startswith("postgresql://")
    with Workspace(loc, create=True) as ws:
        ws.ensure_user("sup", "supervisor")
        fid = stages.create_filing(ws, name="LA", ruleset="ca-initiative", jurisdiction="City of Los Angeles",
                                   user=ws.login if server else "sup", required=10)
    t_json = tmp_path / "county-la.json"
    save_template(LA, t_json)
    who = [] if server else ["--user", "sup"]
    code, out, err = _cli(capsys, "ingest", "-w", loc, *who, "--filing", "LA", "--template", t_json,
                          _section(tmp_path / "a.pdf", 1))
    assert code == 0, err
    t_json.unlink()   # the file is gone from the clerk's desk: the workspace still has it
    code, out, err = _cli(capsys, "ingest", "-w", loc, *who, "--filing", "LA", "--template", LA.name,
                          _section(tmp_path / "b.pdf", 2))
    assert code == 0 and "section 2, 1 pages, 10 lines" in out, err
    with Workspace(loc) as ws:
        kept = filing_templates(ws, fid)
        assert [(t["name"], t["sections"]) for t in kept] == [(LA.name, 2)]
        assert stored_template(ws, fid, kept[0]["sha256"][:12]).to_dict() == LA.to_dict()
        states = [r["state"] for r in ws._rows("SELECT state FROM lines ORDER BY seq")]
        assert states[:3] == states[10:13] == ["signed", "blank", "struck"]
        ev = [json.loads(r["payload_json"]) for r in ws._rows(
            "SELECT payload_json FROM events WHERE kind = 'document_ingested' ORDER BY id")]
        assert [e["template"]["sha256"] for e in ev] == [kept[0]["sha256"]] * 2
        check = verify_state(ws)
        assert check.ok and check.checked["templates"] == 1, check
        # a name no scan of this filing was read with: one line listing the kept ones
        with pytest.raises(UserError, match=r"no template 'county-x' kept with this filing .*la-single-row"):
            stored_template(ws, fid, "county-x")
        # altered behind the software's back: named
        key = kept[0]["file"]
        if server:
            ws._exec("UPDATE blobs SET data = set_byte(data, 5, get_byte(data, 5) # 1), "
                     "sha256 = encode(sha256(set_byte(data, 5, get_byte(data, 5) # 1)), 'hex') WHERE key = ?",
                     (key,))
        else:
            p = ws.root / key
            p.write_bytes(p.read_bytes().replace(b'"pitch"', b'"pitch" '))
        check = verify_state(ws)
        assert not check.ok and any(f"form template {LA.name} ({key}) does not match its SHA-256" in p
                                    for p in check.problems), check.problems
        # deleted: named as missing
        if server:
            ws._exec("DELETE FROM blobs WHERE key = ?", (key,))
        else:
            (ws.root / key).unlink()
        check = verify_state(ws)
        assert any(f"form template {LA.name} the scans were read with is missing" in p for p in check.problems)
