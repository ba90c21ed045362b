"""Random samples an observer can reproduce (2 CCR §§20510–20540).

The regulation asks for a sample in which every line has an equal chance,
drawn by a computer random number generator. We use the public-seed
construction of Rivest's ``consistent_sampler`` (PyPI
``consistent-sampler``) so that anyone holding the seed and the list of line
ids can recompute the sample with that package:

    ticket(id) = "0." + reversed(64-digit decimal of
                 SHA-256( sha256_hex(seed) + id ))

and the sample is the ids in increasing ticket order. Later rounds take the
next ids in the same order, so a sample can grow without redrawing.

The seed is **always a string** (VotingWorks Arlo once shipped a build that
parsed the seed as an integer and drew a different sample: ``"0314159"`` and
``314159`` are different seeds here, as they are in the reference package).

Examples
--------
>>> [d.id for d in ticket_order(["A-1", "A-2", "A-3", "B-1", "B-2", "B-3"], "314159")[:4]]
['B-2', 'B-3', 'A-3', 'A-2']
"""
from __future__ import annotations

import hashlib
import heapq
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from petitions.errors import UserError

__all__ = ["Draw", "SamplingPlan", "ticket", "ticket_order", "draw_sample", "sample_size", "sampling_plan",
           "frame_hash", "trim_ticket", "audit_sample"]


class Draw(NamedTuple):
    """One id and its ticket. A tuple, so ``id, t = draw`` works."""

    id: str
    ticket: str


def _seed_hash(seed: str) -> str:
    if not isinstance(seed, str):
        raise TypeError(f"the seed must be a string, got {type(seed).__name__}: a seed parsed as a number "
                        "can draw a different sample")
    return hashlib.sha256(seed.encode("utf-8")).hexdigest()


def _ticket_from_hash(seed_hash: str, id_: str) -> str:
    digest = hashlib.sha256((seed_hash + id_).encode("utf-8")).digest()
    # The reference formats the integer with "{:064d}" (at least 64 digits,
    # usually 77-78) and reverses the digits so the unbiased low-order digits
    # come first.
    return "0." + f"{int.from_bytes(digest, 'big'):064d}"[::-1]


def ticket(seed: str, id: str) -> str:
    """The ticket number of line `id` under `seed`, as a decimal string.

    Parameters
    ----------
    seed : str
        The published seed, exactly as announced (never parsed as a number).
    id : str
        The line id (e.g. ``"S012-P03-L07"``).

    Returns
    -------
    str
        ``"0.ddd…"``: the full-precision ticket, equal to
        ``consistent_sampler.first_fraction(id, seed)``. The reference
        package prints tickets trimmed to 9 significant digits
        (:func:`trim_ticket`); the full string sorts identically.

    Examples
    --------
    >>> ticket("314159", "B-2")[:11]
    '0.410310858'
    """
    return _ticket_from_hash(_seed_hash(seed), str(id))


def _check_ids(ids: Sequence[str], where: str) -> list[str]:
    ids = [str(i) for i in ids]
    if len(ids) != len(set(ids)):
        dupes = sorted(k for k, c in Counter(ids).items() if c > 1)
        shown = ", ".join(dupes[:5]) + (" …" if len(dupes) > 5 else "")
        raise UserError(f"line ids must be unique; repeated: {shown}", where=where)
    return ids


def ticket_order(ids: Iterable[str], seed: str) -> list[Draw]:
    """All ids in sampling order (increasing ticket), with their tickets.

    Parameters
    ----------
    ids : iterable of str
        The sampling frame: every signed line's id, each once. Order does not
        matter.
    seed : str
        The published seed.

    Returns
    -------
    list of Draw
        ``(id, ticket)`` pairs, smallest ticket first. Ties (which SHA-256
        makes practically impossible) break by id, as in the reference.

    Raises
    ------
    UserError
        If an id appears twice (the reference refuses that too).
    """
    ids = _check_ids(list(ids), "sampling frame")
    sh = _seed_hash(seed)
    # One hash per id is the construction itself; the sort compares strings
    # exactly as the reference's heap of namedtuples does.
    draws = [Draw(i, _ticket_from_hash(sh, i)) for i in ids]
    draws.sort(key=lambda d: (d.ticket, d.id))
    return draws


