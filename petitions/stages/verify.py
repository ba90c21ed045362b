"""Stage: compare each matched line's signature with the voter's exemplars (:mod:`sigverify`).
"""
from __future__ import annotations

import numpy as np

from petitions.stages.job import (
    CancelFn,
    ProgressFn,
    StageReport,
    check_cancel,
    never,
    noop_progress,
    stage_run,
)
from petitions.stages.voters import exemplars_for
from petitions.store import Workspace, canonical_json
from petitions.store import results as results_db


def run_signatures(ws: Workspace, filing_id: int, *, user: str, batch_size: int = 512, workers: int | None = None,
                   progress: ProgressFn = noop_progress, cancel: CancelFn = never) -> StageReport:
    """Compare each matched line's signature with the candidate voter's exemplars.

    `workers` threads (default: every core) share each batch.
    """
    import os

    import sigverify

    from petitions.certification import require_unlocked

    require_unlocked(ws, filing_id, "comparing signatures (petitions run)")
    workers = workers or os.cpu_count() or 1

    model = sigverify.load_default_model()
    pending = results_db.pending_signature_lines(ws, filing_id, model.version)
    report = StageReport("signature")
    if not pending:
        return report
    run_id = ws.start_run("signature", filing_id=filing_id, user=user, model_json=model.to_json(),
                          model_version=model.version, params={"lines": len(pending), "batch_size": batch_size})
    report.run_id = run_id
    with stage_run(ws, report, user):
        for start in range(0, len(pending), batch_size):
            check_cancel(cancel)
            batch = pending[start:start + batch_size]
            ex = exemplars_for(ws, [r["voter_id"] for r in batch])
            questioned = [ws.crops.get_image(r["signature_hash"]) if r["signature_hash"] else np.zeros((0, 0), np.uint8)
                          for r in batch]
            refs_meta = [ex.get(r["voter_id"], []) for r in batch]
            # One array per exemplar image: lines of the same voter share it and
            # verify() describes each distinct image once.
            images = {h: ws.crops.get_image(h) for h in {e["image_hash"] for metas in refs_meta for e in metas}}
            references = [[images[e["image_hash"]] for e in metas] for metas in refs_meta]
            scores = sigverify.verify(questioned, references, model=model, workers=workers)
            rows = []
            for i, r in enumerate(batch):
                fam = {k: float(v[i]) for k, v in scores.family_scores.items()}
                best = int(scores.best_reference[i])
                rows.append((r["line_id"], run_id, r["voter_id"], float(scores.score[i]), str(scores.decision[i]),
                             str(scores.reason[i]) or None, canonical_json(fam), len(refs_meta[i]),
                             refs_meta[i][best]["image_hash"] if 0 <= best < len(refs_meta[i]) else None,
                             scores.model_version))
            with ws.transaction():
                results_db.add_signature_scores(ws, rows)
                ws.log_event("signature_batch", user=user, filing_id=filing_id,
                             payload={"run_id": run_id, "lines": len(rows),
                                      "consistent": int(sum(1 for r in rows if r[4] == "consistent"))})
            report.processed += len(batch)
            progress("signature", report.processed, len(pending))
    return report

