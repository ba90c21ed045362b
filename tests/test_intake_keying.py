"""`petitions key` with rows naming lines that do not exist (issue 18, item 8)."""
from __future__ import annotations

from petitions.cli import main
from petitions.store import Workspace
from petitions.store import keying as keying_db

from store_helpers import filing_with_lines


def test_key_lists_each_bad_row_exits_nonzero_and_keeps_the_good_rows(tmp_path, capsys):
    root = tmp_path / "ws"
    with Workspace(root, create=True) as ws:
        fid, _ = filing_with_lines(ws, ["signed", "signed", "signed"])
    csv = tmp_path / "keyed.csv"
    csv.write_text("line_id,name,address,city,zip\n"
                   "S001-P01-L01,Ann Lee,1 Main St,Los Angeles,90001\n"
                   "S001-P01-L09,Bob Roe,2 Main St,Los Angeles,90001\n"
                   "S001-P01-L02,Cy Poe,3 Main St,Los Angeles,90001\n"
                   "S009-P01-L01,Di Ng,4 Main St,Los Angeles,90001\n")
    assert main(["key", "-w", str(root), "--user", "sup", str(csv)]) == 1
    cap = capsys.readouterr()
    assert "2 new or changed, 0 unchanged, 2 problems" in cap.out
    assert f"{csv} row 3, column line_id: no line 'S001-P01-L09' in this filing" in cap.err
    assert f"{csv} row 5, column line_id: no line 'S009-P01-L01' in this filing" in cap.err
    with Workspace(root) as ws:
        assert sorted(r["name"] for r in keying_db.current_keyed(ws, fid)) == ["Ann Lee", "Cy Poe"]
    good = tmp_path / "good.csv"
    good.write_text("line_id,name,address,city,zip\nS001-P01-L03,Ed Fox,5 Main St,Los Angeles,90001\n")
    assert main(["key", "-w", str(root), "--user", "sup", str(good)]) == 0
