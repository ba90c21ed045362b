"""One summary of a filing for every screen and report: the dashboard, `petitions status`, the certificate and the demo all read it."""
from __future__ import annotations

from pathlib import Path

import polars as pl

from petitions.counting import count_result, sample_items
from petitions.stages.filings import get_filing
from petitions.status import line_status
from petitions.store import Workspace
from petitions.store import samples as samples_db
from petitions.store import status as status_db


def dashboard(ws: Workspace, filing_id: int) -> dict:
    """Everything the dashboard shows for a filing.

    The :func:`summarize` counts (raw count, valid / invalid /
    pending, by reason, sampling state and projection) plus ``sections``
    (per-section progress) and ``reviewers`` (rulings per person, by action).
    """

    from petitions.stages.filings import get_filing

    # One line_status for the whole dashboard: it is the costly query on a
    # 60,000-line filing, and summarize/count_result would each redo it.
    status = line_status(ws, filing_id)
    out = summarize(ws, filing_id, status=status)
    filing = get_filing(ws, filing_id)
    out["filing_id"] = filing_id
    out["kind"] = filing.kind
    out["jurisdiction"] = filing.jurisdiction
    st = status.filter(pl.col("state") == "signed")
    if st.height:
        sec = (st.group_by("section").agg(
            pl.len().alias("lines"),
            (pl.col("status") == "valid").sum().alias("valid"),
            (pl.col("status") == "invalid").sum().alias("invalid"),
            (pl.col("status") == "needs_review").sum().alias("pending"),
        ).sort("section"))
        out["sections"] = sec.to_dicts()
    else:
        out["sections"] = []
    out["reviewers"] = status_db.reviewer_counts(ws, filing_id)
    return out


def samples_of(ws: Workspace, filing_id: int) -> list[dict]:
    """The filing's drawn samples (every round, both purposes), oldest first."""
    return samples_db.samples(ws, filing_id)


def summarize(ws: Workspace, filing_id: int, *, truth: Path | None = None,
              status: pl.DataFrame | None = None) -> dict:
    """Counts from the store and, when ground truth is given, the same
    counts as the truth has them and the accuracy of each automatic stage."""
    from petitions.law.projection import outcome, project
    from petitions.law.reasons import label

    filing = get_filing(ws, filing_id)
    status = line_status(ws, filing_id) if status is None else status
    res = count_result(ws, filing_id, status=status)
    review = status.filter(pl.col("status") == "needs_review")
    review_reasons = (review.select(pl.col("det_reasons").list.first().fill_null("review").alias("r"))
                      .group_by("r").len().sort("len", descending=True))
    out: dict = {
        "filing": filing.name, "ruleset": filing.ruleset.id, "required": filing.required,
        "lines": status.height,
        "states": {r["state"]: r["len"] for r in status.group_by("state").len().iter_rows(named=True)},
        "auto_valid": int((status["status"] == "valid").sum()),
        "needs_review": review.height,
        "needs_review_by_reason": {r["r"]: r["len"] for r in review_reasons.iter_rows(named=True)},
        "invalid": int((status["status"] == "invalid").sum()),
        "invalid_by_reason": res.invalid_by_reason,
        "count": res.to_dict(),
    }
    if truth is not None and Path(truth).exists():
        t = pl.read_csv(truth, infer_schema=False).with_columns(
            (pl.col("expected_valid").str.to_lowercase() == "true").alias("expected_valid"))
        j = status.join(t.select("line_id", pl.col("state").alias("true_state"), "kind", "expected_valid",
                                 pl.col("voter_id").alias("true_voter_id")), on="line_id", how="left")
        signed_true = j.filter(pl.col("true_state") == "signed")
        auto_valid = j.filter(pl.col("status") == "valid")
        false_accepts = auto_valid.filter(~pl.col("expected_valid").fill_null(False))
        matched = j.filter(pl.col("match_status") == "match")
        out["truth"] = {
            "lines": t.height,
            "valid": int(t["expected_valid"].sum()),
            "states_right": int((j["state"] == j["true_state"]).sum()),
            "auto_valid_false_accepts": false_accepts.height,
            "false_accept_kinds": {r["kind"]: r["len"] for r in false_accepts.group_by("kind").len().iter_rows(named=True)},
            "valid_lines_auto_accepted": int((signed_true.filter(pl.col("expected_valid"))["status"] == "valid").sum()),
            "identity_matches": matched.height,
            "identity_matches_right": int((matched["voter_id"] == matched["true_voter_id"]).sum()),
        }
        # If every pending line were ruled as the truth says: the count staff will reach.
        if res.method == "random_sample":
            items = sample_items(ws, filing_id).join(j.drop("line_db_id"), on="line_id", how="left")
            # Judged on own merits (a duplicate line's signature is genuine);
            # duplicates counted within the sample, as 2 CCR §20532 does.
            sv = items.with_columns(
                pl.when(pl.col("status") == "needs_review")
                .then(pl.col("expected_valid") | (pl.col("kind") == "duplicate"))
                .otherwise(pl.col("status") == "valid").alias("v"))
            valid_n = int(sv["v"].sum())
            own = sv.filter(pl.col("v") & pl.col("true_voter_id").is_not_null())
            dups = own.height - own["true_voter_id"].n_unique()
            proj = project(res.raw_count, items.height, valid_n, dups)
            o = outcome(proj.projected_valid, filing.required, filing.ruleset.bands) if filing.required else None
            out["truth"]["after_review"] = {"sample_valid": valid_n, "sample_duplicates": dups,
                                            "projected_valid": int(proj.projected_valid),
                                            "outcome": o.result if o else None,
                                            "percent_of_required": float(o.percent_of_required) if o else None}
    from petitions.stages.filings import voter_file_warnings

    out["warnings"] = voter_file_warnings(ws, filing)
    out["labels"] = {code: label(code) for code in set(out["invalid_by_reason"]) | set(out["needs_review_by_reason"])
                     if _known(code)}
    return out


