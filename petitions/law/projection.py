"""The random-sample projection and its outcome (2 CCR §§20530–20532).

Every step rounds exactly as the regulation says, in decimal arithmetic
(a binary float turns 72.00 % into 71.99999… and moves answers by one):

1. rate = valid / n as a percentage, rounded to two decimals;
2. uncorrected = N × rate / 100, rounded up;
3. A = N / n to four decimals; weight = A × (A − 1);
4. duplicate estimate = weight × (duplicates found in the sample), rounded up;
5. projected valid = uncorrected − duplicate estimate.

Worked example from a county recall handbook: N = 25,000, n = 1,250,
900 valid, 1 duplicate → 18,000 − 380 = 17,620.

The outcome compares the projection with the required number R using the
rule set's bands (EC 9030, 9115: more than 110 % qualifies, 95–110 %
inclusive goes to a full count, under 95 % fails; local recall, EC 11225:
110 / 90). The comparison is made on the exact numbers, never on a rounded
percentage.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from fractions import Fraction

from petitions.errors import UserError

__all__ = ["Projection", "Outcome", "FullCountStatus", "project", "outcome", "full_count_status",
           "full_count_outcome"]

_CENT = Decimal("0.01")
_TEN_THOUSANDTH = Decimal("0.0001")


def _whole(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise UserError(f"{name} must be a whole number, got {value!r}", where=name)
    if value < 0:
        raise UserError(f"{name} cannot be negative, got {value}", where=name)
    return value


def _ceil(d: Decimal) -> int:
    return int(d.to_integral_value(rounding=ROUND_CEILING))


@dataclass(frozen=True)
class Projection:
    """Every intermediate of the projection, for the report and the audit.

    Attributes
    ----------
    raw_count, sample_size, valid_in_sample, duplicates_in_sample : int
        N, n, valid lines and duplicates found in the sample.
    rate_pct : Decimal
        valid / n × 100, two decimals (half up).
    uncorrected : int
        ⌈N × rate / 100⌉.
    a_factor : Decimal
        N / n, four decimals (half up).
    weight : Decimal
        A × (A − 1), exact from the rounded A.
    duplicate_estimate : int
        ⌈weight × duplicates⌉.
    projected_valid : int
        uncorrected − duplicate estimate. Can be negative when the duplicate
        estimate exceeds the uncorrected count; reported as computed, the
        outcome is then ``fails``.
    """

    raw_count: int
    sample_size: int
    valid_in_sample: int
    duplicates_in_sample: int
    rate_pct: Decimal
    uncorrected: int
    a_factor: Decimal
    weight: Decimal
    duplicate_estimate: int
    projected_valid: int

    def steps(self) -> list[tuple[str, str]]:
        """(label, worked value) pairs in order, for reports and the CLI."""
        # The weight is exact (up to 8 decimals); trailing zeros only clutter.
        w = format(self.weight.normalize(), "f") if self.weight else "0"
        return [
            ("Raw count (N)", f"{self.raw_count:,}"),
            ("Sample size (n)", f"{self.sample_size:,}"),
            ("Valid in sample", f"{self.valid_in_sample:,}"),
            ("Duplicates in sample", f"{self.duplicates_in_sample:,}"),
            ("Validity rate", f"{self.valid_in_sample:,} / {self.sample_size:,} = {self.rate_pct} %"),
            ("Uncorrected valid", f"{self.raw_count:,} x {self.rate_pct} % = {self.uncorrected:,} (rounded up)"),
            ("A = N / n", f"{self.raw_count:,} / {self.sample_size:,} = {self.a_factor}"),
            ("Weight = A x (A - 1)", f"{self.a_factor} x {self.a_factor - 1} = {w}"),
            ("Duplicate estimate", f"{w} x {self.duplicates_in_sample:,} = {self.duplicate_estimate:,} (rounded up)"),
            ("Projected valid", f"{self.uncorrected:,} - {self.duplicate_estimate:,} = {self.projected_valid:,}"),
        ]

    def to_dict(self) -> dict:
        return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in asdict(self).items()}


def project(raw: int, sample: int, valid: int, duplicates: int) -> Projection:
    """Project the valid signatures in a filing from its random sample.

    Parameters
    ----------
    raw : int
        N, the raw count of signed lines.
    sample : int
        n, lines in the sample (1 ≤ n ≤ N).
    valid : int
        Lines of the sample found valid (≤ n). A withdrawn line counts as
        not valid.
    duplicates : int
        Duplicates found within the sample (≤ n).

    Returns
    -------
    Projection

    Raises
    ------
    UserError
        A negative or non-integer number, an empty sample, a sample larger
        than the raw count, or more valid lines or duplicates than sampled.

    Examples
    --------
    >>> project(25_000, 1_250, 900, 1).projected_valid
    17620
    """
    raw = _whole("raw count", raw)
    sample = _whole("sample size", sample)
    valid = _whole("valid count", valid)
    duplicates = _whole("duplicates", duplicates)
    if sample == 0:
        raise UserError("the sample size must be at least 1", where="sample size")
    if sample > raw:
        raise UserError(f"the sample ({sample:,}) cannot be larger than the raw count ({raw:,})", where="sample size")
    if valid > sample:
        raise UserError(f"the valid count ({valid:,}) cannot be larger than the sample ({sample:,})", where="valid count")
    if duplicates > sample:
        raise UserError(f"the duplicates ({duplicates:,}) cannot be more than the sample ({sample:,})", where="duplicates")

    N, n = Decimal(raw), Decimal(sample)
    # 2 CCR §20530: the rate is a percentage to two decimals.
    rate = (Decimal(valid) * 100 / n).quantize(_CENT, rounding=ROUND_HALF_UP)
    uncorrected = _ceil(N * rate / 100)
    # 2 CCR §20531: A to four decimals, weight from the rounded A.
    a = (N / n).quantize(_TEN_THOUSANDTH, rounding=ROUND_HALF_UP)
    weight = a * (a - 1)
    dup_estimate = _ceil(weight * duplicates)
    return Projection(raw, sample, valid, duplicates, rate, uncorrected, a, weight, dup_estimate,
                      uncorrected - dup_estimate)


@dataclass(frozen=True)
class Outcome:
    """The result of a projection against the requirement.

    Attributes
    ----------
    projected : int
    required : int
    percent_of_required : Decimal
        projected / required × 100, two decimals (half up), for display.
        The ``result`` is decided on the exact ratio.
    result : str
        ``qualifies``, ``full_count`` or ``fails``.
    qualify_above : Decimal
        Projections strictly above this many signatures qualify
        (``qualify_above_pct`` % of required).
    full_count_from : Decimal
        Projections at or above this many (and not qualifying) go to a full
        count.
    """

    projected: int
    required: int
    percent_of_required: Decimal
    result: str
    qualify_above: Decimal
    full_count_from: Decimal

    def explain(self) -> str:
        if self.result == "qualifies":
            return f"{self.projected:,} is more than {self.qualify_above:,} (the qualifying band): the petition qualifies"
        if self.result == "full_count":
            return (f"{self.projected:,} is between {self.full_count_from:,} and {self.qualify_above:,} inclusive: "
                    "every line must be verified (full count)")
        return f"{self.projected:,} is less than {self.full_count_from:,}: the petition fails"


def outcome(projected: int, required: int, bands=None) -> Outcome:
    """Classify a projection under the rule set's outcome bands.

    Parameters
    ----------
    projected : int
        Projected valid signatures (:attr:`Projection.projected_valid`).
    required : int
        R, the valid signatures required (> 0).
    bands : petitions.law.rules.OutcomeBands or RuleSet, optional
        Defaults to EC 9030: qualifies above 110 %, full count from 95 %.

    Returns
    -------
    Outcome
        ``qualifies`` if projected > 110 % × R; ``full_count`` if
        95 % × R ≤ projected ≤ 110 % × R; ``fails`` below (EC 9030(f)–(g),
        9115; local recall EC 11225 uses 90 %).

    Examples
    --------
    >>> outcome(11_000, 10_000).result, outcome(11_001, 10_000).result
    ('full_count', 'qualifies')
    >>> outcome(9_500, 10_000).result, outcome(9_499, 10_000).result
    ('full_count', 'fails')
    """
    from petitions.law.rules import OutcomeBands

    if bands is None:
        bands = OutcomeBands()
    elif not isinstance(bands, OutcomeBands):
        bands = bands.bands  # a RuleSet
    if isinstance(projected, bool) or not isinstance(projected, int):
        raise UserError(f"the projected count must be a whole number, got {projected!r}", where="projected")
    required = _whole("required count", required)
    if required == 0:
        raise UserError("the required count must be at least 1", where="required count")
    # Compare projected × 100 with pct × R exactly: a rounded percentage
    # could put 110.004 % on the wrong side of 110 %.
    ratio = Fraction(projected * 100, required)
    hi, lo = Fraction(bands.qualify_above_pct), Fraction(bands.full_count_from_pct)
    result = "qualifies" if ratio > hi else "full_count" if ratio >= lo else "fails"
    pct = (Decimal(projected) * 100 / Decimal(required)).quantize(_CENT, rounding=ROUND_HALF_UP)
    return Outcome(projected, required, pct, result,
                   bands.qualify_above_pct * required / 100, bands.full_count_from_pct * required / 100)


@dataclass(frozen=True)
class FullCountStatus:
    """Live counter of a full count against the requirement (EC 9115(b)).

    Attributes
    ----------
    valid_so_far, required, remaining_lines : int
    still_needed : int
        Valid lines still needed to reach the requirement (0 once met).
    met : bool
        The requirement is reached; counting may stop if the rule set allows.
    can_stop : bool
        ``met`` and early stop allowed.
    cannot_reach : bool
        Even if every remaining line were valid the requirement would not
        be reached; the petition is insufficient.
    percent_of_required : Decimal
        Two decimals, for the display.
    """

    valid_so_far: int
    required: int
    remaining_lines: int
    still_needed: int
    met: bool
    can_stop: bool
    cannot_reach: bool
    percent_of_required: Decimal

    @property
    def result(self) -> str | None:
        """``sufficient`` / ``insufficient`` once decided, else ``None``."""
        if self.met:
            return "sufficient"
        if self.cannot_reach:
            return "insufficient"
        return None


def full_count_status(valid_so_far: int, required: int, remaining_lines: int, *,
                      early_stop: bool = True) -> FullCountStatus:
    """Where a full count stands against the requirement.

    Parameters
    ----------
    valid_so_far : int
        Lines ruled valid so far.
    required : int
        R.
    remaining_lines : int
        Lines not yet ruled on.
    early_stop : bool
        Whether the rule set lets counting stop at R (EC 9115(b));
        ``RuleSet.sampling.early_stop``.

    Examples
    --------
    >>> s = full_count_status(1_000, 1_000, 250)
    >>> s.met, s.can_stop, s.still_needed
    (True, True, 0)
    """
    valid_so_far = _whole("valid so far", valid_so_far)
    required = _whole("required count", required)
    remaining_lines = _whole("remaining lines", remaining_lines)
    if required == 0:
        raise UserError("the required count must be at least 1", where="required count")
    met = valid_so_far >= required
    pct = (Decimal(valid_so_far) * 100 / Decimal(required)).quantize(_CENT, rounding=ROUND_HALF_UP)
    return FullCountStatus(valid_so_far, required, remaining_lines, max(0, required - valid_so_far), met,
                           met and early_stop, (not met) and valid_so_far + remaining_lines < required, pct)


def full_count_outcome(valid: int, required: int) -> str:
    """Result of a completed full count: ``sufficient`` if valid ≥ required."""
    valid = _whole("valid count", valid)
    required = _whole("required count", required)
    return "sufficient" if valid >= required else "insufficient"
