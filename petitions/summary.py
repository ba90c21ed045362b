"""One summary of a filing for every screen and report: the dashboard, `petitions status`, the certificate and the demo all read it."""
from __future__ import annotations

from pathlib import Path

import polars as pl

from petitions.counting import count_result, numbering_gaps, sample_items, unread_pages
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
    out["reviewers"] = reviewer_counts(ws, filing_id)
    return out


def reviewer_counts(ws: Workspace, filing_id: int) -> list[dict]:
    """Rulings per person on the filing, by action, with their audits.

    Only rulings that stand as the person's work count: a ruling its author
    undid is left out, and so is the undo itself (a reopen, or the
    re-escalation that undoes a supervisor's ruling on an escalation), as
    are reopenings. A ruling a second person or a supervisor later
    overturned still counts: it was made and not taken back.
    One row per person (``user``, ``role``, ``rulings``, ``accepted``,
    ``rejected``, ``escalated``, ``audits``), by name.
    """
    import json

    rows = status_db.reviewer_rulings(ws, filing_id)
    undone = {int(json.loads(r["undo_json"])["undo_of"]) for r in rows if r["undo_json"]}
    table: dict[tuple[str, str], dict] = {}
    for r in rows:
        if r["undo_json"] or r["id"] in undone or r["action"] == "reopen":
            continue
        t = table.setdefault((r["user"], r["role"]), {"user": r["user"], "role": r["role"], "rulings": 0,
                                                     "accepted": 0, "rejected": 0, "escalated": 0, "audits": 0})
        t["rulings"] += 1
        key = {"accept": "accepted", "reject": "rejected", "escalate": "escalated"}[r["action"]]
        t[key] += 1
        t["audits"] += r["kind"] == "audit"
    return [table[k] for k in sorted(table)]


def samples_of(ws: Workspace, filing_id: int) -> list[dict]:
    """The filing's drawn samples (every round, both purposes), oldest first."""
    return samples_db.samples(ws, filing_id)


def counts(ws: Workspace, filing_id: int, *, status: pl.DataFrame | None = None) -> dict:
    """The filing's figures and nothing else: what the window's header shows
    after every ruling, so it reads no more than the count needs.

    The :func:`summarize` keys ``filing``, ``ruleset``, ``required``,
    ``lines``, ``states``, ``auto_accepted``, ``accepted_by_person``,
    ``auto_valid``, ``needs_review``, ``needs_review_by_reason``,
    ``invalid``, ``invalid_by_reason``, ``count`` and ``figures``, from the
    same computation (:func:`summarize` starts from this dict).
    """
    return _counts(ws, filing_id, status)[0]


def _counts(ws: Workspace, filing_id: int, status: pl.DataFrame | None):
    filing = get_filing(ws, filing_id)
    status = line_status(ws, filing_id) if status is None else status
    res = count_result(ws, filing_id, status=status)
    review = status.filter(pl.col("status") == "needs_review")
    review_reasons = (review.select(pl.col("det_reasons").list.first().fill_null("review").alias("r"))
                      .group_by("r").len().sort(["len", "r"], descending=[True, False]))
    valid = status["status"] == "valid"
    auto_accepted = int((valid & (status["level"] == "auto")).sum())
    out: dict = {
        "filing": filing.name, "ruleset": filing.ruleset.id, "required": filing.required,
        "lines": status.height,
        "states": {r["state"]: r["len"] for r in status.group_by("state").len().iter_rows(named=True)},
        "auto_accepted": auto_accepted,
        "accepted_by_person": int(valid.sum()) - auto_accepted,
        # The older name of auto_accepted (it once counted people's accepts too).
        "auto_valid": auto_accepted,
        "needs_review": review.height,
        "needs_review_by_reason": {r["r"]: r["len"] for r in review_reasons.iter_rows(named=True)},
        "invalid": int((status["status"] == "invalid").sum()),
        "invalid_by_reason": res.invalid_by_reason,
        "count": res.to_dict(),
    }
    out["figures"] = figures(out)
    return out, res, filing, status


