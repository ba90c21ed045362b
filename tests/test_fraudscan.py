"""The same-hand scan (issue 21 item 6): clusters of lines one hand likely
wrote, sent to review with the reason ``same_hand``, never rejected; each
scan an event; the tables' rights enforced by the server, tried by attack."""
from __future__ import annotations

import json

import numpy as np
import pytest

from petitions.cli import main as cli_main
from petitions.errors import UserError
from petitions.law.reasons import REASONS
from petitions.stages.fraud import ScanParams, find_clusters, same_hand_cluster, same_hand_clusters, scan_same_hand
from petitions.store import Workspace, canonical_json, now_utc
from petitions.store import fraud as fraud_db

from gui_workspace_fixture import REVIEWER, SUPERVISOR, build_tiny_workspace


def _planted(seed: int = 0, *, d: int = 32, honest_sections: int = 12, per_section: int = 20):
    """Unit vectors: honest writers at random; two hands (each its own centre
    plus noise) filling section 0, and a third hand in half of section 1."""
    rng = np.random.default_rng(seed)
    rows, sec, truth = [], [], []
    centres = rng.normal(size=(3, d))
    for s in range(honest_sections):
        for i in range(per_section):
            if s == 0:
                h = i % 2
                rows.append(centres[h] + 0.9 * rng.normal(size=d))
                truth.append(h)
            elif s == 1 and i % 2 == 0:
                rows.append(centres[2] + 0.9 * rng.normal(size=d))
                truth.append(2)
            else:
                rows.append(rng.normal(size=d))
                truth.append(-1)
            sec.append(s)
    e = np.asarray(rows, np.float32)
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    return e, np.asarray(sec), np.asarray(truth)


def _prob(a, b):
    return np.clip((a @ b.T + 1) / 2, 0, 1)


def test_find_clusters_recovers_planted_hands_and_flags_no_honest_line():
    e, sec, truth = _planted()
    clusters, stats = find_clusters(e, sec, sec, np.zeros(len(e)), probability=_prob)
    flagged = np.zeros(len(e), bool)
    for c in clusters:
        flagged[c.members] = True
        # one hand per cluster, with at most a stray honest line
        hands, counts = np.unique(truth[c.members], return_counts=True)
        assert hands[np.argmax(counts)] >= 0 and counts.max() >= len(c.members) - 1
        assert len(set(hands) - {-1}) == 1
        assert c.scope == "section" and c.score > 0.5 and c.evidence_z >= stats["evidence_floor"]
        assert len(c.strength) == len(c.members) and c.pairs and c.pairs[0][2] >= c.pairs[-1][2]
    assert flagged[truth >= 0].mean() >= 0.9
    assert flagged[truth < 0].mean() <= 0.01
    assert {int(np.max(truth[c.members])) for c in clusters} == {0, 1, 2}


def test_find_clusters_joins_one_hand_across_circulators_and_filings():
    e, sec, truth = _planted(1)
    # hand 2 also signs in section 5 (another circulator, another filing)
    rng = np.random.default_rng(7)
    centre = e[truth == 2].mean(axis=0)
    extra = centre / np.linalg.norm(centre) + 0.05 * rng.normal(size=(8, e.shape[1]))
    extra /= np.linalg.norm(extra, axis=1, keepdims=True)
    e2 = np.vstack([e, extra.astype(np.float32)])
    sec2 = np.r_[sec, np.full(8, 5)]
    filing = np.r_[np.zeros(len(e)), np.ones(8)]
    clusters, _ = find_clusters(e2, sec2, sec2, filing, probability=_prob)
    spans = [c for c in clusters if len(set(sec2[c.members])) > 1]
    assert spans and spans[0].scope == "workspace"
    assert set(sec2[spans[0].members]) == {1, 5}


def test_find_clusters_finds_nothing_among_honest_writers():
    rng = np.random.default_rng(3)
    e = rng.normal(size=(400, 32)).astype(np.float32)
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    sec = np.repeat(np.arange(20), 20)
    clusters, stats = find_clusters(e, sec, sec, np.zeros(400), probability=_prob)
    assert clusters == [] and stats["lines"] == 400


@pytest.fixture()
def copied(tmp_path):
    """The tiny workspace, with one signature image copied onto six lines of
    six different voters (a photocopied or traced signature: one hand for
    certain, whatever the network)."""
    tiny = build_tiny_workspace(tmp_path / "ws")
    with Workspace(tiny.root) as ws:
        rows = ws._rows("SELECT id, signature_hash FROM lines WHERE state = 'signed' ORDER BY seq")
        source = rows[0]["signature_hash"]
        targets = [r["id"] for r in rows[4:10]]
        with ws.transaction():
            for lid in targets:
                ws._db.execute("UPDATE lines SET signature_hash = ? WHERE id = ?", (source, lid))
    return tiny, [rows[0]["id"], *targets]


