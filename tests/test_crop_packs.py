"""Crops in pack files (issue 19, item 6): one append-only pack per ingested
document, an index of SHA-256 → (pack, byte, length), every read checked;
loose crop files of older workspaces still read; a process killed mid-ingest
leaves a consistent store; a server workspace holds the crops in its
database."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from fixtures.forms import FormLine, render_page, write_document
from petitions import stages
from petitions.errors import UserError
from petitions.integrity import verify_state
from petitions.store import Workspace

ROOT = Path(__file__).resolve().parents[1]


def _images(n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        img = np.full((40, 120), 255, np.uint8)
        y, x = int(rng.integers(5, 30)), int(rng.integers(5, 100))
        img[y:y + 6, x:x + 15] = rng.integers(0, 120, (6, 15), dtype=np.uint8)
        out.append(img)
    return out


def _document(path: Path, pages: int, seed: int = 1) -> Path:
    rng = np.random.default_rng(seed)
    imgs = []
    for k in range(pages):
        lines = [FormLine(f"Signer {k}-{i}", f"{i + 10} Main St", "Los Angeles", "90012") for i in range(6)]
        page, _ = render_page(lines, page_number=k + 1, dpi=150, rng=rng)
        imgs.append(page)
    (doc,) = write_document(imgs, path, fmt="pdf", dpi=150)
    return doc


def _filing(ws: Workspace) -> int:
    ws.ensure_user("sup", "supervisor")
    return stages.create_filing(ws, name="Packs", ruleset="ca-initiative", jurisdiction="City of Los Angeles",
                                user="sup", required=10)


def test_a_batch_round_trips_in_one_pack_file(tmp_path):
    imgs = _images(12)
    with Workspace(tmp_path / "ws", create=True) as ws:
        with ws.crops.batch() as batch:
            digests = [batch.put_image(im) for im in imgs]
            digests.append(batch.put_image(imgs[0]))  # the same image twice is stored once
            with ws.transaction():
                batch.record()
        assert batch.count == 12 and digests[-1] == digests[0]
        for d, im in zip(digests, imgs):
            np.testing.assert_array_equal(ws.crops.get_image(d), im)
    packs = list((tmp_path / "ws" / "crops").rglob("*.pack"))
    assert len(packs) == 1
    assert not list((tmp_path / "ws" / "crops").rglob("*.png"))  # no loose files
    with Workspace(tmp_path / "ws") as ws:  # a new connection reads them through the index
        np.testing.assert_array_equal(ws.crops.get_image(digests[5]), imgs[5])
        assert ws.crops.check_images(digests[:12]) == (12, [])


def test_a_batch_not_recorded_leaves_no_pack(tmp_path):
    with Workspace(tmp_path / "ws", create=True) as ws:
        with pytest.raises(RuntimeError):
            with ws.crops.batch() as batch:
                d = batch.put_image(_images(1)[0])
                raise RuntimeError("segmentation failed")
        assert not list((tmp_path / "ws" / "crops").rglob("*.pack"))
        with pytest.raises(UserError, match="missing"):
            ws.crops.get_image(d)


def test_an_altered_pack_entry_is_seen_and_named(tmp_path):
    imgs = _images(5, seed=2)
    with Workspace(tmp_path / "ws", create=True) as ws:
        with ws.crops.batch() as batch:
            digests = [batch.put_image(im) for im in imgs]
            with ws.transaction():
                batch.record()
        pack = tmp_path / "ws" / batch.key
        loc = ws._one("SELECT pos, size FROM crop_index WHERE digest = ?", (digests[3],))
        ws.crops.close()
        data = bytearray(pack.read_bytes())
        data[loc["pos"] + loc["size"] // 2] ^= 0xFF
        pack.write_bytes(bytes(data))
    with Workspace(tmp_path / "ws") as ws:
        with pytest.raises(UserError, match=rf"{digests[3][:12]}.*pack file {batch.key}.*does not match"):
            ws.crops.get_image(digests[3])
        np.testing.assert_array_equal(ws.crops.get_image(digests[2]), imgs[2])  # the others still read
        n, problems = ws.crops.check_images(digests)
        assert n == 5 and len(problems) == 1 and batch.key in problems[0] and digests[3][:12] in problems[0]


def test_loose_crop_files_of_an_older_workspace_still_read(tmp_path):
    """Crops stored one by one (a workspace made before packs, or an exemplar) are
    read and checked alongside packed ones."""
    a, b = _images(2, seed=3)
    with Workspace(tmp_path / "ws", create=True) as ws:
        loose = ws.crops.put_image(a)
        with ws.crops.batch() as batch:
            packed = batch.put_image(b)
            with ws.transaction():
                batch.record()
        assert (tmp_path / "ws" / ws.crops.image_key(loose)).exists()
        np.testing.assert_array_equal(ws.crops.get_image(loose), a)
        np.testing.assert_array_equal(ws.crops.get_image(packed), b)
        assert ws.crops.check_images([loose, packed]) == (2, [])
        (tmp_path / "ws" / ws.crops.image_key(loose)).write_bytes(b"\x89PNG forged")
        n, problems = ws.crops.check_images([loose, packed])
        assert n == 2 and len(problems) == 1 and "replaced" in problems[0]


def test_ingest_writes_one_pack_a_document_and_verify_state_checks_it(tmp_path):
    doc = _document(tmp_path / "section.pdf", pages=3)
    with Workspace(tmp_path / "ws", create=True) as ws:
        fid = _filing(ws)
        rep = stages.ingest_document(ws, fid, doc, user="sup", workers=1)
        assert rep.pages == 3 and rep.lines > 0 and not rep.problems
        hashes = [r["signature_hash"] for r in ws._rows("SELECT signature_hash FROM lines WHERE filing_id = ?",
                                                         (fid,))]
        assert all(hashes)
        for h in hashes:
            assert ws.crops.get_image(h).ndim == 2
        assert verify_state(ws).ok
    crops = [p for p in (tmp_path / "ws" / "crops").rglob("*") if p.is_file()]
    assert len(crops) == 1 and crops[0].suffix == ".pack"


_KILLED_INGEST = """
import sys
from petitions import stages
from petitions.store import Workspace
with Workspace(sys.argv[1]) as ws:
    fid = ws._scalar("SELECT id FROM filings")
    stages.ingest_document(ws, fid, sys.argv[2], user="sup", workers=1)