def summarize(ws: Workspace, filing_id: int, *, truth: Path | None = None,
              status: pl.DataFrame | None = None) -> dict:
    """Counts from the store and, when ground truth is given, the same
    counts as the truth has them and the accuracy of each automatic stage."""
    from petitions.law.projection import outcome, project
    from petitions.law.reasons import label

    out, res, filing, status = _counts(ws, filing_id, status)
    out["unread_pages"] = unread_pages(ws, filing_id)
    out["numbering_gaps"] = numbering_gaps(ws, filing_id)
    out["certification"] = _certification(ws, filing_id, res, status)
    out["section_rulings"] = _section_rulings(ws, filing_id)
    if truth is not None and Path(truth).exists():
        t = pl.read_csv(truth, infer_schema=False).with_columns(
            (pl.col("expected_valid").str.to_lowercase() == "true").alias("expected_valid"))
        j = status.join(t.select("line_id", pl.col("state").alias("true_state"), "kind", "expected_valid",
                                 pl.col("voter_id").alias("true_voter_id")), on="line_id", how="left")
        signed_true = j.filter(pl.col("true_state") == "signed")
        # Software's accepts only: a line a person accepted is not the software's false accept.
        auto_valid = j.filter((pl.col("status") == "valid") & (pl.col("level") == "auto"))
        false_accepts = auto_valid.filter(~pl.col("expected_valid").fill_null(False))
        matched = j.filter(pl.col("match_status") == "match")
        out["truth"] = {
            "lines": t.height,
            "valid": int(t["expected_valid"].sum()),
            "states_right": int((j["state"] == j["true_state"]).sum()),
            "auto_valid_false_accepts": false_accepts.height,
            "false_accept_kinds": {r["kind"]: r["len"] for r in false_accepts.group_by("kind").len().iter_rows(named=True)},
            "valid_lines_auto_accepted": int(signed_true.filter(pl.col("expected_valid") & (pl.col("status") == "valid")
                                                                & (pl.col("level") == "auto")).height),
            "identity_matches": matched.height,
            "identity_matches_right": int((matched["voter_id"] == matched["true_voter_id"]).sum()),
        }
        # If every pending line were ruled as the truth says: the count staff will reach.
        if (res.method == "random_sample" or res.counted_in_full) and not res.batches:
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
            if res.counted_in_full:
                # Every line sampled: the count after review is exact.
                from petitions.law.projection import full_count_status

                exact = valid_n - dups
                fc = full_count_status(exact, filing.required, 0, early_stop=False) if filing.required else None
                out["truth"]["after_review"] = {
                    "sample_valid": valid_n, "sample_duplicates": dups, "projected_valid": exact,
                    "outcome": ("qualifies" if fc.met else "fails") if fc else None,
                    "percent_of_required": float(fc.percent_of_required) if fc else None}
            else:
                proj = project(res.raw_count, items.height, valid_n, dups)
                o = outcome(proj.projected_valid, filing.required, filing.ruleset.bands) if filing.required else None
                out["truth"]["after_review"] = {"sample_valid": valid_n, "sample_duplicates": dups,
                                                "projected_valid": int(proj.projected_valid),
                                                "outcome": o.result if o else None,
                                                "percent_of_required": float(o.percent_of_required) if o else None}
    from petitions.stages.filings import voter_file_warnings

    out["warnings"] = voter_file_warnings(ws, filing)
    out["labels"] = {code: label(code) for code in set(out["invalid_by_reason"]) | set(out["needs_review_by_reason"])
                     | {r["reason_code"] for r in out["section_rulings"]} if _known(code)}
    return out


#: The names of the figures every screen and report shows, in this order:
#: the header, the dashboard, ``petitions status`` (text; ``--json`` gives
#: the same keys under ``figures``) and the demo's summary all print them
#: with these words.
FIGURE_WORDS = {"raw_count": "raw count", "auto_accepted": "auto-accepted", "accepted_by_person": "accepted by a person",
                "valid": "valid", "invalid": "invalid", "pending": "pending", "projected_valid": "projected valid"}


def figures(s: dict) -> dict:
    """The shown figures of a :func:`summarize` dict, keyed as :data:`FIGURE_WORDS`.

    ``raw_count`` — signed lines (blank and struck left out), the frame's
    size once a sample is drawn; ``auto_accepted`` — lines the software
    accepted and nobody ruled on since; ``accepted_by_person`` — lines valid
    by a person's ruling; ``valid`` — the count's valid lines (``count.valid``:
    auto-accepted plus accepted by a person, less duplicates within a
    sample counted in full); ``invalid`` — every invalid line, blank and
    struck ones included once a person confirmed them (``invalid_by_reason``
    sums to it); ``pending`` — every line waiting for a person (blank and
    struck lines proposed invalid included); ``projected_valid`` — the
    projection of a sampled count, None for a count in full.
    """
    c = s["count"]
    proj = c.get("projection") or {}
    return {
        "raw_count": c["raw_count"],
        "auto_accepted": s["auto_accepted"],
        "accepted_by_person": s["accepted_by_person"],
        "valid": c["valid"],
        "invalid": s["invalid"],
        "pending": s["needs_review"],
        "projected_valid": int(proj["projected_valid"]) if c.get("method") == "random_sample"
        and proj.get("projected_valid") is not None else None,
    }


