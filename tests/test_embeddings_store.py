"""Issue 21 item 3: each signature image's embedding is computed once and
kept in the workspace, keyed by the image's SHA-256 and the embedding's
version. Real images, the real signature core, a real SQLite workspace (and
PostgreSQL for the table's rights, in tests/test_fraudscan.py)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import sigverify
from petitions.stages import run_signatures
from petitions.stages.verify import embedding_version, ensure_embeddings
from petitions.store import Workspace
from petitions.store import embeddings as embeddings_db

from gui_workspace_fixture import SUPERVISOR, build_tiny_workspace


@pytest.fixture()
def tiny(tmp_path):
    return build_tiny_workspace(tmp_path / "ws")


def _count_embedded(monkeypatch) -> list[int]:
    """Count the canvases the network embeds (every embedding goes through it)."""
    import sigverify.signatures.embedding as emb

    calls = [0]
    real = emb.embed_canvases

    def counting(canvases, *, net=None):
        calls[0] += len(canvases)
        return real(canvases, net=net)

    monkeypatch.setattr(emb, "embed_canvases", counting)
    return calls


def _scores(ws) -> dict[int, tuple]:
    return {r["line_id"]: (r["score"], r["decision"], r["reason"], r["family_json"]) for r in ws._rows(
        "SELECT line_id, score, decision, reason, family_json FROM current_signature")}


def test_a_rescore_with_the_same_network_embeds_nothing_and_scores_the_same(tiny, monkeypatch):
    model = sigverify.load_default_model()
    assert model.embedding, "the default verifier is the learned one"
    ev = embedding_version(model.embedding, model.prep)
    calls = _count_embedded(monkeypatch)
    with Workspace(tiny.root) as ws:
        first = run_signatures(ws, tiny.filing_id, user=SUPERVISOR, workers=1)
        signed = 18
        # 18 crops and 2 exemplars each of the 18 voters: every image embedded once
        images = ws._scalar("SELECT COUNT(DISTINCT image_hash) FROM exemplars WHERE voter_id IN "
                            "(SELECT voter_id FROM current_match)") + signed
        assert first.processed == signed
        assert first.counts["embedded"] == images == calls[0]
        assert embeddings_db.count_embeddings(ws, ev) == images
        before = _scores(ws)
        # A recalibrated model over the same network: every line is scored
        # again, from the stored vectors only.
        recal = dataclasses.replace(model, version=model.version + "-recalibrated")
        calls[0] = 0
        again = run_signatures(ws, tiny.filing_id, user=SUPERVISOR, workers=1, model=recal)
        assert again.processed == signed
        assert calls[0] == 0 and again.counts["embedded"] == 0 and again.counts["reused"] == images
        assert embeddings_db.count_embeddings(ws) == images
        after = _scores(ws)
        assert after.keys() == before.keys()
        for lid in before:  # the same numbers, from stored float32 vectors
            assert after[lid][1:3] == before[lid][1:3]
            assert after[lid][0] == pytest.approx(before[lid][0], rel=1e-6, abs=1e-9)


def test_another_embedding_version_embeds_again_and_keeps_the_old_rows(tiny, monkeypatch):
    model = sigverify.load_default_model()
    calls = _count_embedded(monkeypatch)
    with Workspace(tiny.root) as ws:
        run_signatures(ws, tiny.filing_id, user=SUPERVISOR, workers=1)
        n = embeddings_db.count_embeddings(ws)
        prep = dict(model.prep or sigverify.PrepParams().to_dict())
        prep["canvas_margin"] = int(prep.get("canvas_margin", 3)) + 1
        other = dataclasses.replace(model, version=model.version + "-newprep", prep=prep)
        assert embedding_version(other.embedding, other.prep) != embedding_version(model.embedding, model.prep)
        calls[0] = 0
        rep = run_signatures(ws, tiny.filing_id, user=SUPERVISOR, workers=1, model=other)
        assert rep.counts["embedded"] == n == calls[0]
        assert embeddings_db.count_embeddings(ws) == 2 * n


def test_ensure_embeddings_reuses_and_marks_missing_crops(tiny, monkeypatch):
    model = sigverify.load_default_model()
    calls = _count_embedded(monkeypatch)
    with Workspace(tiny.root) as ws:
        hashes = [r["signature_hash"] or "" for r in ws._rows("SELECT signature_hash FROM lines ORDER BY seq")]
        assert hashes[-1] == ""  # the blank lines have no crop
        emb, err, computed = ensure_embeddings(ws, hashes, net_name=model.embedding, prep=model.prep, workers=1)
        assert computed == 18 == calls[0]
        assert emb.shape == (20, 128) and np.isnan(emb[-1]).all() and err[-1] == "empty"
        assert np.allclose(np.linalg.norm(emb[:18], axis=1), 1.0, atol=1e-4)
        calls[0] = 0
        emb2, err2, computed2 = ensure_embeddings(ws, hashes, net_name=model.embedding, prep=model.prep, workers=1)
        assert computed2 == 0 == calls[0]
        assert np.array_equal(np.nan_to_num(emb), np.nan_to_num(emb2)) and list(err) == list(err2)
        # the same vectors the core computes from the images
        direct = sigverify.embed([ws.crops.get_image(h) for h in hashes[:3]], params=sigverify.PrepParams.from_dict(
            model.prep))
        assert np.allclose(direct, emb[:3], atol=1e-5)


def test_a_crop_that_cannot_be_read_is_that_lines_problem_not_the_batchs(tiny):
    model = sigverify.load_default_model()
    with Workspace(tiny.root) as ws:
        hashes = [r["signature_hash"] for r in ws._rows(
            "SELECT signature_hash FROM lines WHERE state = 'signed' ORDER BY seq")]
        ws.crops.path(hashes[2]).unlink()  # lost from the folder
        emb, err, computed = ensure_embeddings(ws, hashes, net_name=model.embedding, prep=model.prep, workers=1)
        assert computed == len(set(hashes))
        assert err[2] == "unreadable" and np.isnan(emb[2]).all()
        assert (err[[i for i in range(len(hashes)) if i != 2]] == "").all()
        # not kept as a result: once the file is back, it is embedded
        assert embeddings_db.get_embeddings(ws, [hashes[2]], embedding_version(model.embedding, model.prep)) == {}