def test_scan_sends_a_cluster_to_review_as_same_hand_and_logs_it(copied):
    tiny, copies = copied
    assert not REASONS["same_hand"].final and "person" in REASONS["same_hand"].description
    with Workspace(tiny.root) as ws:
        with pytest.raises(UserError, match="supervisor"):
            scan_same_hand(ws, user=REVIEWER, filing_id=tiny.filing_id)
        res = scan_same_hand(ws, user=SUPERVISOR, filing_id=tiny.filing_id, params=ScanParams(null_rounds=0))
        assert res.lines == 18 and res.unusable == 0 and res.embedded == 12  # 18 lines, 12 distinct images
        clusters = same_hand_clusters(ws, tiny.filing_id)
        assert clusters and clusters[0]["scope"] == "section"
        flagged = set(fraud_db.flagged_lines(ws, tiny.filing_id))
        assert set(copies) <= flagged
        detail = same_hand_cluster(ws, clusters[0]["id"])
        assert {r["line_id"] for r in detail["lines"]} >= set(copies)
        assert detail["evidence"]["pairs"] and detail["evidence"]["mean_pair_probability"] == pytest.approx(
            detail["score"], abs=1e-3)
        # triage ran again: every flagged line waits for a person, none is invalid
        dets = {r["line_id"]: r for r in ws._rows(
            "SELECT d.line_id, d.determination, d.reasons_json, d.inputs_json FROM current_determination d")}
        for lid in flagged:
            assert dets[lid]["determination"] == "needs_review"
            assert "same_hand" in json.loads(dets[lid]["reasons_json"])
            assert json.loads(dets[lid]["inputs_json"])["line"]["same_hand_cluster"].startswith(f"{res.scan_id}.")
        assert not any(d["determination"] == "invalid" and "same_hand" in d["reasons_json"] for d in dets.values())
        ev = ws._rows("SELECT user, payload_json FROM events WHERE kind = 'same_hand_scan'")
        assert len(ev) == 1 and ev[0]["user"] == SUPERVISOR
        assert json.loads(ev[0]["payload_json"])["flagged"] == len(flagged)
        assert ws.verify_chain().ok
        # a second scan reads the stored embeddings and is the one in force
        again = scan_same_hand(ws, user=SUPERVISOR, filing_id=tiny.filing_id, params=ScanParams(null_rounds=0))
        assert again.embedded == 0 and again.scan_id != res.scan_id
        assert all(v.startswith(f"{again.scan_id}.") for v in fraud_db.flagged_lines(ws, tiny.filing_id).values())


def test_a_scan_that_no_longer_flags_a_line_takes_same_hand_off(copied):
    tiny, copies = copied
    with Workspace(tiny.root) as ws:
        scan_same_hand(ws, user=SUPERVISOR, filing_id=tiny.filing_id, params=ScanParams(null_rounds=0))
        # a scan that needs more evidence than anything here has
        scan_same_hand(ws, user=SUPERVISOR, filing_id=tiny.filing_id,
                       params=ScanParams(null_rounds=0, min_evidence=1e9))
        assert fraud_db.flagged_lines(ws, tiny.filing_id) == {}
        reasons = [json.loads(r["reasons_json"]) for r in ws._rows(
            "SELECT reasons_json FROM current_determination")]
        assert not any("same_hand" in r for r in reasons)