def _known(code: str) -> bool:
    from petitions.law.reasons import REASONS

    return code in REASONS


def format_summary(s: dict, workspace: Path) -> str:
    c = s["count"]
    lab = s.get("labels", {})
    lines = [
        f"Filing: {s['filing']}  (rule set {s['ruleset']}, required {s['required']:,})",
        f"Lines: {s['lines']:,}  (" + ", ".join(f"{k} {v:,}" for k, v in sorted(s["states"].items())) + ")",
        f"Auto-valid: {s['auto_valid']:,}   Needs review: {s['needs_review']:,}   Invalid: {s['invalid']:,}",
        "Needs review by suspected reason: " + (", ".join(f"{lab.get(k, k)} {v}" for k, v in s["needs_review_by_reason"].items()) or "none"),
        "Invalid by reason: " + (", ".join(f"{lab.get(k, k)} {v}" for k, v in s["invalid_by_reason"].items()) or "none"),
    ]
    if c["method"] == "random_sample":
        p = c["projection"] or {}
        lines += [
            f"Random sample: seed {c['seed']!r}, {c['sample_size']:,} of {c['raw_count']:,} signed lines "
            f"(frame {c['frame_hash'][:12]}…)",
            f"  in sample: valid {c['sample_valid']:,}, duplicates {c['sample_duplicates']}, pending review {c['sample_pending']:,}",
            f"Projection now (pending lines not yet valid): {int(p.get('projected_valid', 0)):,} valid "
            f"= {c['percent_of_required']:.2f}% of required -> {c['outcome']}",
        ]
    else:
        lines.append(f"Full count: valid {c['valid']:,} of required {c['required'] or 0:,}; pending {c['pending']:,} -> {c['outcome']}")
    t = s.get("truth")
    if t:
        lines += [
            "Ground truth (fixture):",
            f"  valid lines {t['valid']:,} of {t['lines']:,}; line states read right {t['states_right']:,}/{t['lines']:,}",
            f"  identity matches right {t['identity_matches_right']:,}/{t['identity_matches']:,}; "
            f"valid lines auto-accepted {t['valid_lines_auto_accepted']:,}/{t['valid']:,}",
            f"  false accepts (auto-valid but truly invalid): {t['auto_valid_false_accepts']}"
            + (f" {t['false_accept_kinds']}" if t["false_accept_kinds"] else ""),
        ]
        a = t.get("after_review")
        if a:
            lines.append(f"  after review as the truth says: projected valid {a['projected_valid']:,} "
                         f"= {a['percent_of_required']:.2f}% -> {a['outcome']}")
    lines += [f"WARNING: {w}" for w in s.get("warnings", [])]
    lines.append(f"Open the workbench: petition-workbench {workspace}")
    return "\n".join(lines)