def _certification(ws: Workspace, filing_id: int, res, status: pl.DataFrame) -> dict:
    """The certificate in force or superseded, and — while one is in force —
    how the count differs from what it certified (``changed_since``): the
    lock refuses rulings, but a later ingest or pipeline run must not go
    unseen either."""
    from petitions.certification import certification_state
    from petitions.law.sampling import frame_hash

    st = certification_state(ws, filing_id)
    c, r = st["certificate"] or {}, st["reopened"] or {}
    changed: list[str] = []
    if st["state"] == "certified":
        labels = status.filter(pl.col("state") == "signed").sort("seq")["line_id"].to_list()
        if labels and c.get("frame_hash") and frame_hash(labels) != c["frame_hash"]:
            changed.append(f"signed lines now {len(labels):,}, certified frame {str(c['frame_hash'])[:12]}…")
        now_valid = res.sample_valid if res.method == "random_sample" else res.valid
        if c.get("valid") is not None and now_valid != c["valid"]:
            changed.append(f"valid now {now_valid:,}, certified {c['valid']:,}")
    return {"state": st["state"], "certificates": st["certificates"], "result": c.get("result"),
            "certified_at": c.get("ts"), "certified_by": c.get("user"), "frame_hash": c.get("frame_hash"),
            "pdf_sha256": c.get("pdf_sha256"), "reopened_at": r.get("ts"), "reopened_by": r.get("user"),
            "reopen_reason": r.get("reason"), "changed_since": changed}


def _section_rulings(ws: Workspace, filing_id: int) -> list[dict]:
    """Sections a supervisor voided as a whole (issue 18 item 5)."""
    from petitions.sections import section_rulings_in_force

    return section_rulings_in_force(ws, filing_id)


def _known(code: str) -> bool:
    from petitions.law.reasons import REASONS

    return code in REASONS


def _batch_line(b: dict) -> str:
    """One batch's own report (a filing in batches: each its own frame and sample)."""
    head = f"Batch {b['batch']} (sections {', '.join(map(str, b['sections']))}; {b['signed_lines']:,} signed lines): "
    if not b["sampled"]:
        return head + "no sample drawn yet (petitions sample --batch N)"
    frame = f"frame {str(b['frame_hash'])[:12]}…" + ("" if b["frame_current"] else
                                                      f", NOT CURRENT: {b['lines_outside_frame']:,} line(s) outside")
    if b["counted_in_full"]:
        return head + (f"seed {b['seed']!r}, all {b['raw_count']:,} drawn ({frame}): counted, valid {b['valid']:,}, "
                       f"pending {b['sample_pending']:,}")
    return head + (f"seed {b['seed']!r}, {b['sample_size']:,} of {b['raw_count']:,} ({frame}): valid "
                   f"{b['sample_valid']:,}, duplicates {b['sample_duplicates']}, pending {b['sample_pending']:,} "
                   f"-> projected {b['valid']:,}")


def _batches_total(c: dict) -> str:
    if c.get("outcome") == "pending" and c.get("percent_of_required") is None:
        return "Filing in batches: every batch needs its own sample before the filing has a result"
    total = (c.get("projection") or {}).get("projected_valid", c.get("valid"))
    pct = f" = {c['percent_of_required']:.2f}% of required" if c.get("percent_of_required") is not None else ""
    word = "counted" if c.get("counted_in_full") else "projected (sum of the batches)"
    return (f"Filing in batches: {word} valid {total:,}{pct} -> {c['outcome']} "
            f"(pending review in the samples: {c['sample_pending']:,})")


