"""A tiny, deterministic workspace for review and GUI tests.

Built straight through the store (SQL and the crop store), not through the
pipeline, so review and GUI tests do not depend on the matcher, the
signature core or segmentation. Layout: one filing (``ca-initiative``), one
section, two pages of ten lines each.

Per line (``n`` = 1..20, filing order):

* lines 1-4: auto-valid (determination ``valid``);
* lines 19-20: blank (determination ``invalid``, ``blank_line``);
* lines 5-18: ``needs_review`` with a suspected reason cycling through
  :data:`REVIEW_REASONS`; line 7 has two candidate voters (ambiguous).

Petition signatures are small and faint in a wide cell (like real cuts);
exemplars are tight and dark. Every matched voter has two exemplars (different dates and sources); the
voter file carries a ``party`` column on purpose, so tests can prove it is
never shown.
"""
from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from petitions import stages
from petitions.store import Workspace, canonical_json, now_utc

REVIEWER = "rita"
REVIEWER2 = "ray"
SUPERVISOR = "sam"
REVIEW_REASONS = ("signature_mismatch", "address_mismatch", "ambiguous_identity", "not_registered", "duplicate")
PAGE_W, PAGE_H = 1100, 850
LINES_PER_PAGE = 10


@dataclass
class TinyWorkspace:
    root: Path
    filing_id: int
    line_ids: list[int]          # database ids in filing order
    review_ids: list[int]        # the lines needing review, filing order
    page_ids: list[int]


def _signature(rng: np.random.Generator, w: int = 220, h: int = 60, *, style: int = 0) -> np.ndarray:
    import cv2

    img = np.full((h, w), 255, np.uint8)
    xs = np.linspace(10, w - 10, 14)
    ys = h / 2 + (h / 3) * np.sin(xs / (11 + style * 3)) + rng.normal(0, 3, xs.size)
    pts = np.stack([xs, ys], 1).astype(np.int32)
    cv2.polylines(img, [pts], False, 0, 2, lineType=cv2.LINE_AA)
    return img


