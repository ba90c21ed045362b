"""Slow pure-Python twins of the vectorized kernels, for tests only.

Each function here states, one record at a time, what the polars / rapidfuzz
batch code in :mod:`matchers.normalize` and :mod:`matchers.match` computes;
the tests assert both agree. Never call these in a hot path.
"""
from __future__ import annotations

import re
import unicodedata

from rapidfuzz.distance import OSA, JaroWinkler

from matchers.model import Thresholds

# The default thresholds, read only: one instance, not a call in each signature.
_THRESHOLDS = Thresholds()

_CODES = {**{c: "1" for c in "BFPV"}, **{c: "2" for c in "CGJKQSXZ"}, **{c: "3" for c in "DT"},
          "L": "4", "M": "5", "N": "5", "R": "6", **{c: "0" for c in "AEIOUY"}, "H": "", "W": ""}


def name_key_py(text: str | None) -> str | None:
    if text is None:
        return None
    t = unicodedata.normalize("NFKD", text)
    t = "".join(ch for ch in t if not unicodedata.combining(ch)).upper()
    t = re.sub(r"[^A-Z]", "", t)
    return t or None


def soundex_py(key: str | None) -> str | None:
    """Classic American Soundex of a key of letters A-Z."""
    if not key:
        return None
    out = key[0]
    last = _CODES[key[0]]
    for ch in key[1:]:
        code = _CODES[ch]
        if code == "":  # H, W: transparent
            continue
        if code != last and code != "0":
            out += code
        last = code
    return (out + "000")[:4]


def first_level_py(lf: str | None, vf: str | None, vm: str | None, nick_pairs: set[tuple[str, str]],
                   line_first_count: int, t: Thresholds = _THRESHOLDS) -> str:
    if lf is None or vf is None:
        return "missing"
    if lf == vf:
        return "exact"
    if (lf, vf) in nick_pairs:
        return "nickname"
    if (len(lf) == 1 and vf.startswith(lf)) or (len(vf) == 1 and lf.startswith(vf)):
        return "initial"
    jw = JaroWinkler.normalized_similarity(lf, vf)
    # ``line_first_count``: voters with this first name (names of the
    # nickname table count as known)
    if jw >= t.first_typo and line_first_count < t.known_name_min_count:
        return "typo"
    if vm is not None and lf == vm and len(lf) > 1:
        return "middle_as_first"
    if jw >= t.first_typo:
        return "similar"
    return "different"


def last_level_py(ll: str | None, tail: str | None, vl: str | None, t: Thresholds = _THRESHOLDS) -> str:
    if ll is None or vl is None:
        return "missing"
    if ll == vl or tail == vl:
        return "exact"
    if (len(ll) >= 3 and (vl.startswith(ll) or vl.endswith(ll))) or (
            len(vl) >= 3 and (ll.startswith(vl) or ll.endswith(vl) or (tail or "").startswith(vl))):
        return "part"
    jw = max(JaroWinkler.normalized_similarity(ll, vl), JaroWinkler.normalized_similarity(tail or "", vl) if tail else 0.0)
    if jw >= t.last_typo:
        return "typo"
    if jw >= t.last_similar:
        return "similar"
    return "different"


def address_level_py(line: dict, voter: dict, t: Thresholds = _THRESHOLDS) -> str:
    """``line``: house, street_key, unit, fraction, zip, city; ``voter``: the same keys."""
    if line["house"] is None or line["street_key"] is None:
        return "missing"
    jw = JaroWinkler.normalized_similarity(line["street_key"], voter["street_key"] or "") if voter["street_key"] else 0.0
    house_eq = line["house"] == voter["house"]
    if line["zip"] is not None and voter["zip"] is not None:
        loc_ok = line["zip"] == voter["zip"]
    elif line["zip"] is None:
        loc_ok = line["city"] is None or voter["city"] is None or line["city"] == voter["city"]
    else:
        loc_ok = False
    unit_ok = line["unit"] == voter["unit"]
    frac_ok = line["fraction"] == voter["fraction"]
    same, sim = jw >= t.street_same, jw >= t.street_similar
    if house_eq and same and unit_ok and frac_ok and loc_ok:
        return "exact"
    if house_eq and same and loc_ok:
        return "unit_differs"
    if house_eq and sim and loc_ok:
        return "street_similar"
    if voter["house"] is not None and OSA.distance(line["house"], voter["house"]) == 1 and same and loc_ok:
        return "number_typo"
    if house_eq and sim:
        return "locality_differs"
    if same and loc_ok:
        return "same_street"
    return "different"