def draw_sample(ids: Iterable[str], seed: str, n: int, *, already: Sequence[str] = ()) -> list[Draw]:
    """Draw the next `n` lines of the sample; rounds extend the same order.

    Parameters
    ----------
    ids : iterable of str
        The sampling frame (the same frame in every round).
    seed : str
        The published seed (the same in every round).
    n : int
        How many more lines to draw (fewer if the frame runs out).
    already : sequence of str, optional
        Ids drawn in earlier rounds, in draw order. They must be exactly the
        first ``len(already)`` ids of the ticket order: anything else means a
        different seed or frame was used, and the sample would not be the
        one the observers can check.

    Returns
    -------
    list of Draw
        Draws ``len(already)`` … ``len(already) + n - 1`` of the ticket order.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise UserError(f"the number of lines to draw must be a whole number 0 or more, got {n!r}", where="sample")
    frame = _check_ids(list(ids), "sampling frame")
    already = [str(a) for a in already]
    k = len(already)
    sh = _seed_hash(seed)
    # Only the first k + n tickets are needed: a heap selection instead of a
    # full sort keeps a 5 % sample of 700,000 lines cheap.
    keyed = ((_ticket_from_hash(sh, i), i) for i in frame)
    head = heapq.nsmallest(k + n, keyed)
    prefix = [i for _, i in head[:k]]
    if prefix != already:
        missing = set(already) - set(frame)
        if missing:
            raise UserError(f"{len(missing)} line(s) drawn earlier are not in this frame, e.g. {sorted(missing)[0]}",
                            where="sample")
        raise UserError("the lines drawn earlier are not the start of this seed's ticket order; "
                        "use the same seed and frame as the earlier rounds", where="sample")
    return [Draw(i, t) for t, i in head[k:]]


class SamplingPlan(NamedTuple):
    """What the rule set says to do with a filing of ``raw_count`` lines."""

    method: str  # 'full_count' or 'random_sample'
    size: int
    basis: str   # the rule applied, in words, for the report


def sampling_plan(raw_count: int, ruleset) -> SamplingPlan:
    """Full count or random sample, and how many lines.

    Parameters
    ----------
    raw_count : int
        N, the signed lines filed (blank and struck lines excluded,
        2 CCR §20510).
    ruleset : petitions.law.rules.RuleSet or petitions.law.rules.SamplingRules

    Returns
    -------
    SamplingPlan
        ``method`` is ``full_count`` when every line must be verified: the
        rule set says so, no tier covers N (EC 8084 below 100 lines), or the
        sample would be all of N anyway.

    Examples
    --------
    EC 9115: max(500, ⌈3 % × 20,001⌉) = 601.
    """
    from petitions.law.rules import SamplingRules, _ceil_pct

    if isinstance(raw_count, bool) or not isinstance(raw_count, int) or raw_count < 0:
        raise UserError(f"the raw count must be a whole number 0 or more, got {raw_count!r}", where="raw count")
    rules: SamplingRules = ruleset if isinstance(ruleset, SamplingRules) else ruleset.sampling
    if rules.method == "full_count":
        return SamplingPlan("full_count", raw_count, "full count required by the rule set")
    tier = next((t for t in rules.tiers if t.applies(raw_count)), None)
    if tier is not None:
        n = tier.size(raw_count)
        basis = (f"{tier.lines} lines for a raw count of {tier.from_lines:,}"
                 + (f"–{tier.to_lines:,}" if tier.to_lines is not None else " or more")
                 if tier.lines is not None else
                 f"{tier.percent} % of the raw count" + (f", at least {tier.minimum:,}" if tier.minimum else ""))
    elif rules.tiers and rules.method == "sample_if_large":
        return SamplingPlan("full_count", raw_count, "raw count below the sampling threshold: full count")
    else:
        n = max(rules.minimum, _ceil_pct(raw_count, rules.percent or 0))
        basis = f"the greater of {rules.minimum:,} lines or {rules.percent} % of the raw count"
    if n >= raw_count:
        return SamplingPlan("full_count", raw_count, basis + f"; that is every line ({raw_count:,})")
    return SamplingPlan("random_sample", n, basis)


def sample_size(raw_count: int, ruleset) -> int:
    """n = max(minimum, ⌈p·N⌉) (or the tier's fixed size), never more than N.

    See :func:`sampling_plan` for the rule applied; e.g. 2 CCR §20520 with
    EC 9115 (3 % or 500) gives 500 for N = 10,000 and 750 for N = 25,000.
    """
    return sampling_plan(raw_count, ruleset).size


def frame_hash(ids: Iterable[str]) -> str:
    """SHA-256 of the sampling frame, independent of the order ids come in.

    The ids are sorted by code point, each followed by ``"\\n"``, encoded as
    UTF-8. An observer with the ids one per line can check it with
    ``LC_ALL=C sort ids.txt | sha256sum``. Sorted because the ticket order
    does not depend on the frame's order, so neither should its fingerprint.

    Returns
    -------
    str
        64 hex digits.
    """
    # One update of the whole text: the same bytes as one id and "\n" at a
    # time, without 2 calls per line (a count refresh hashes 60,000 ids).
    return hashlib.sha256("".join(f"{i}\n" for i in sorted(str(x) for x in ids)).encode("utf-8")).hexdigest()


def trim_ticket(t: str, digits: int = 9) -> str:
    """The ticket as the reference package prints it: `digits` significant
    digits after any leading run of 9s, truncated (not rounded)."""
    mantissa = t[2:] + "0"
    lead = len(mantissa) - len(mantissa.lstrip("9"))
    return t[: 2 + lead + digits]


def audit_sample(items, seed: str, qa, *, software: str = "software"):
    """Reproducible supervisor QA sample: a share of each reviewer's rulings.

    Parameters
    ----------
    items : pl.DataFrame
        Candidate rulings: ``line_id`` (str, unique) and ``reviewer`` (str;
        the software's auto-accepts under the name `software`).
    seed : str
        The audit's published seed.
    qa : petitions.law.rules.QaRates
        ``auto_accept_rate`` for the software's accepts; ``per_reviewer_rate``
        (at least ``minimum_per_reviewer``) for each person (Colorado audits
        ≥ 2 % of software approvals).
    software : str
        The reviewer name of automatic accepts.

    Returns
    -------
    pl.DataFrame
        ``line_id``, ``reviewer``, ``ticket``, ``rank`` (1-based within the
        reviewer): for each reviewer the lines with the smallest tickets, so
        anyone with the seed can recompute it, and a larger rate later only
        adds lines.
    """
    import polars as pl

    if items.height == 0:
        return pl.DataFrame(schema={"line_id": pl.String, "reviewer": pl.String, "ticket": pl.String,
                                    "rank": pl.UInt32})
    _check_ids(items["line_id"].cast(pl.String).to_list(), "audit frame")
    sh = _seed_hash(seed)
    tickets = [_ticket_from_hash(sh, i) for i in items["line_id"].cast(pl.String)]
    sizes = {}
    for reviewer, n in items.group_by("reviewer").len().iter_rows():
        if reviewer == software:
            sizes[reviewer] = qa.audit_size(n, qa.auto_accept_rate)
        else:
            sizes[reviewer] = qa.audit_size(n, qa.per_reviewer_rate, qa.minimum_per_reviewer)
    ranked = (
        items.select(pl.col("line_id").cast(pl.String), pl.col("reviewer").cast(pl.String))
        .with_columns(ticket=pl.Series(tickets, dtype=pl.String))
        .sort(["reviewer", "ticket", "line_id"])
        .with_columns(rank=pl.int_range(1, pl.len() + 1, dtype=pl.UInt32).over("reviewer"))
    )
    quota = pl.col("reviewer").replace_strict(sizes, return_dtype=pl.UInt32)
    return ranked.filter(pl.col("rank") <= quota)
