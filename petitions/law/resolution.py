"""The pure resolution of a line's rulings, from its rulings in order and its determination.

:func:`resolve` gives the line's final status; :func:`rulings_since_reset`
the rulings still in force (who has rejected since the last accept or
reopen); :func:`decision_in_force` whose decision stands, as a QA audit
compares it. No store: callers read the rulings and pass them in.
"""
from __future__ import annotations

import polars as pl

from petitions.law.reasons import REASONS


def resolve(rulings: list[dict], determination: str | None, det_reasons: list[str] | None,
            rejections_required: int) -> tuple[str, str | None, str]:
    """Final status of one line from its rulings in order and its determination.

    Returns ``(status, reason, level)``; status is ``valid``, ``invalid`` or
    ``needs_review``; level names the queue (``review``, ``second_opinion``,
    ``escalated``) or the decision (``ruled``, ``auto``).
    """
    status = determination or "needs_review"
    reason = (det_reasons or [None])[0] if status != "valid" else None
    level = "auto" if status != "needs_review" else "review"
    rejecters: set[str] = set()
    for r in rulings:
        act = r["action"]
        if act == "accept":
            status, reason, level, rejecters = "valid", None, "ruled", set()
        elif act == "reopen":
            status = determination or "needs_review"
            reason = (det_reasons or [None])[0] if status != "valid" else None
            level = "auto" if status != "needs_review" else "review"
            rejecters = set()
        elif act == "escalate":
            status, reason, level = "needs_review", r.get("reason_code"), "escalated"
        elif act == "reject":
            code = r["reason_code"]
            needed = rejections_required if REASONS[code].signature_grounds else 1
            rejecters.add(r["user"])
            if len(rejecters) >= needed:
                status, reason, level = "invalid", code, "ruled"
            else:
                status, reason, level = "needs_review", code, "second_opinion"
    return status, reason, level



def rulings_since_reset(rulings: list[dict]) -> list[dict]:
    """The rulings (non-audit, in order) still in force: those after the last
    ``reopen``, or from the last ``accept`` on."""
    cut = 0
    for i, r in enumerate(rulings):
        if r["action"] in ("accept", "reopen"):
            cut = i + (1 if r["action"] == "reopen" else 0)
    return rulings[cut:]


#: The reviewer name of the software's automatic accepts.
SOFTWARE = "software"

#: What each ruling action decides, as the QA audit compares decisions.
ACTION_DECISION = {"accept": "valid", "reject": "invalid", "escalate": "escalate"}


def decision_in_force(rulings: list[dict], determination: str | None, det_reasons: list[str],
                      rejections_required: int) -> tuple[str, str, str | None, int | None] | None:
    """The decision in force given these rulings (in order): ``(reviewer,
    decision, reason, ruling_id)``, or None when nobody has decided (the
    line waits in the review queue)."""
    status, _reason, level = resolve(rulings, determination, det_reasons, rejections_required)
    if level == "auto" and status == "valid":
        return SOFTWARE, "valid", None, None
    if level in ("ruled", "second_opinion", "escalated"):
        wanted = ("escalate",) if level == "escalated" else ("accept", "reject")
        last = next((r for r in reversed(rulings) if r["action"] in wanted), None)
        if last is not None:
            return last["user"], ACTION_DECISION[last["action"]], last["reason_code"], last["id"]
    return None