def test_cli_fraud_scan_prints_clusters_and_json(copied, capsys):
    tiny, copies = copied
    assert cli_main(["fraud-scan", "-w", str(tiny.root), "--user", SUPERVISOR, "--filing", str(tiny.filing_id),
                     "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["flagged"] >= len(copies) and out["clusters"]
    assert out["clusters"][0]["evidence"]["sections"]
    assert cli_main(["fraud-scan", "-w", str(tiny.root), "--user", SUPERVISOR]) == 0
    text = capsys.readouterr().out
    assert "cluster 1:" in text and "sent to review as same_hand" in text
    assert cli_main(["fraud-scan", "-w", str(tiny.root), "--user", REVIEWER]) == 2  # a user error
    assert "supervisor" in capsys.readouterr().err


def test_server_roles_for_embeddings_and_scans(pg_admin):
    """Tried by attack: a reviewer's login reads no embeddings and writes no
    scan, cluster or embedding; it may read the clusters it reviews."""
    from pg_server import fresh_database

    admin_url = fresh_database(pg_admin)
    with Workspace(admin_url, create=True) as admin:
        suffix = admin_url.rsplit("/", 1)[1]
        rev, sup = f"rev_{suffix}", f"sup_{suffix}"
        admin.ensure_user(rev, "reviewer", password="rev-pw-1")
        admin.ensure_user(sup, "supervisor", password="sup-pw-1")
    host = admin_url.split("@", 1)[1]
    with Workspace(f"postgresql://{sup}:sup-pw-1@{host}") as s:
        from petitions.store import embeddings as embeddings_db

        with s.transaction():
            embeddings_db.add_embeddings(s, "v1", ["a" * 64], np.ones((1, 4), np.float32), [""])
            scan = fraud_db.add_scan(s, filing_id=None, model_version="m", embedding_version="v1", params_json="{}",
                                     lines=0, clusters=0, flagged=0, created_at=now_utc(), created_by=sup)
        assert embeddings_db.count_embeddings(s) == 1
    with Workspace(f"postgresql://{rev}:rev-pw-1@{host}") as r:
        assert r._scalar("SELECT COUNT(*) FROM fraud_scans") == 1  # reads what it reviews
        attacks = [
            "SELECT vector FROM embeddings",
            "INSERT INTO embeddings (image_hash, model_version, dim, vector, error, created_at) "
            "VALUES ('b', 'v1', 1, NULL, '', 'now')",
            "INSERT INTO fraud_scans (model_version, embedding_version, params_json, lines, clusters, flagged, "
            "created_at, created_by) VALUES ('m', 'v', '{}', 0, 0, 0, 'now', 'x')",
            f"INSERT INTO fraud_clusters (scan_id, number, scope, score, size, evidence_json) "
            f"VALUES ({scan}, 1, 'section', 0.5, 3, '{canonical_json({})}')",
            "DELETE FROM fraud_scans",
            "UPDATE fraud_scans SET flagged = 0",
        ]
        for sql in attacks:
            with pytest.raises(Exception) as err:
                with r.transaction():
                    r._rows(sql) if sql.startswith("SELECT") else r._exec(sql)
            assert "permission denied" in str(err.value).lower(), sql


def test_a_flag_removed_behind_the_softwares_back_is_seen_by_verify_log(copied):
    """Deleting one line from a scan's clusters by hand would quietly take it
    out of review at the next triage: the state check names the scan."""
    from petitions.integrity import verify_state

    tiny, copies = copied
    with Workspace(tiny.root) as ws:
        res = scan_same_hand(ws, user=SUPERVISOR, filing_id=tiny.filing_id, params=ScanParams(null_rounds=0))
        assert verify_state(ws, files=False).ok
        with ws.transaction():
            ws._db.execute("DELETE FROM fraud_cluster_lines WHERE line_id = ?", (copies[1],))
        check = verify_state(ws, files=False)
        assert not check.ok
        assert any(f"same-hand scan {res.scan_id}" in p for p in check.problems)


def _naive_strict_pairs(emb, circulator, base, cut, params, cancel):
    """Every pair at once, tested one by one as the scan defines it."""
    half = (base / 2).astype(np.float32)
    s = emb @ emb.T
    adj = s - half[:, None] - half[None, :]
    ii, jj = np.nonzero(adj >= cut)
    keep = (jj > ii) & (circulator[ii] != circulator[jj])
    return ii[keep].astype(np.int64), jj[keep].astype(np.int64)


def _public_average_cut(y, k, t):
    from scipy.cluster.hierarchy import fcluster, linkage

    return fcluster(linkage(y, method="average"), t=t, criterion="distance")


@pytest.mark.parametrize("block, chunk", [(64, 8192), (100, 8192), (1024, 8192), (64, 50), (100, 64), (30, 1000)])
def test_blocked_strict_pairs_equal_every_pair_tested_one_by_one(block, chunk, monkeypatch):
    from petitions.stages import fraud

    monkeypatch.setattr(fraud, "_CHUNK", chunk)  # several column chunks, diagonal blocks cut anywhere
    e, sec, _ = _planted(2)
    params = ScanParams(block=block)
    base = np.random.default_rng(5).normal(0, 0.05, len(e))
    iu, ju = np.triu_indices(len(e), 1)
    sims = (e @ e.T)[iu, ju][sec[iu] != sec[ju]]  # pairs of different circulators
    for cut in np.quantile(sims, [0.5, 0.9, 0.99, 0.999]):
        got = fraud._strict_pairs(e, sec, base, float(cut), params, lambda: False)
        want = _naive_strict_pairs(e, sec, base, float(cut), params, None)
        assert len(want[0]) > 0
        assert set(zip(*map(list, got))) == set(zip(*map(list, want)))


def test_average_cut_equals_scipys_public_linkage_and_fcluster():
    from scipy.spatial.distance import pdist

    from petitions.stages.fraud import _average_cut

    rng = np.random.default_rng(4)
    for k in (2, 3, 17, 60):
        y = pdist(rng.normal(size=(k, 6)))
        for t in np.quantile(y, [0.1, 0.5, 0.9]):
            assert np.array_equal(_average_cut(y, k, float(t)), _public_average_cut(y, k, float(t)))


@pytest.mark.parametrize("case", ["planted", "across", "honest"])
def test_find_clusters_unchanged_by_its_fast_paths(case, monkeypatch):
    """The blocked bound-pruned all-pairs pass and the unchecked linkage give
    the same clusters, scores and null as every pair tested one by one and
    SciPy's public linkage."""
    from petitions.stages import fraud

    if case == "honest":
        rng = np.random.default_rng(3)
        e = rng.normal(size=(400, 32)).astype(np.float32)
        e /= np.linalg.norm(e, axis=1, keepdims=True)
        sec = filing = np.repeat(np.arange(20), 20)
    else:
        e, sec, truth = _planted(0 if case == "planted" else 1)
        filing = np.zeros(len(e))
        if case == "across":
            centre = e[truth == 2].mean(axis=0)
            extra = centre / np.linalg.norm(centre) + 0.05 * np.random.default_rng(7).normal(size=(8, e.shape[1]))
            extra /= np.linalg.norm(extra, axis=1, keepdims=True)
            e = np.vstack([e, extra.astype(np.float32)])
            sec = np.r_[sec, np.full(8, 5)]
            filing = np.r_[filing, np.ones(8)]
    params = ScanParams(block=64)  # several row blocks
    fast, fast_stats = find_clusters(e, sec, sec, filing, probability=_prob, params=params)
    monkeypatch.setattr(fraud, "_strict_pairs", _naive_strict_pairs)
    monkeypatch.setattr(fraud, "_average_cut", _public_average_cut)
    slow, slow_stats = find_clusters(e, sec, sec, filing, probability=_prob, params=params)
    assert (len(fast) > 0) == (case != "honest")
    assert [c.members.tolist() for c in fast] == [c.members.tolist() for c in slow]
    assert [(c.scope, c.score, c.evidence_z, c.pairs) for c in fast] == \
        [(c.scope, c.score, c.evidence_z, c.pairs) for c in slow]
    fast_stats.pop("seconds", None)
    slow_stats.pop("seconds", None)
    assert fast_stats == slow_stats


def test_petitions_run_scans_the_filing_as_a_stage_before_triage(copied):
    """`petitions run` (run_all) runs the scan between the signatures and
    triage when a supervisor runs it; for anyone else the stage says it was
    not run, and nothing is recorded."""
    from petitions.stages.run import run_all

    tiny, copies = copied
    with Workspace(tiny.root) as ws:
        reports = run_all(ws, tiny.filing_id, user=REVIEWER)
        stages = [r.stage for r in reports]
        assert stages.index("signature") < stages.index("same_hand") < stages.index("triage")
        sh = reports[stages.index("same_hand")]
        assert sh.status.startswith("not run") and "supervisor" in sh.status
        assert ws._rows("SELECT id FROM events WHERE kind = 'same_hand_scan'") == []

        reports = run_all(ws, tiny.filing_id, user=SUPERVISOR)
        sh = next(r for r in reports if r.stage == "same_hand")
        assert sh.status == "done" and sh.processed == 18 and sh.counts["flagged"] >= len(copies)
        flagged = set(fraud_db.flagged_lines(ws, tiny.filing_id))
        assert set(copies) <= flagged
        # the triage that follows in the same run already holds them for a person
        dets = {r["line_id"]: r for r in ws._rows(
            "SELECT line_id, determination, reasons_json FROM current_determination")}
        for lid in copies:
            assert dets[lid]["determination"] == "needs_review"
            assert "same_hand" in json.loads(dets[lid]["reasons_json"])
        assert len(ws._rows("SELECT id FROM events WHERE kind = 'same_hand_scan'")) == 1
        assert ws.verify_chain().ok

        # Run again with nothing changed: the scan in force read exactly these
        # lines, so no second scan is recorded and no line is determined again.
        dets_before = ws._scalar("SELECT COUNT(*) FROM determinations")
        scan = fraud_db.current_scan_id(ws, tiny.filing_id)
        again = next(r for r in run_all(ws, tiny.filing_id, user=SUPERVISOR) if r.stage == "same_hand")
        assert again.counts == {"up_to_date_scan": scan} and again.processed == 0
        assert len(ws._rows("SELECT id FROM events WHERE kind = 'same_hand_scan'")) == 1
        assert ws._scalar("SELECT COUNT(*) FROM determinations") == dets_before
        # Other settings read differently: that scan is not up to date for them.
        from petitions.stages.fraud import ScanParams, current_scan_up_to_date

        assert current_scan_up_to_date(ws, tiny.filing_id) == scan
        assert current_scan_up_to_date(ws, tiny.filing_id, ScanParams(null_rounds=3)) is None
