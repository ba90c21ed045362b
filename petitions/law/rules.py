"""Rule sets: the law a filing is verified under, as typed, versioned data.

A rule set says how a petition is counted (full count or random sample and
the sample size), the outcome bands of the sample projection, the
duplicate policy, the registration test, the address variants that are
not grounds to reject (2 CCR §20931), how many people must agree before a
signature rejection stands, the QA audit rates and the triage thresholds.

Rule sets are JSON files. The California ones ship in
``petitions/rulesets/``; a new jurisdiction is a new file, not code. Nothing
is read at import time and nothing is global: callers load a rule set and
pass it in, and the store keeps the rule set's JSON and
:attr:`RuleSet.content_hash` with every result computed under it.

Percentages are :class:`decimal.Decimal` so that sample sizes and
requirements are computed exactly (a float ``0.03 * 20000`` is not 600).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from decimal import ROUND_CEILING, Decimal
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from petitions.errors import UserError

__all__ = [
    "AddressLeniency",
    "CrossFilingRules",
    "OutcomeBands",
    "QaRates",
    "RequirementBasis",
    "RequirementTier",
    "RuleSet",
    "SampleTier",
    "SamplingRules",
    "TriageRules",
    "AUTO_INVALID_LEVELS",
    "builtin_rulesets",
    "load_ruleset",
    "required_count",
]

Kind = Literal["nominating", "in_lieu", "initiative", "referendum", "recall"]
KINDS = ("nominating", "in_lieu", "initiative", "referendum", "recall")
SAMPLING_METHODS = ("full_count", "random_sample", "sample_if_large")
DUPLICATE_POLICIES = ("one_counts", "reject_all_but_first", "earliest_dated")
REGISTRATION_TESTS = ("before_signing", "before_filing")
MATCH_STATUSES = ("match",)  # software accepts identity only on a clear match
MATCH_OPERATING_POINTS = ("strict", "balanced", "identity")  # matchers.MatchModel.operating_points
#: Triage levels software may propose invalid, if the rule set lists them,
#: for a person to confirm. Each needs no judgement about identity or the
#: signature (EC 3019, 2 CCR §20961).
AUTO_INVALID_LEVELS = ("blank_line", "struck_line", "empty_line", "missing_signature")

SCHEMA = "sigverify.ruleset/1"


def _dec(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise UserError(f"expected a number, got {value!r}", where=where)
    try:
        d = Decimal(str(value))
    except Exception:
        raise UserError(f"expected a number, got {value!r}", where=where) from None
    if not d.is_finite():
        raise UserError(f"expected a finite number, got {value!r}", where=where)
    return d


def _int(value: Any, where: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)) or int(value) != value:
        raise UserError(f"expected a whole number, got {value!r}", where=where)
    if value < minimum:
        raise UserError(f"must be at least {minimum}, got {value}", where=where)
    return int(value)


def _choice(value: Any, choices: tuple[str, ...], where: str) -> str:
    if value not in choices:
        raise UserError(f"expected one of {', '.join(choices)}; got {value!r}", where=where)
    return value


def _ceil_pct(count: int, percent: Decimal) -> int:
    """⌈count × percent / 100⌉ computed exactly."""
    return int((Decimal(count) * percent / 100).to_integral_value(rounding=ROUND_CEILING))


# ---------------------------------------------------------------- sampling


@dataclass(frozen=True)
class SampleTier:
    """Sample size for raw counts in ``[from_lines, to_lines]`` (inclusive).

    Either a fixed number of ``lines`` or ``max(minimum, ⌈percent·N⌉)``.
    EC 8084: 100 lines when the raw count is 100–1,999, 5 % at 2,000 or more.
    """

    from_lines: int
    to_lines: int | None = None
    lines: int | None = None
    percent: Decimal | None = None
    minimum: int = 0

    def applies(self, raw_count: int) -> bool:
        return raw_count >= self.from_lines and (self.to_lines is None or raw_count <= self.to_lines)

    def size(self, raw_count: int) -> int:
        if self.lines is not None:
            return self.lines
        return max(self.minimum, _ceil_pct(raw_count, self.percent or Decimal(0)))


@dataclass(frozen=True)
class SamplingRules:
    """How a filing is counted.

    ``method``
        ``full_count`` — every line is verified (nominating petitions);
        ``random_sample`` — n = max(``minimum``, ⌈``percent``·N⌉), capped at N
        (EC 9030, 9115: 3 % or 500; EC 11225: 5 % or 500);
        ``sample_if_large`` — the ``tiers`` give n by raw count, and a raw
        count no tier covers is counted in full (EC 8084).
    ``early_stop``
        A full count may stop once the requirement is met (EC 9115(b)).
    """

    method: str = "random_sample"
    percent: Decimal | None = None
    minimum: int = 0
    tiers: tuple[SampleTier, ...] = ()
    early_stop: bool = True


@dataclass(frozen=True)
class OutcomeBands:
    """Outcome of a sample projection as a percentage of the requirement.

    ``projected > qualify_above_pct`` % of required → qualifies;
    ``full_count_from_pct`` % ≤ projected ≤ ``qualify_above_pct`` % → full
    count (both edges inclusive); below → fails. EC 9030(f)-(g) and 9115:
    110 / 95; local recall, EC 11225: 110 / 90.
    """

    qualify_above_pct: Decimal = Decimal(110)
    full_count_from_pct: Decimal = Decimal(95)


# ------------------------------------------------------------ requirement


@dataclass(frozen=True)
class RequirementTier:
    """``percent`` of the base when the base is in ``[from_count, to_count]``."""

    from_count: int
    to_count: int | None
    percent: Decimal


@dataclass(frozen=True)
class RequirementBasis:
    """One way the law computes the required number of valid signatures.

    ``measure`` is what the percentage is of: ``registered_voters``,
    ``votes_cast`` (e.g. for governor, or for the office at the last
    election) or ``fixed`` (a number set by charter or ordinance, given per
    filing). Tiers select the percentage by the size of the base
    (EC 11221: 30 % of registered voters under 1,000 … 10 % at 100,000+).
    """

    name: str
    measure: str
    percent: Decimal | None = None
    tiers: tuple[RequirementTier, ...] = ()
    citation: str = ""

    def required(self, base: int) -> int:
        if self.measure == "fixed":
            return base
        pct = self.percent
        for tier in self.tiers:
            if base >= tier.from_count and (tier.to_count is None or base <= tier.to_count):
                pct = tier.percent
                break
        if pct is None:
            raise UserError(f"no percentage of {self.measure} applies to {base:,}", where=f"requirement {self.name}")
        # "not less than N percent": a fraction of a signature rounds up.
        return _ceil_pct(base, pct)


# ----------------------------------------------------------- people & QA


@dataclass(frozen=True)
class AddressLeniency:
    """Address differences that are *not* grounds to reject (2 CCR §20931).

    Each flag, when true, tells the matcher to treat that variant as the
    registration address; when false the variant is a difference (a person
    looks; without ``moved_during_circulation`` a voter found only at another
    address is no match). The names are the matcher's variants
    (``matchers.match.ADDRESS_LENIENCY``); the match stage hands
    :meth:`tolerated` to it and records it with each match, so changing a
    flag re-matches the filing. See :meth:`tolerated`.
    """

    unit_blank_or_different: bool = True
    street_name_abbreviated_or_old: bool = True
    fraction_missing_or_different: bool = True
    po_box_with_matching_street: bool = True
    moved_during_circulation: bool = True
    no_city_with_street_and_zip: bool = True
    city_abbreviated_or_neighbourhood: bool = True
    initials_for_given_names: bool = True

    def tolerated(self) -> frozenset[str]:
        """Names of the tolerated variants (the flags that are true)."""
        return frozenset(f.name for f in fields(self) if getattr(self, f.name))


@dataclass(frozen=True)
class QaRates:
    """Supervisor audit sample rates (Colorado reviews ≥ 2 % of software approvals).

    ``auto_accept_rate`` of the software's accepts and ``per_reviewer_rate``
    of each reviewer's rulings, but at least ``minimum_per_reviewer``
    rulings (or all of them, if fewer).
    """

    auto_accept_rate: Decimal = Decimal("0.02")
    per_reviewer_rate: Decimal = Decimal("0.05")
    minimum_per_reviewer: int = 10
    #: Reason code -> category, for agreement: an audit rejecting for a
    #: reason of another category than the original rejection disagrees.
    #: Empty (the default): each reason is its own category.
    reason_categories: tuple[tuple[str, str], ...] = ()

    def category(self, reason: str | None) -> str | None:
        """The agreement category of a reason code (the code itself unless mapped)."""
        return dict(self.reason_categories).get(reason, reason) if reason else reason

    def audit_size(self, population: int, rate: Decimal, minimum: int = 0) -> int:
        """⌈rate × population⌉, at least `minimum`, never more than `population`."""
        n = int((Decimal(population) * rate).to_integral_value(rounding=ROUND_CEILING))
        return min(population, max(minimum, n))


@dataclass(frozen=True)
class TriageRules:
    """When software may accept, and which levels it may mark invalid.

    ``min_match_status``
        Identity is clear only at this matcher status (``match``).
    ``min_match_score``
        If set, the match score must also be at least this.
    ``min_signature_score``
        If set, the signature is clear only at this calibrated score or more;
        if ``None`` (the default) the signature model's own ``consistent``
        decision is used.
    ``auto_invalid_levels``
        Triage levels software *proposes* invalid (subset of
        :data:`AUTO_INVALID_LEVELS`): such a line waits at level
        ``confirm_invalid`` with the proposed reason until a person
        confirms it; software never makes a line invalid.
    ``match_operating_point``
        The matcher model's named operating point the pipeline matches at
        (``strict``, ``balanced``, ``identity``; see
        :meth:`matchers.MatchModel.at_operating_point`). Looser points
        accept more identities and rely on the signature comparison, which
        must also agree before a line is auto-accepted, to catch same-name
        housemates.
    """

    min_match_status: str = "match"
    min_match_score: float | None = None
    min_signature_score: float | None = None
    auto_invalid_levels: tuple[str, ...] = ("blank_line", "struck_line", "empty_line")
    match_operating_point: str = "strict"


# ------------------------------------------------------- across filings

PAPERS_PER_SIGNER = ("one", "seats")
WHICH_COUNTS = ("earliest",)


@dataclass(frozen=True)
class CrossFilingRules:
    """Limits and combinations across the filings of one office in a period.

    ``papers_per_signer``
        ``None``: no limit across filings; ``one``: a voter's signature
        counts on one paper per office; ``seats``: on as many papers as the
        office has seats to fill (EC 8404: "each signer … shall sign but one
        paper for the same office", or as many as there are seats).
    ``which_counts``
        Which papers count when a voter signed more: ``earliest`` — those
        signed first (date signed; undated lines after dated ones, then the
        order the filings were created and the line's filing order).
    ``same_candidate_kinds``
        Filing kinds that are one paper when they are the same candidate's
        for the same office: a candidate's in-lieu-of-fee petition counts
        toward the nomination paper (EC 8061, 8106), so signing both is
        one paper, and the second signature of a voter on the two is a
        duplicate.
    """

    papers_per_signer: str | None = None
    which_counts: str = "earliest"
    same_candidate_kinds: tuple[str, ...] = ()


def _cross_filing(d: Any, where: str) -> CrossFilingRules:
    d = _check_keys(d, _names(CrossFilingRules), where)
    pps = d.get("papers_per_signer")
    if pps is not None:
        _choice(pps, PAPERS_PER_SIGNER, f"{where}.papers_per_signer")
    kinds = d.get("same_candidate_kinds", [])
    if not isinstance(kinds, list):
        raise UserError("expected a list of filing kinds", where=f"{where}.same_candidate_kinds")
    for k in kinds:
        _choice(k, KINDS, f"{where}.same_candidate_kinds")
    return CrossFilingRules(papers_per_signer=pps,
                            which_counts=_choice(d.get("which_counts", "earliest"), WHICH_COUNTS,
                                                 f"{where}.which_counts"),
                            same_candidate_kinds=tuple(kinds))


# ----------------------------------------------------------------- RuleSet


@dataclass(frozen=True)
class RuleSet:
    """The law one filing is verified under. Frozen, versioned, JSON.

    Build one with :func:`load_ruleset` or :meth:`from_json`; keep
    :meth:`to_json` and :attr:`content_hash` with the results.
    """

    id: str
    version: str
    name: str
    kind: str
    jurisdiction: str
    level: str = "local"
    sampling: SamplingRules = field(default_factory=SamplingRules)
    bands: OutcomeBands = field(default_factory=OutcomeBands)
    requirement: tuple[RequirementBasis, ...] = ()
    duplicate_policy: str = "one_counts"
    registration_test: str = "before_signing"
    inactive_voters_count: bool = True
    max_circulation_days: int | None = None
    address_leniency: AddressLeniency = field(default_factory=AddressLeniency)
    rejections_required: int = 1
    qa: QaRates = field(default_factory=QaRates)
    triage: TriageRules = field(default_factory=TriageRules)
    partisan: bool = False
    cross_filing: CrossFilingRules = field(default_factory=CrossFilingRules)
    citations: tuple[str, ...] = ()
    notes: str = ""

    # -- serialisation ----------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (Decimals become numbers, tuples lists)."""
        d = _plain(asdict(self))
        if not self.qa.reason_categories:
            # Left out when unset, so rule sets without it keep their content hash.
            d["qa"].pop("reason_categories")
        else:
            d["qa"]["reason_categories"] = dict(self.qa.reason_categories)
        return {"schema": SCHEMA, **d}

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, sort_keys=indent is None)

    @classmethod
    def from_json(cls, text: str, *, where: str = "rule set") -> "RuleSet":
        try:
            data = json.loads(text, parse_float=Decimal)
        except json.JSONDecodeError as exc:
            raise UserError(f"not valid JSON ({exc.msg}, line {exc.lineno} column {exc.colno})", where=where) from None
        return cls.from_dict(data, where=where)

    @classmethod
    def from_dict(cls, data: Any, *, where: str = "rule set") -> "RuleSet":
        return _ruleset_from_dict(data, where)

    @property
    def content_hash(self) -> str:
        """SHA-256 of the canonical JSON (sorted keys, no spaces): the
        identity of exactly these rules, whatever the id and version say."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    # -- the law's arithmetic ---------------------------------------------

    def required_count(self, base: int, *, basis: str | None = None) -> int:
        """See :func:`required_count`."""
        return required_count(self, base, basis=basis)

    def circulation_end(self, start):
        """Last day signatures may be gathered, from the rule set's limit
        (e.g. a referendum within 30 days of the ordinance, EC 9237), or None."""
        import datetime as _dt

        if start is None or self.max_circulation_days is None:
            return None
        return start + _dt.timedelta(days=self.max_circulation_days)


def required_count(ruleset: RuleSet, base: int, *, basis: str | None = None) -> int:
    """Required number of valid signatures, where the law computes it.

    Parameters
    ----------
    ruleset : RuleSet
    base : int
        Registered voters, votes cast, or the fixed number, according to the
        basis's ``measure``.
    basis : str, optional
        Name of one of ``ruleset.requirement``; the first if omitted.

    Returns
    -------
    int
        ⌈percent × base / 100⌉ with the percentage the tiers give.

    Examples
    --------
    Local recall, EC 11221(a): 20 % of 12,345 registered voters → 2,469.
    """
    if isinstance(base, bool) or not isinstance(base, int) or base < 0:
        raise UserError(f"the base count must be a whole number 0 or more, got {base!r}", where=f"rule set {ruleset.id}")
    if not ruleset.requirement:
        raise UserError("this rule set does not compute a requirement; enter the required count for the filing",
                        where=f"rule set {ruleset.id}")
    if basis is None:
        chosen = ruleset.requirement[0]
    else:
        matches = [b for b in ruleset.requirement if b.name == basis]
        if not matches:
            names = ", ".join(b.name for b in ruleset.requirement)
            raise UserError(f"no requirement basis {basis!r}; this rule set has: {names}", where=f"rule set {ruleset.id}")
        chosen = matches[0]
    return chosen.required(base)


# ------------------------------------------------------------- loading


def builtin_rulesets() -> list[str]:
    """Names of the rule sets shipped with the package (``ca-initiative`` …)."""
    folder = resources.files("petitions.law") / "rulesets"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json"))


def load_ruleset(name_or_path: str | Path) -> RuleSet:
    """Load a shipped rule set by name, or any rule set JSON file by path.

    Raises
    ------
    UserError
        Unknown name, unreadable file, bad JSON, or a field out of range —
        the message names the file and the field.
    """
    text_name = str(name_or_path)
    path = Path(text_name)
    if path.suffix == ".json" or path.exists() or "/" in text_name or "\\" in text_name:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise UserError("rule set file not found", where=text_name) from None
        except OSError as exc:
            raise UserError(f"cannot read the rule set file ({exc.strerror})", where=text_name) from None
        return RuleSet.from_json(text, where=text_name)
    resource = resources.files("petitions.law") / "rulesets" / f"{text_name}.json"
    if not resource.is_file():
        raise UserError(f"no rule set named {text_name!r}; shipped rule sets: {', '.join(builtin_rulesets())}",
                        where="--ruleset")
    return RuleSet.from_json(resource.read_text(encoding="utf-8"), where=f"rule set {text_name}")


# ------------------------------------------------------------- helpers


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        # Whole numbers as ints so the canonical JSON (and the hash) is stable.
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _reason_categories(value: Any, where: str) -> tuple[tuple[str, str], ...]:
    from petitions.law.reasons import REASONS

    if not isinstance(value, dict):
        raise UserError("expected an object mapping reason codes to categories", where=where)
    for code, cat in value.items():
        if code not in REASONS:
            raise UserError(f"unknown reason code {code!r}", where=where)
        if not isinstance(cat, str) or not cat.strip():
            raise UserError(f"the category of {code!r} must be a non-empty name", where=where)
    return tuple(sorted((str(k), str(v)) for k, v in value.items()))


def _get(data: dict, key: str, where: str, default: Any = ..., *, required: bool = False) -> Any:
    if key in data:
        return data[key]
    if required or default is ...:
        raise UserError(f"missing field {key!r}", where=where)
    return default


def _check_keys(data: Any, allowed: set[str], where: str) -> dict:
    if not isinstance(data, dict):
        raise UserError("expected an object", where=where)
    unknown = set(data) - allowed
    if unknown:
        # A misspelt field would otherwise silently fall back to a default.
        raise UserError(f"unknown field(s): {', '.join(sorted(unknown))}", where=where)
    return data


def _names(cls) -> set[str]:
    return {f.name for f in fields(cls)}


def _opt_dec(v, where):
    return None if v is None else _dec(v, where)


def _opt_int(v, where, minimum=0):
    return None if v is None else _int(v, where, minimum=minimum)


def _sampling(d: Any, where: str) -> SamplingRules:
    d = _check_keys(d, _names(SamplingRules), where)
    method = _choice(_get(d, "method", where, "random_sample"), SAMPLING_METHODS, f"{where}.method")
    tiers = []
    for i, t in enumerate(_get(d, "tiers", where, [])):
        w = f"{where}.tiers[{i}]"
        t = _check_keys(t, _names(SampleTier), w)
        tier = SampleTier(
            from_lines=_int(_get(t, "from_lines", w, required=True), f"{w}.from_lines"),
            to_lines=_opt_int(t.get("to_lines"), f"{w}.to_lines"),
            lines=_opt_int(t.get("lines"), f"{w}.lines", 1),
            percent=_opt_dec(t.get("percent"), f"{w}.percent"),
            minimum=_int(t.get("minimum", 0), f"{w}.minimum"),
        )
        if (tier.lines is None) == (tier.percent is None):
            raise UserError("give either lines or percent", where=w)
        tiers.append(tier)
    percent = _opt_dec(d.get("percent"), f"{where}.percent")
    if percent is not None and not (0 < percent <= 100):
        raise UserError(f"must be more than 0 and at most 100, got {percent}", where=f"{where}.percent")
    if method == "random_sample" and percent is None and not tiers:
        raise UserError("a random sample needs a percent or tiers", where=where)
    if method == "sample_if_large" and not tiers:
        raise UserError("sample_if_large needs tiers", where=where)
    return SamplingRules(method=method, percent=percent, minimum=_int(d.get("minimum", 0), f"{where}.minimum"),
                         tiers=tuple(tiers), early_stop=bool(d.get("early_stop", True)))


def _bands(d: Any, where: str) -> OutcomeBands:
    d = _check_keys(d, _names(OutcomeBands), where)
    b = OutcomeBands(
        qualify_above_pct=_dec(d.get("qualify_above_pct", 110), f"{where}.qualify_above_pct"),
        full_count_from_pct=_dec(d.get("full_count_from_pct", 95), f"{where}.full_count_from_pct"),
    )
    if not (0 < b.full_count_from_pct <= b.qualify_above_pct):
        raise UserError("need 0 < full_count_from_pct ≤ qualify_above_pct", where=where)
    return b


def _requirement(items: Any, where: str) -> tuple[RequirementBasis, ...]:
    if not isinstance(items, list):
        raise UserError("expected a list", where=where)
    out = []
    for i, r in enumerate(items):
        w = f"{where}[{i}]"
        r = _check_keys(r, _names(RequirementBasis), w)
        measure = _choice(_get(r, "measure", w, required=True), ("registered_voters", "votes_cast", "fixed"), f"{w}.measure")
        tiers = []
        for j, t in enumerate(r.get("tiers", [])):
            tw = f"{w}.tiers[{j}]"
            t = _check_keys(t, _names(RequirementTier), tw)
            tiers.append(RequirementTier(
                from_count=_int(_get(t, "from_count", tw, required=True), f"{tw}.from_count"),
                to_count=_opt_int(t.get("to_count"), f"{tw}.to_count"),
                percent=_dec(_get(t, "percent", tw, required=True), f"{tw}.percent"),
            ))
        basis = RequirementBasis(name=str(_get(r, "name", w, required=True)), measure=measure,
                                 percent=_opt_dec(r.get("percent"), f"{w}.percent"), tiers=tuple(tiers),
                                 citation=str(r.get("citation", "")))
        if measure != "fixed" and basis.percent is None and not tiers:
            raise UserError("give a percent or tiers", where=w)
        out.append(basis)
    return tuple(out)


def _ruleset_from_dict(data: Any, where: str) -> RuleSet:
    data = _check_keys(data, _names(RuleSet) | {"schema"}, where)
    schema = data.get("schema", SCHEMA)
    if schema != SCHEMA:
        raise UserError(f"unsupported rule set schema {schema!r} (this version reads {SCHEMA})", where=where)
    lenient = _check_keys(data.get("address_leniency", {}), _names(AddressLeniency), f"{where}.address_leniency")
    qa = _check_keys(data.get("qa", {}), _names(QaRates), f"{where}.qa")
    tr = _check_keys(data.get("triage", {}), _names(TriageRules), f"{where}.triage")
    levels = tuple(tr.get("auto_invalid_levels", TriageRules.auto_invalid_levels))
    for lv in levels:
        _choice(lv, AUTO_INVALID_LEVELS, f"{where}.triage.auto_invalid_levels")

    def rate(v, w):
        r = _dec(v, w)
        if not (0 <= r <= 1):
            raise UserError(f"a rate is between 0 and 1, got {r}", where=w)
        return r

    def score(v, w):
        if v is None:
            return None
        s = float(_dec(v, w))
        if not (0.0 <= s <= 1.0):
            raise UserError(f"a score threshold is between 0 and 1, got {s}", where=w)
        return s

    rs = RuleSet(
        id=str(_get(data, "id", where, required=True)),
        version=str(_get(data, "version", where, required=True)),
        name=str(_get(data, "name", where, required=True)),
        kind=_choice(_get(data, "kind", where, required=True), KINDS, f"{where}.kind"),
        jurisdiction=str(_get(data, "jurisdiction", where, required=True)),
        level=_choice(data.get("level", "local"), ("state", "local"), f"{where}.level"),
        sampling=_sampling(data.get("sampling", {"method": "full_count"}), f"{where}.sampling"),
        bands=_bands(data.get("bands", {}), f"{where}.bands"),
        requirement=_requirement(data.get("requirement", []), f"{where}.requirement"),
        duplicate_policy=_choice(data.get("duplicate_policy", "one_counts"), DUPLICATE_POLICIES, f"{where}.duplicate_policy"),
        registration_test=_choice(data.get("registration_test", "before_signing"), REGISTRATION_TESTS,
                                  f"{where}.registration_test"),
        inactive_voters_count=bool(data.get("inactive_voters_count", True)),
        max_circulation_days=_opt_int(data.get("max_circulation_days"), f"{where}.max_circulation_days", 1),
        address_leniency=AddressLeniency(**{k: bool(v) for k, v in lenient.items()}),
        rejections_required=_int(data.get("rejections_required", 1), f"{where}.rejections_required", minimum=1),
        qa=QaRates(
            auto_accept_rate=rate(qa.get("auto_accept_rate", Decimal("0.02")), f"{where}.qa.auto_accept_rate"),
            per_reviewer_rate=rate(qa.get("per_reviewer_rate", Decimal("0.05")), f"{where}.qa.per_reviewer_rate"),
            minimum_per_reviewer=_int(qa.get("minimum_per_reviewer", 10), f"{where}.qa.minimum_per_reviewer"),
            reason_categories=_reason_categories(qa.get("reason_categories", {}), f"{where}.qa.reason_categories"),
        ),
        triage=TriageRules(
            min_match_status=_choice(tr.get("min_match_status", "match"), MATCH_STATUSES, f"{where}.triage.min_match_status"),
            min_match_score=score(tr.get("min_match_score"), f"{where}.triage.min_match_score"),
            min_signature_score=score(tr.get("min_signature_score"), f"{where}.triage.min_signature_score"),
            auto_invalid_levels=levels,
            match_operating_point=_choice(tr.get("match_operating_point", "strict"), MATCH_OPERATING_POINTS,
                                          f"{where}.triage.match_operating_point"),
        ),
        partisan=bool(data.get("partisan", False)),
        cross_filing=_cross_filing(data.get("cross_filing", {}), f"{where}.cross_filing"),
        citations=tuple(str(c) for c in data.get("citations", [])),
        notes=str(data.get("notes", "")),
    )
    if rs.rejections_required > 3:
        raise UserError("at most 3 people may be required to reject a signature", where=f"{where}.rejections_required")
    return rs