def resolve_frame(lines: pl.DataFrame, rulings: pl.DataFrame, rejections_required: int) -> pl.DataFrame:
    """Final status of many lines at once: :func:`resolve` as polars expressions.

    Only a line's last ruling decides its state, with one exception that
    reaches back: a rejection needs ``rejections_required`` distinct
    rejecters (one when the reason is not on signature grounds) counted
    since the line's last accept or reopen, the two rulings that clear
    earlier rejections. So the whole filing resolves from one group-by over
    its rulings.

    Parameters
    ----------
    lines : pl.DataFrame
        One row per line: ``line_db_id`` (Int64), ``determination`` (Utf8,
        null when triage has not run) and ``det_reasons`` (List(Utf8), null
        or empty when none), plus any other columns.
    rulings : pl.DataFrame
        The lines' rulings (audits left out) in the order they were made:
        ``line_db_id``, ``user``, ``action`` and ``reason_code``.
    rejections_required : int
        Distinct people whose rejection on signature grounds makes a line
        invalid (the rule set's second-person rule).

    Returns
    -------
    pl.DataFrame
        `lines`, in its order, with ``status``, ``reason`` and ``level``
        (Utf8) added: for every row exactly what :func:`resolve` gives.

    Raises
    ------
    KeyError
        A rejection's reason code is not in :data:`REASONS`, as in :func:`resolve`.

    Examples
    --------
    >>> import polars as pl
    >>> lines = pl.DataFrame({"line_db_id": [1, 2], "determination": ["needs_review", "valid"],
    ...                       "det_reasons": [["signature_mismatch"], []]})
    >>> rulings = pl.DataFrame({"line_db_id": [1], "user": ["a"], "action": ["reject"],
    ...                         "reason_code": ["signature_mismatch"]})
    >>> resolve_frame(lines, rulings, 2)["level"].to_list()
    ['second_opinion', 'auto']
    """
    col = pl.col
    rulings = rulings.select(
        col("line_db_id").cast(pl.Int64), col("user").cast(pl.Utf8), col("action").cast(pl.Utf8),
        col("reason_code").cast(pl.Utf8))
    rejected_codes = rulings.filter(col("action") == "reject")["reason_code"].unique().to_list()
    unknown = [c for c in rejected_codes if c not in REASONS]
    if unknown:
        raise KeyError(unknown[0])
    signature_codes = [c for c, r in REASONS.items() if r.signature_grounds]
    reset = col("action").is_in(["accept", "reopen"])
    order = pl.int_range(pl.len()).over("line_db_id")
    last = (
        rulings
        .with_columns(order.alias("_i"))
        # Rejections count from the line's last accept or reopen on.
        .with_columns(pl.when(reset).then(col("_i")).otherwise(-1).max().over("line_db_id").alias("_reset_at"))
        .group_by("line_db_id")
        .agg(
            col("action").last().alias("_action"),
            col("reason_code").last().alias("_code"),
            col("user").filter((col("action") == "reject") & (col("_i") > col("_reset_at")))
            .n_unique().alias("_rejecters"),
        )
    )
    base_status = col("determination").fill_null("needs_review")
    base_reason = pl.when(base_status != "valid").then(col("det_reasons").list.first())
    base_level = pl.when(base_status != "needs_review").then(pl.lit("auto")).otherwise(pl.lit("review"))
    act = col("_action")
    needed = pl.when(col("_code").is_in(signature_codes)).then(pl.lit(int(rejections_required))).otherwise(1)
    rejected = (act == "reject") & (col("_rejecters") >= needed)
    ruled_status = (pl.when(act == "accept").then(pl.lit("valid"))
                    .when(act == "escalate").then(pl.lit("needs_review"))
                    .when(act == "reject").then(pl.when(rejected).then(pl.lit("invalid"))
                                                .otherwise(pl.lit("needs_review"))))
    ruled_reason = pl.when(act.is_in(["escalate", "reject"])).then(col("_code"))
    ruled_level = (pl.when(act == "accept").then(pl.lit("ruled"))
                   .when(act == "escalate").then(pl.lit("escalated"))
                   .when(act == "reject").then(pl.when(rejected).then(pl.lit("ruled"))
                                               .otherwise(pl.lit("second_opinion"))))
    # No ruling, or a reopen last: the determination stands.
    from_determination = act.is_null() | (act == "reopen")
    return (
        lines.join(last, on="line_db_id", how="left", maintain_order="left")
        .with_columns(
            pl.when(from_determination).then(base_status).otherwise(ruled_status).cast(pl.Utf8).alias("status"),
            pl.when(from_determination).then(base_reason).otherwise(ruled_reason).cast(pl.Utf8).alias("reason"),
            pl.when(from_determination).then(base_level).otherwise(ruled_level).cast(pl.Utf8).alias("level"),
        )
        .drop("_action", "_code", "_rejecters")
    )


def apply_section_rulings(status: pl.DataFrame, voided: dict[int, str]) -> pl.DataFrame:
    """Lines of sections a supervisor voided as a whole, made invalid.

    A ruling on a section (a defective circulator's declaration, a section
    circulated in the wrong county) applies to every signed line of it,
    whatever the line's own status; blank and struck lines stay what they
    are (they are not in the raw count). A restored section is simply not
    in `voided`, so its lines' own statuses come back unchanged.

    Parameters
    ----------
    status : pl.DataFrame
        :func:`resolve_frame`'s output with ``section`` (Int64) and ``state`` (Utf8).
    voided : dict of int to str
        Section number -> the section ruling's reason code, for the sections
        whose latest ruling voids them.

    Returns
    -------
    pl.DataFrame
        `status` with ``status`` ``invalid``, ``reason`` the code and
        ``level`` ``section`` on those lines; other rows unchanged.

    Examples
    --------
    >>> import polars as pl
    >>> st = pl.DataFrame({"section": [1, 2, 2], "state": ["signed", "signed", "blank"],
    ...                    "status": ["valid", "valid", "invalid"], "reason": [None, None, "blank_line"],
    ...                    "level": ["auto", "auto", "auto"]})
    >>> apply_section_rulings(st, {2: "circulator_defect"})["reason"].to_list()
    [None, 'circulator_defect', 'blank_line']
    """
    if not voided:
        return status
    codes = pl.DataFrame({"section": list(voided), "_section_code": list(voided.values())},
                         schema={"section": pl.Int64, "_section_code": pl.Utf8})
    hit = pl.col("_section_code").is_not_null() & (pl.col("state") == "signed")
    return (
        status.join(codes, on="section", how="left", maintain_order="left")
        .with_columns(
            pl.when(hit).then(pl.lit("invalid")).otherwise(pl.col("status")).alias("status"),
            pl.when(hit).then(pl.col("_section_code")).otherwise(pl.col("reason")).alias("reason"),
            pl.when(hit).then(pl.lit("section")).otherwise(pl.col("level")).alias("level"),
        )
        .drop("_section_code")
    )