def format_summary(s: dict, workspace: Path) -> str:
    c = s["count"]
    lab = s.get("labels", {})
    lines = [
        f"Filing: {s['filing']}  (rule set {s['ruleset']}, required {s['required']:,})",
        f"Lines: {s['lines']:,}  (" + ", ".join(f"{k} {v:,}" for k, v in sorted(s["states"].items())) + ")",
        _figure_line(s["figures"] if "figures" in s else figures(s)),
        "Pending by suspected reason: " + (", ".join(f"{lab.get(k, k)} {v}" for k, v in s["needs_review_by_reason"].items()) or "none"),
        "Invalid by reason: " + (", ".join(f"{lab.get(k, k)} {v}" for k, v in s["invalid_by_reason"].items()) or "none"),
    ]
    for b in c.get("batches") or []:
        lines.append(_batch_line(b))
    if c.get("batches"):
        lines.append(_batches_total(c))
    elif c.get("counted_in_full"):
        lines.append(f"Random sample: seed {c['seed']!r} drew every one of the {c['raw_count']:,} signed lines "
                     f"(frame {c['frame_hash'][:12]}…): counted in full, not projected")
    if c.get("lines_outside_frame"):
        lines.append(f"OUTSIDE THE SAMPLE'S FRAME: {c['lines_outside_frame']:,} signed line(s) added after the "
                     f"sample was drawn (e.g. {', '.join(c['outside_frame'][:5])}); void and redraw to count them")
    elif c.get("frame_current") is False:
        lines.append("THE SAMPLE'S FRAME IS NOT THE FILING'S CURRENT SET OF SIGNED LINES; void and redraw")
    if c.get("batches"):
        pass
    elif c["method"] == "random_sample":
        p = c["projection"] or {}
        lines += [
            f"Random sample: seed {c['seed']!r}, {c['sample_size']:,} of {c['raw_count']:,} signed lines "
            f"(frame {c['frame_hash'][:12]}…)",
            f"  in sample: valid {c['sample_valid']:,}, duplicates {c['sample_duplicates']}, pending {c['sample_pending']:,}",
            f"Projected valid now (pending lines not yet valid): {int(p.get('projected_valid', 0)):,} "
            f"= {c['percent_of_required']:.2f}% of required -> {c['outcome']}",
        ]
    elif c.get("counted_in_full"):
        pct = f" = {c['percent_of_required']:.2f}% of required" if c.get("percent_of_required") is not None else ""
        lines += [
            f"  in sample: valid {c['sample_valid']:,}, duplicates {c['sample_duplicates']}, pending "
            f"{c['sample_pending']:,}",
            f"Count now (exact; pending lines not yet valid): {c['valid']:,} valid{pct} -> {c['outcome']}",
        ]
    else:
        lines.append(f"Full count: valid {c['valid']:,} of required {c['required'] or 0:,}; pending {c['pending']:,} -> {c['outcome']}")
    for u in s.get("unread_pages", []):
        where = f"section {u['section']}, " if u["section"] is not None else ""
        where += f"page {u['page']}" if u["page"] is not None else "a page"
        lines.append(f"UNREAD PAGE: {u['file']}, {where}: {u['error']} (its lines are not in the raw count)")
    g = s.get("numbering_gaps") or {}
    if g.get("sections"):
        lines.append("Missing section numbers: " + ", ".join(map(str, g["sections"])))
    for gp in g.get("pages", []):
        lines.append(f"Missing pages in section {gp['section']}: " + ", ".join(map(str, gp["missing"])))
    for r in s.get("section_rulings", []):
        lines.append(f"SECTION {r['section']} RULED {lab.get(r['reason_code'], r['reason_code'])} "
                     f"[{r['reason_code']}] by {r['ruled_by']} on {r['created_at'][:10]}: {r['reason']} "
                     f"({r['signed_lines']:,} signed line(s) invalid)")
    cert = s.get("certification") or {}
    if cert.get("state") == "certified":
        lines.append(f"Certified {str(cert['result']).replace('_', ' ')} on {cert['certified_at'][:10]} by "
                     f"{cert['certified_by']} (frame {str(cert['frame_hash'])[:12]}…); locked until reopened")
        if cert.get("changed_since"):
            lines.append("COUNT CHANGED SINCE CERTIFIED: " + "; ".join(cert["changed_since"])
                         + " — reopen and certify again")
    elif cert.get("state") == "superseded":
        lines.append(f"Certificate SUPERSEDED: reopened on {cert['reopened_at'][:10]} by {cert['reopened_by']} "
                     f"({cert['reopen_reason']}); a new certificate is needed")
    t = s.get("truth")
    if t:
        lines += [
            "Ground truth (fixture):",
            f"  valid lines {t['valid']:,} of {t['lines']:,}; line states read right {t['states_right']:,}/{t['lines']:,}",
            f"  identity matches right {t['identity_matches_right']:,}/{t['identity_matches']:,}; "
            f"valid lines auto-accepted {t['valid_lines_auto_accepted']:,}/{t['valid']:,}",
            f"  false accepts (auto-accepted but truly invalid): {t['auto_valid_false_accepts']}"
            + (f" {t['false_accept_kinds']}" if t["false_accept_kinds"] else ""),
        ]
        a = t.get("after_review")
        if a:
            word = "counted" if c.get("counted_in_full") else "projected"
            lines.append(f"  after review as the truth says: {word} valid {a['projected_valid']:,} "
                         f"= {a['percent_of_required']:.2f}% -> {a['outcome']}")
    lines += [f"WARNING: {w}" for w in s.get("warnings", [])]
    lines.append(f"Open the workbench: petition-workbench {workspace}")
    return "\n".join(lines)



def _figure_line(fig: dict) -> str:
    """``Raw count: 24 · Auto-accepted: 10 · …``: the figures under their shown names."""
    return " · ".join(f"{FIGURE_WORDS[k][:1].upper()}{FIGURE_WORDS[k][1:]}: {v:,}" for k, v in fig.items()
                      if v is not None)