"""


def test_a_process_killed_mid_ingest_leaves_a_consistent_store(tmp_path):
    doc = _document(tmp_path / "long.pdf", pages=12, seed=4)
    root = tmp_path / "ws"
    with Workspace(root, create=True) as ws:
        fid = _filing(ws)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_INGEST, str(root), str(doc)], env=env)
    packs = root / "crops" / "packs"
    deadline = time.monotonic() + 240
    # Killed once crops are being appended, before the document commits.
    while time.monotonic() < deadline and proc.poll() is None:
        if packs.exists() and any(p.stat().st_size > 0 for p in packs.iterdir()):
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the ingest ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with Workspace(root) as ws:
        assert ws._scalar("SELECT COUNT(*) FROM documents") == 0
        assert ws._scalar("SELECT COUNT(*) FROM lines") == 0
        assert ws._scalar("SELECT COUNT(*) FROM crop_index") == 0  # nothing names the orphan pack
        assert ws.verify_chain().ok and verify_state(ws).ok
        # the file ingests in full afterwards
        rep = stages.ingest_document(ws, fid, doc, user="sup", workers=1)
        assert rep.pages == 12
        for r in ws._rows("SELECT signature_hash FROM lines WHERE filing_id = ?", (fid,)):
            ws.crops.get_image(r["signature_hash"])
        assert verify_state(ws).ok


def test_a_server_workspace_holds_each_batch_as_one_pack_in_its_database(pg_admin, tmp_path, monkeypatch):
    from pg_server import fresh_database

    address = fresh_database(pg_admin)
    imgs = _images(4, seed=5)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache-a"))
    with Workspace(address, create=True) as ws:
        with ws.crops.batch() as batch:
            digests = [batch.put_image(im) for im in imgs]
            with ws.transaction():
                batch.record()
        assert not list((tmp_path / "cache-a").rglob("*.pack"))  # written to the database, not to the cache
        # One row holds the four crops; the index says where each one is.
        assert ws._rows("SELECT key FROM blobs WHERE key LIKE 'crops/%'") == [{"key": batch.key}]
        assert ws._scalar("SELECT COUNT(*) FROM crop_index WHERE pack = ?", (batch.key,)) == 4
        # A batch that is never recorded leaves nothing.
        with ws.crops.batch() as lost:
            lost.put_image(_images(1, seed=9)[0])
        assert ws._scalar("SELECT COUNT(*) FROM blobs WHERE key LIKE 'crops/%'") == 1
        # An exemplar stored on its own is still a loose blob, read alike.
        loose = ws.crops.put_image(_images(1, seed=11)[0])
    # Another workstation (its own, empty cache) reads them from the database.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache-b"))
    with Workspace(address) as ws:
        for d, im in zip(digests, imgs):
            np.testing.assert_array_equal(ws.crops.get_image(d), im)
        np.testing.assert_array_equal(ws.crops.get_image(loose), _images(1, seed=11)[0])
        assert len(list((tmp_path / "cache-b").rglob("*.pack"))) == 1  # fetched once
        # Behind the software's back: one byte of the second crop changed in
        # the database, and the pack's recorded SHA-256 made to agree.
        pos = ws._scalar("SELECT pos FROM crop_index WHERE digest = ?", (digests[1],))
        ws._exec("UPDATE blobs SET data = set_byte(data, ?, get_byte(data, ?) # 1) WHERE key = ?",
                 (pos + 40, pos + 40, batch.key))
        ws._exec("UPDATE blobs SET sha256 = encode(sha256(data), 'hex') WHERE key = ?", (batch.key,))
        check = verify_state(ws)
        assert not check.ok
        assert any(digests[1][:12] in p and batch.key in p and "altered" in p for p in check.problems), check.problems
        assert not any(d[:12] in p for d in (digests[0], digests[2], digests[3]) for p in check.problems)
        # The pack gone: every crop it held is named missing.
        ws._exec("DELETE FROM blobs WHERE key = ?", (batch.key,))
        check = verify_state(ws)
        assert all(any(d[:12] in p and "missing" in p for p in check.problems) for d in digests), check.problems


def test_pack_crops_moves_an_older_workspaces_loose_files_into_one_pack(tmp_path, capsys):
    from petitions.cli import main

    doc = _document(tmp_path / "section.pdf", pages=2, seed=6)
    root = tmp_path / "ws"
    with Workspace(root, create=True) as ws:
        fid = _filing(ws)
        stages.ingest_document(ws, fid, doc, user="sup", workers=1)
        # As a workspace made before packs holds them: one PNG file a crop, no index.
        rows = ws._rows("SELECT digest FROM crop_index")
        before = {r["digest"]: ws.crops.read_png(r["digest"]) for r in rows}
        ws.crops.close()
        with ws.transaction():
            ws._exec("DELETE FROM crop_index")
    for p in (root / "crops" / "packs").iterdir():
        p.unlink()
    for d, data in before.items():
        path = root / "crops" / d[:2] / f"{d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    named = None
    with Workspace(root) as ws:
        from petitions.store import integrity as integrity_db

        named = set(integrity_db.image_hashes(ws))
        assert named == set(before)
        assert verify_state(ws).ok  # the loose files read and check as before
    assert main(["pack-crops", "-w", str(root), "--user", "sup"]) == 0
    assert f"{len(named):,} images packed" in capsys.readouterr().out
    assert len(list((root / "crops" / "packs").glob("*.pack"))) == 1
    # Every image the workspace names (line and declaration crops) is packed; no crop file is left.
    assert not list((root / "crops").rglob("*.png"))
    with Workspace(root) as ws:
        for d in named:
            assert ws.crops.read_png(d) == before[d]
        assert verify_state(ws).ok and ws.verify_chain().ok
        assert ws._scalar("SELECT COUNT(*) FROM events WHERE kind = 'crops_packed'") == 1
    assert main(["pack-crops", "-w", str(root), "--user", "sup"]) == 0
    assert "nothing to pack" in capsys.readouterr().out


def test_ingest_files_on_one_pool_matches_one_file_at_a_time(tmp_path):
    """Many files through one pool, the next segmented while one commits: the same
    sections, lines, states and crops as ingesting each file on its own; a
    missing file and a repeat are reported in their place and the rest land."""
    from petitions.stages.ingest import ingest_files
    from sigverify.pages.batch import worker_pool

    a = _document(tmp_path / "a.pdf", pages=3, seed=7)
    b = _document(tmp_path / "b.pdf", pages=1, seed=8)
    c = _document(tmp_path / "c.pdf", pages=2, seed=9)
    files = [a, tmp_path / "missing.pdf", b, a, c]

    def lines(ws):
        return ws._rows("SELECT label, state, signature_box, signature_hash, name_hash, address_hash FROM lines "
                        "ORDER BY seq")

    with Workspace(tmp_path / "one", create=True) as ws:
        fid = _filing(ws)
        for f in (a, b, c):
            stages.ingest_document(ws, fid, f, user="sup", workers=1)
        want = lines(ws)
    with Workspace(tmp_path / "many", create=True) as ws, worker_pool(2) as pool:
        fid = _filing(ws)
        got = list(ingest_files(ws, fid, files, user="sup", executor=pool))
        assert [p for p, _ in got] == files
        assert isinstance(got[1][1], UserError) and "not found" in str(got[1][1])
        assert [r.section for _, r in (got[0], got[2], got[4])] == [1, 2, 3]
        assert got[3][1].already_ingested  # `a` again, in the same call: detected when it commits
        assert lines(ws) == want
        assert verify_state(ws).ok
    assert len(list((tmp_path / "many" / "crops" / "packs").glob("*.pack"))) == 3