def _petition_signature(rng: np.random.Generator, *, style: int = 0) -> np.ndarray:
    """A petition cell as segmentation cuts it: a wide crop with a small,
    faint (mid-grey) signature off centre, as in the demo's S001-P01-L01."""
    cell = np.full((200, 720), 250, np.uint8)
    ink = _signature(rng, w=120, h=40, style=style)
    ink = np.where(ink < 250, 128 + (ink.astype(np.int32) * 122) // 255, 250).astype(np.uint8)
    cell[70:110, 250:370] = ink
    return cell


def _text(text: str, w: int = 260, h: int = 40) -> np.ndarray:
    import cv2

    img = np.full((h, w), 255, np.uint8)
    cv2.putText(img, text[:24], (4, h - 12), cv2.FONT_HERSHEY_SIMPLEX, 0.55, 0, 1, cv2.LINE_AA)
    return img


def voters_frame() -> pl.DataFrame:
    """Twenty-two voters: V001..V022 (V021/V022 are the ambiguous pair's second voter and a spare)."""
    first = ["MARIA", "JOSE", "ANNA", "DAVID", "SOO", "MINH", "WEI", "ARAM", "GRACE", "LUIS", "ROSA",
             "KEVIN", "LINDA", "HOVIK", "JUAN", "MEI", "TRAN", "ELENA", "PAUL", "NORA", "MARIA", "OMAR"]
    last = ["GARCIA LOPEZ", "HERNANDEZ", "KIM", "NGUYEN", "PARK", "TRAN", "CHEN", "PETROSYAN", "SANTOS", "REYES",
            "MARTINEZ", "LEE", "SMITH", "SARKISSIAN", "CRUZ", "WONG", "VO", "RAMIREZ", "JOHNSON", "DAVIS",
            "GARCIA", "HASSAN"]
    n = len(first)
    return pl.DataFrame({
        "voter_id": [f"V{i + 1:03d}" for i in range(n)],
        "first_name": first,
        "middle_name": ["E" if i % 3 == 0 else "" for i in range(n)],
        "last_name": last,
        "suffix": ["JR" if i == 3 else "" for i in range(n)],
        "house_number": [str(100 + 7 * i) for i in range(n)],
        "house_fraction": ["1/2" if i == 5 else "" for i in range(n)],
        "street_dir": ["N" if i % 2 else "" for i in range(n)],
        "street_name": ["MAIN", "BROADWAY", "FIGUEROA", "VERMONT", "WESTERN", "ALVARADO", "HOPE", "GRAND",
                        "OLIVE", "SPRING", "MAIN", "HILL", "TEMPLE", "SUNSET", "PICO", "OLYMPIC", "WILSHIRE",
                        "BEVERLY", "MELROSE", "FOUNTAIN", "MAIN", "ROSEWOOD"],
        "street_type": ["ST", "", "ST", "AVE", "AVE", "ST", "ST", "AVE", "ST", "ST", "ST", "ST", "ST", "BLVD",
                        "BLVD", "BLVD", "BLVD", "BLVD", "AVE", "AVE", "ST", "AVE"],
        "street_post_dir": [""] * n,
        "unit_type": ["APT" if i % 4 == 0 else "" for i in range(n)],
        "unit_number": [str(i + 1) if i % 4 == 0 else "" for i in range(n)],
        "city": ["LOS ANGELES"] * n,
        "zip": ["90012"] * n,
        "birth_date": ["1970-01-01"] * n,
        "registration_date": ["2010-05-01"] * n,
        "status": ["active"] * (n - 1) + ["inactive"],
        "party": ["DEM", "REP", "NPP"] * 7 + ["GRN"],
        "precinct": ["P1"] * n,
        "district": ["CD1"] * n,
    })


def build_tiny_workspace(root: str | Path, *, seed: int = 7, rejections_required: int | None = None) -> TinyWorkspace:
    """Create the tiny workspace in `root` (which must not hold one yet)."""
    import cv2

    rng = np.random.default_rng(seed)
    root = Path(root)
    ws = Workspace(root, create=True)
    try:
        ws.ensure_user(SUPERVISOR, "supervisor")
        ws.ensure_user(REVIEWER, "reviewer")
        ws.ensure_user(REVIEWER2, "reviewer")
        voters = voters_frame()
        vdir = root / "voterfiles"
        vdir.mkdir(parents=True, exist_ok=True)
        voters.write_parquet(vdir / "tiny.parquet")
        with ws.transaction():
            vf_id = int(ws._db.execute(
                "INSERT INTO voter_files (source_path, source_sha256, parquet_path, rows, imported_at, imported_by, active) "
                "VALUES ('tiny.csv', 'x', 'voterfiles/tiny.parquet', ?, ?, ?, 1)",
                (voters.height, now_utc(), SUPERVISOR)).lastrowid)
        filing_id = stages.create_filing(
            ws, name="Tiny initiative", ruleset="ca-initiative", jurisdiction="City of Los Angeles", user=SUPERVISOR,
            required=12, filing_date=_dt.date(2025, 3, 1), circulation_start=_dt.date(2025, 1, 1),
            circulation_end=_dt.date(2025, 2, 28))
        if rejections_required is not None:
            rs = json.loads(ws._scalar("SELECT ruleset_json FROM filings WHERE id = ?", (filing_id,)))
            rs["rejections_required"] = rejections_required
            with ws.transaction():
                ws._db.execute("UPDATE filings SET ruleset_json = ? WHERE id = ?", (json.dumps(rs), filing_id))
        # exemplars: two per voter, oldest a paper card, newest an e-pad capture
        ex_rows = []
        for i, vid in enumerate(voters["voter_id"]):
            for j, (date, source) in enumerate((("2004-06-01", "registration card"), ("2020-10-12", "e-pad"))):
                h = ws.crops.put_image(_signature(rng, style=i % 4))
                ex_rows.append((vid, h, date, source, now_utc()))
        with ws.transaction():
            ws._db.conn.executemany("INSERT INTO exemplars (voter_id, image_hash, captured_date, source, imported_at) "
                                   "VALUES (?, ?, ?, ?, ?)", ex_rows)
            sec_id = int(ws._db.execute(
                "INSERT INTO sections (filing_id, number, circulator_name) VALUES (?, 1, 'Circe Circulator')",
                (filing_id,)).lastrowid)
        match_run = ws.start_run("match", filing_id=filing_id, user=SUPERVISOR, model_version="tiny")
        sig_run = ws.start_run("signature", filing_id=filing_id, user=SUPERVISOR, model_version="tiny")
        line_ids, review_ids, page_ids = [], [], []
        n = 0
        for page_no in (1, 2):
            page = np.full((PAGE_H, PAGE_W), 250, np.uint8)
            boxes = []
            for k in range(LINES_PER_PAGE):
                n += 1
                y = 80 + k * 72
                sig_box, name_box, addr_box = [40, y, 300, 60], [360, y, 300, 40], [680, y, 380, 40]
                for b in (sig_box, name_box, addr_box):
                    cv2.rectangle(page, (b[0], b[1]), (b[0] + b[2], b[1] + b[3]), 120, 1)
                boxes.append((sig_box, name_box, addr_box))
            page_hash = ws.crops.put_image(page)
            with ws.transaction():
                page_id = int(ws._db.execute(
                    "INSERT INTO pages (section_id, number, width, height, dpi, skew_deg, rotation, image_hash, "
                    "segmentation_json) VALUES (?, ?, ?, ?, 200, 0, 0, ?, ?)",
                    (sec_id, page_no, PAGE_W, PAGE_H, page_hash,
                     canonical_json({"lines": [{"line": k + 1, "signature": b[0], "printed_name": b[1],
                                                "address": b[2]} for k, b in enumerate(boxes)]}))).lastrowid)
            page_ids.append(page_id)
            for k, (sig_box, name_box, addr_box) in enumerate(boxes):
                num = (page_no - 1) * LINES_PER_PAGE + k + 1
                blank = num >= 19
                vid = f"V{num:03d}"
                rec = voters.row(num - 1, named=True)
                name = f"{rec['first_name'].title()} {rec['last_name'].title()}"
                if num % 5 == 0:  # a nickname / typo in the keyed name
                    name = name.replace("a", "e", 1)
                address = f"{rec['house_number']} {rec['street_name'].title()} {rec['street_type'].title()}".strip()
                if num == 6:
                    address = "999 Elsewhere Rd"
                sig = None if blank else ws.crops.put_image(_petition_signature(rng, style=(num - 1) % 4))
                nh = None if blank else ws.crops.put_image(_text(name))
                ah = None if blank else ws.crops.put_image(_text(address))
                label = stages.line_label(1, page_no, k + 1)
                with ws.transaction():
                    lid = int(ws._db.execute(
                        "INSERT INTO lines (filing_id, section_id, page_id, label, seq, number, state, signature_box, "
                        "name_box, address_box, signature_hash, name_hash, address_hash, signature_ink) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (filing_id, sec_id, page_id, label, stages.line_seq(1, page_no, k + 1), k + 1,
                         "blank" if blank else "signed", json.dumps(sig_box), json.dumps(name_box),
                         json.dumps(addr_box), sig, nh, ah, 0.0 if blank else 0.1)).lastrowid)
                    if blank:
                        det, reasons = "invalid", ["blank_line"]
                    else:
                        ws._db.execute(
                            "INSERT INTO keyed_entries (line_id, name, address, city, zip, source, keyed_by, keyed_at) "
                            "VALUES (?, ?, ?, 'Los Angeles', '90012', 'fixture', ?, ?)",
                            (lid, name, address, SUPERVISOR, now_utc()))
                        cands = [{"voter_id": vid, "score": 0.9}]
                        status, reason = "match", None
                        if num == 7:
                            cands.append({"voter_id": "V021", "score": 0.45})
                            status, reason = "review", "ambiguous"
                        ws._db.execute(
                            "INSERT INTO matches (line_id, run_id, voter_file_id, voter_id, score, status, reason, "
                            "name_level, address_level, candidates_json, details_json, model_version) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, 'exact', 'exact', ?, '{}', 'tiny')",
                            (lid, match_run, vf_id, vid, 0.9 if num != 7 else 0.5, status, reason, json.dumps(cands)))
                        score = 0.95 if num <= 4 else 0.30 + 0.02 * num
                        ws._db.execute(
                            "INSERT INTO signature_scores (line_id, run_id, voter_id, score, decision, reason, "
                            "n_exemplars, model_version) VALUES (?, ?, ?, ?, ?, NULL, 2, 'tiny')",
                            (lid, sig_run, vid, score, "consistent" if num <= 4 else "review"))
                        if num <= 4:
                            det, reasons = "valid", []
                        else:
                            det, reasons = "needs_review", [REVIEW_REASONS[(num - 5) % len(REVIEW_REASONS)]]
                    ws._db.execute(
                        "INSERT INTO determinations (line_id, determination, level, reasons_json, inputs_json, "
                        "ruleset_id, ruleset_version, created_at) VALUES (?, ?, ?, ?, '{}', 'ca-initiative', '2025.1', ?)",
                        (lid, det, det, json.dumps(reasons), now_utc()))
                line_ids.append(lid)
                if det == "needs_review":
                    review_ids.append(lid)
        ws.finish_run(match_run, status="done", user=SUPERVISOR)
        ws.finish_run(sig_run, status="done", user=SUPERVISOR)
        return TinyWorkspace(root, filing_id, line_ids, review_ids, page_ids)
    finally:
        ws.close()
