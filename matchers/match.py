"""Match petition lines to the voter file: blocking, comparison, decision.

Pipeline (all vectorized, data frames in and out):

1. :func:`prepare_lines` parses what each signer wrote (name, address,
   city, zip) into the same keys :func:`matchers.prepare_voters` builds.
2. :func:`candidate_pairs` joins lines to voters on several blocking keys
   (zip + house number; house number + street prefix; zip + Soundex surname
   + street prefix; nickname-canonical first + surname, county-wide; Soundex
   surname + first name, county-wide) and keeps the union.
3. :func:`compare_pairs` puts every (line, voter) pair through the named
   levels of :mod:`matchers.model`, scoring name and address of the **same**
   candidate with batched rapidfuzz calls on the distinct string pairs.
4. :func:`score_pairs` turns levels and term frequencies into a calibrated
   probability; :func:`decide` ranks candidates per line and applies the
   rules: auto-accept only a clear, name-equivalent, address-tolerated,
   unflagged identity; everything uncertain goes to review with a reason.
"""
from __future__ import annotations

import weakref
from collections.abc import Collection

import numpy as np
import polars as pl
from rapidfuzz import process
from rapidfuzz.distance import OSA, JaroWinkler

from matchers import normalize as N
from matchers import tables
from matchers.errors import LinesInputError
from matchers.model import (
    ACCEPT_FEATURES,
    ADDRESS_ACCEPT,
    ADDRESS_ELSEWHERE,
    FIRST_ACCEPT,
    LAST_ACCEPT,
    MatchModel,
    Thresholds,
    feature_names,
    load_default_model,
)
from matchers.voterfile import first_canon

#: Variants of a signer's written name and address that may be forgiven
#: (the rule set's ``address_leniency``; 2 CCR §20931). :func:`match_lines`
#: tolerates all of them unless told otherwise; a variant that is not
#: tolerated keeps the line from an automatic match (a person looks), and a
#: voter found only at another address is then no match at all.
ADDRESS_LENIENCY = (
    "unit_blank_or_different",         # "12 Main St" for "12 Main St Apt 4"
    "street_name_abbreviated_or_old",  # street name keyed differently ("Wilshr" for "Wilshire")
    "fraction_missing_or_different",   # "12 Main" for "12 1/2 Main"
    "po_box_with_matching_street",     # a PO box written beside the registered street address
    "moved_during_circulation",        # the name registered at another address
    "no_city_with_street_and_zip",     # street and zip written, city left out
    "city_abbreviated_or_neighbourhood",  # "LA", "Hollywood", or another city name at the right zip
    "initials_for_given_names",        # "J. Smith" for "John Smith"
)

LINE_COLUMNS = ("line_id", "name", "address", "city", "zip")
#: Longest field a line may have; longer values cannot be a name or address.
MAX_LINE_FIELD = 300
#: County-wide name blocks larger than this are skipped (too common to tell
#: people apart without an address).
MAX_NAME_BLOCK = 100
#: County-wide name-only blocks (moved voters) larger than this are skipped:
#: beyond a few dozen namesakes, a name alone cannot single out the voter.
MAX_COUNTY_NAME_BLOCK = 30
#: Second pass (lines with no name-equivalent candidate at a tolerated
#: address: moved voters, household members, keying slips): county-wide
#: name blocks up to this size are scored. Beyond it the namesakes are only
#: counted (the line still goes to review as ``address_mismatch``).
MAX_WIDE_NAME_BLOCK = 250
#: Candidates kept per line in the output.
TOP_K = 5

STATUS_MATCH, STATUS_REVIEW, STATUS_NONE = "match", "review", "no_match"


def _nonempty(e: pl.Expr) -> pl.Expr:
    return pl.when(e.str.len_chars() > 0).then(e).otherwise(None)


def _part_key(e: pl.Expr) -> pl.Expr:
    # N.name_key of a part N.parse_name returns: the parts are already
    # clean_text output (A-Z, digits, blanks, hyphens), so the key is only
    # the letters (the same keys at a fifth of the cost)
    k = e.str.replace_all(r"[^A-Z]", "")
    return pl.when(k.str.len_chars() > 0).then(k).otherwise(None)


def prepare_lines(lines: pl.DataFrame, *, signing_date_col: str | None = "date_signed") -> pl.DataFrame:
    """Parse keyed petition lines into match keys.

    Parameters
    ----------
    lines : pl.DataFrame, shape (n_lines, ...)
        ``line_id``, ``name``, ``address`` and optionally ``city``, ``zip``
        and a signing date (``pl.Date``, or ISO text).

    Returns
    -------
    pl.DataFrame, shape (n_lines, ...)
        ``_li`` (u32 row position), ``line_id`` and the ``l_*`` keys.

    Raises
    ------
    LinesInputError
        When ``line_id``, ``name`` or ``address`` is missing (user error).
    """
    missing = [c for c in ("line_id", "name", "address") if c not in lines.columns]
    if missing:
        raise LinesInputError("missing column(s) " + ", ".join(missing)
                              + f"; expected {', '.join(LINE_COLUMNS)}; found {', '.join(lines.columns)}")
    df = lines.select(
        pl.col("line_id"),
        *[(pl.col(c).cast(pl.String) if c in lines.columns else pl.lit(None, dtype=pl.String)).alias(c)
          for c in ("name", "address", "city", "zip")],
        (pl.col(signing_date_col) if signing_date_col and signing_date_col in lines.columns
         else pl.lit(None, dtype=pl.Date)).alias("date_signed"),
    )
    if df.schema["date_signed"] == pl.String:
        df = df.with_columns(pl.col("date_signed").str.strptime(pl.Date, "%Y-%m-%d", strict=False))
    df = df.with_row_index("_li")
    too_long = pl.any_horizontal([pl.col(c).str.len_chars().fill_null(0) > MAX_LINE_FIELD
                                  for c in ("name", "address", "city", "zip")])
    df = df.with_columns(too_long.alias("l_too_long"))
    cut = {c: pl.when(pl.col("l_too_long")).then(None).otherwise(pl.col(c)) for c in ("name", "address", "city", "zip")}
    df = df.with_columns(cut["name"].alias("_name"), cut["address"].alias("_addr"),
                         N.normalize_city(cut["city"]).alias("l_city"), N.normalize_zip(cut["zip"]).alias("l_zip"),
                         N.clean_city(cut["city"]).alias("l_city_written"))
    lf = N.parse_name(df.lazy(), "_name", prefix="_n_")
    lf = N.parse_address(lf, "_addr", prefix="_a_").drop("_addr", "_name")
    middle = pl.col("_n_middle")
    last = pl.col("_n_last")
    df = lf.with_columns(
        _part_key(pl.col("_n_first")).alias("l_first"),
        _part_key(middle.str.split(" ").list.first()).alias("l_middle"),
        _part_key(last).alias("l_last"),
        _part_key(pl.concat_str([middle.fill_null(""), last], separator=" ")).alias("l_tail"),
        pl.concat_list([N.surname_parts(last), N.surname_parts(middle).fill_null([])]).alias("l_last_parts"),
        pl.col("_n_suffix").alias("l_suffix"),
        pl.col("_a_house").alias("l_house"),
        pl.col("_a_fraction").alias("l_fraction"),
        _nonempty(pl.col("_a_street").str.replace_all(" ", "")).alias("l_street_key"),
        pl.col("_a_unit").alias("l_unit"),
        pl.col("_a_po_box").alias("l_po_box"),
    ).drop(*[f"_n_{f}" for f in N.NAME_FIELDS], *[f"_a_{f}" for f in N.ADDRESS_FIELDS]).collect()
    df = df.with_columns(
        N.soundex(pl.col("l_last")).alias("l_sdx"),
        pl.col("l_first").str.slice(0, 1).alias("l_finit"),
        pl.col("l_street_key").str.slice(0, 3).alias("l_spfx"),
        first_canon(pl.col("l_first")).alias("l_first_canon"),
    )
    return df


#: Per-voter-frame work that does not depend on the lines (hashed block
#: keys, a contiguous copy of the compared columns, name counts), kept while
#: the frame lives: a second match against the same prepared voters (the
#: next batch of a filing) skips it. Frames are treated as immutable; one
#: changed in place (rows or columns added) gets a fresh entry.
_VOTER_CACHE: dict[int, tuple[weakref.ref, tuple, dict]] = {}


def _voter_cache(voters: pl.DataFrame) -> dict:
    key = id(voters)
    shape = (voters.height, tuple(voters.columns))
    hit = _VOTER_CACHE.get(key)
    if hit is not None and hit[0]() is voters and hit[1] == shape:
        return hit[2]
    store: dict = {}

    def forget(_ref: weakref.ref, k: int = key) -> None:
        _VOTER_CACHE.pop(k, None)

    _VOTER_CACHE[key] = (weakref.ref(voters, forget), shape, store)
    return store


def _hkey(*cols: pl.Expr) -> pl.Expr:
    """One u64 per row standing for the tuple of `cols` (null if any is
    null): block joins on one integer instead of several strings. Hash
    seeds differ by position, so ("A", "B") and ("B", "A") differ."""
    h = cols[0].hash(101)
    for i, c in enumerate(cols[1:]):
        h = h ^ c.hash(211 + 97 * i)
    return pl.when(pl.any_horizontal([c.is_null() for c in cols])).then(None).otherwise(h)


def _canon_expr(voters: pl.DataFrame) -> pl.Expr:
    return pl.col("k_canon") if "k_canon" in voters.columns else pl.col("k_first_canon").list.first()


def _voter_keys(voters: pl.DataFrame) -> pl.DataFrame:
    """Block keys and name hashes of every voter (cached per voter frame)."""
    need = ("k_first", "k_last", "k_last_sdx", "a_house", "a_street_key", "k_zip", "tf_first")
    missing = [c for c in need if c not in voters.columns]
    if missing:
        raise LinesInputError("the voter frame is not prepared (missing " + ", ".join(missing)
                              + "); pass it through matchers.prepare_voters first")
    cache = _voter_cache(voters)
    if "keys" not in cache:
        spfx = pl.col("a_street_key").str.slice(0, 3)
        cache["keys"] = voters.select(
            pl.int_range(pl.len(), dtype=pl.UInt32).alias("_vi"),
            _hkey(pl.col("k_zip"), pl.col("a_house")).alias("zip_house"),
            _hkey(pl.col("a_house"), spfx).alias("house_spfx"),
            _hkey(pl.col("k_zip"), spfx, pl.col("k_last_sdx")).alias("zip_spfx_sdx"),
            _hkey(pl.col("k_last_sdx"), pl.col("k_first")).alias("sdx_first"),
            _hkey(_canon_expr(voters), pl.col("k_last")).alias("canon_last"),
            _hkey(pl.col("k_last"), pl.col("k_first").str.slice(0, 1)).alias("last_finit"),
            *_name_hashes("k_first", "k_last", "k_last_sdx", "v"),
            # surname parts are already letters only, like the keys
            pl.col("k_last_parts").list.first().hash(4).alias("_vp1"),
            pl.col("k_last_parts").list.last().hash(4).alias("_vp2"),
        ).rechunk()
    return cache["keys"]


def _line_keys(L: pl.DataFrame) -> pl.DataFrame:
    """The lines' side of :func:`_voter_keys` (same hashes, same names)."""
    return L.select(
        "_li",
        _hkey(pl.col("l_zip"), pl.col("l_house")).alias("zip_house"),
        _hkey(pl.col("l_house"), pl.col("l_spfx")).alias("house_spfx"),
        _hkey(pl.col("l_zip"), pl.col("l_spfx"), pl.col("l_sdx")).alias("zip_spfx_sdx"),
        _hkey(pl.col("l_sdx"), pl.col("l_first")).alias("sdx_first"),
        _hkey(pl.col("l_last"), pl.col("l_finit")).alias("last_finit"),
        *_name_hashes("l_first", "l_last", "l_sdx", "l"),
        pl.col("l_middle").hash(4).alias("_lh5"),
    )


def _name_hashes(first: str, last: str, sdx: str, side: str) -> list[pl.Expr]:
    # integer stand-ins for the cheap "do the names share anything" test
    return [pl.col(first).hash(1).alias(f"_{side}h1"), pl.col(sdx).hash(2).alias(f"_{side}h2"),
            pl.col(last).str.slice(0, 3).hash(3).alias(f"_{side}h3"), pl.col(last).hash(4).alias(f"_{side}h4"),
            pl.col(first).str.slice(0, 3).hash(6).alias(f"_{side}h6")]


def _key_join(left: pl.DataFrame, right: pl.DataFrame, key: str, cap: int | None) -> pl.DataFrame:
    """Pairs (``_li``, ``_vi``) of equal `key`; voter blocks over `cap` dropped."""
    left = left.select("_li", key).drop_nulls()
    right = right.select("_vi", key).drop_nulls()
    # keep only voters whose key occurs among the lines before any counting
    right = right.join(left.select(key).unique(), on=key, how="semi")
    if cap is not None:
        right = right.filter(pl.len().over(key) <= cap)
    return left.join(right, on=key, how="inner").select("_li", "_vi")


#: Name-filter conditions of the address blocks, (line hash, voter hash):
#: same first name, same surname sound, same surname start, the line's
#: surname is one part of the voter's double surname (either part), the
#: line's middle word is the voter's surname ("Maria Garcia Lopez" for
#: GARCIA), same first-name start.
_ANY_NAME = (("_lh1", "_vh1"), ("_lh2", "_vh2"), ("_lh3", "_vh3"), ("_lh4", "_vp1"), ("_lh4", "_vp2"),
             ("_lh5", "_vh4"), ("_lh6", "_vh6"))


def _any_name_block(LK: pl.DataFrame, VK: pl.DataFrame, key: str) -> pl.DataFrame:
    """Pairs sharing the block `key` whose names share something
    (:data:`_ANY_NAME`). Pairs may repeat (the caller takes the union).

    An address block brings every resident of a building: it joins on the
    block key and one name hash at a time (XOR of two u64 hashes), so the
    building's other residents are never materialised."""
    left = LK.select("_li", key, *{c for c, _ in _ANY_NAME}).drop_nulls(key)
    right = VK.select("_vi", key, *{c for _, c in _ANY_NAME}).drop_nulls(key)
    right = right.join(left.select(key).unique(), on=key, how="semi")
    parts = [left.select("_li", (pl.col(key) ^ pl.col(lc)).alias("_k")).join(
             right.select("_vi", (pl.col(key) ^ pl.col(vc)).alias("_k")), on="_k").select("_li", "_vi")
             for lc, vc in _ANY_NAME]
    return pl.concat(parts)


def _canon_keys(L: pl.DataFrame) -> pl.DataFrame:
    """(``_li``, ``canon_last``): one row per nickname-canonical first name of each line."""
    Lc = L.select("_li", "l_last", pl.col("l_first_canon").alias("canon")).explode("canon").drop_nulls()
    return Lc.select("_li", _hkey(pl.col("canon"), pl.col("l_last")).alias("canon_last"))


def wide_name_pairs(L: pl.DataFrame, voters: pl.DataFrame, cap: int = MAX_WIDE_NAME_BLOCK) -> pl.DataFrame:
    """County-wide name blocks for the lines of `L` (a subset of the
    prepared lines): nickname-canonical first name + exact surname, and
    exact surname + first initial (a mistyped or abbreviated first name),
    each up to `cap` voters, and Soundex surname + exact first name (a
    mistyped surname). Finds moved voters by name alone.

    Returns
    -------
    pl.DataFrame
        Distinct ``_li``, ``_vi`` (u32).
    """
    if L.height == 0:
        return pl.DataFrame(schema={"_li": pl.UInt32, "_vi": pl.UInt32})
    VK = _voter_keys(voters)
    LK = _line_keys(L)
    by_name = _key_join(_canon_keys(L), VK, "canon_last", cap)
    by_initial = _key_join(LK, VK, "last_finit", min(cap, MAX_COUNTY_NAME_BLOCK))
    # a mistyped surname that keeps its sound ("Martinz"), first name exact
    by_sound = _key_join(LK, VK, "sdx_first", cap)
    return pl.concat([by_name, by_initial, by_sound]).unique().sort("_li", "_vi")


def scored_pairs(L: pl.DataFrame, voters: pl.DataFrame, model: MatchModel) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Blocking, comparison and pair scores in two passes.

    Pass 1 is :func:`candidates`. Lines left without a name-equivalent
    candidate at a tolerated address (which depends on the levels only, not
    on the weights) get pass 2, :func:`wide_name_pairs`, so a moved voter
    with a name shared by dozens of voters is still scored by name.

    Returns
    -------
    P : pl.DataFrame
        Compared and scored pairs (:func:`compare_pairs`, :func:`score_pairs`).
    namesakes : pl.DataFrame
        As from :func:`candidates`, raised by :func:`wide_namesakes` for
        the lines of pass 2.
    """
    pairs, namesakes = candidates(L, voters)
    P = compare_pairs(pairs, L, voters, model)
    resolved = P.filter(pl.col("first_level").is_in(list(FIRST_ACCEPT)) & pl.col("last_level").is_in(list(LAST_ACCEPT))
                        & pl.col("address_level").is_in(list(ADDRESS_ACCEPT))).select("_li").unique()
    U = L.join(resolved, on="_li", how="anti").filter(pl.col("l_last").is_not_null() & ~pl.col("l_too_long"))
    extra = wide_name_pairs(U, voters).join(pairs, on=["_li", "_vi"], how="anti")
    if extra.height:
        P = pl.concat([P, compare_pairs(extra, L, voters, model)], how="vertical_relaxed")
    wide = wide_namesakes(U, voters, model.thresholds)
    if wide.height:
        namesakes = (pl.concat([namesakes, wide]).group_by("_li").agg(pl.col("namesakes").max())
                     .sort("_li"))
    return score_pairs(P, model), namesakes


def wide_namesakes(U: pl.DataFrame, voters: pl.DataFrame, thresholds: Thresholds) -> pl.DataFrame:
    """Count, county-wide, the voters whose name the line's could be within
    keying tolerance, for lines with no name-equivalent candidate at a
    tolerated address (`U`, a subset of the prepared lines).

    A voter counts when the surname is exact and the first names share the
    initial and are equal, one is an initial ("A. Garcia"), or the line's is
    a keying typo of the voter's (Jaro-Winkler >= ``thresholds.first_typo``
    and not itself a known given name: "Rchard"); or when the first name is
    exact and the surname a typo that keeps its sound ("Maritnez"). No cap:
    these are only counted, so a moved voter with a common name or a slip in
    it still goes to a person as ``address_mismatch`` rather than
    ``not_found``.

    Returns
    -------
    pl.DataFrame
        ``_li``, ``namesakes`` (u32, > 0).
    """
    empty = pl.DataFrame(schema={"_li": pl.UInt32, "namesakes": pl.UInt32})
    Ui = U.select("_li", "l_last", "l_first", "l_sdx").drop_nulls(["l_last", "l_first"])
    if Ui.height == 0:
        return empty
    Ui = Ui.with_columns(pl.col("l_first").str.slice(0, 1).alias("fi"))
    LK = Ui.select(_hkey(pl.col("l_last")).alias("last"), _hkey(pl.col("l_sdx"), pl.col("l_first")).alias("sdx_first"))
    cache = _voter_cache(voters)
    if "name_counts" not in cache:
        # distinct (surname, first name, surname sound) with their counts
        cache["name_counts"] = (voters.select("k_last", "k_first", "k_last_sdx").drop_nulls(["k_last", "k_first"])
                                .group_by("k_last", "k_first", "k_last_sdx").len("n")
                                .with_columns(_hkey(pl.col("k_last")).alias("last"),
                                              _hkey(pl.col("k_last_sdx"), pl.col("k_first")).alias("sdx_first"))
                                .rechunk())
    NC = cache["name_counts"]

    def rows(key: str) -> pl.DataFrame:  # (surname, first name) counts sharing `key` with a line
        return NC.join(LK.select(key).drop_nulls().unique(), on=key, how="semi")

    # distinct (surname, first name) of the lines' surnames, with counts
    # (NC holds one row per surname and first name: the sound is the surname's)
    D = rows("last").select("k_last", "k_first", "n", pl.col("k_first").str.slice(0, 1).alias("fi"))
    J = Ui.join(D, left_on=["l_last", "fi"], right_on=["k_last", "fi"])
    # a near miss counts only when the line's first name is not itself a
    # known given name (as for the "typo" level): "Mario" is not "Maria"
    if "first_counts" not in cache:
        cache["first_counts"] = voters.select("k_first", "tf_first").drop_nulls().unique("k_first")
    known = cache["first_counts"].rename({"k_first": "l_first", "tf_first": "l_first_count"})
    J = J.join(known, on="l_first", how="left")
    unknown = ((pl.col("l_first_count").fill_null(0) < thresholds.known_name_min_count)
               & ~pl.col("l_first").is_in(tables.nicknames()["name"].implode()))
    jw = _string_scores(J["l_first"], J["k_first"], JaroWinkler.normalized_similarity)
    J = J.with_columns(pl.Series("jw", jw)).filter(
        (pl.col("l_first").str.len_chars() == 1) | (pl.col("k_first").str.len_chars() == 1)
        | (pl.col("l_first") == pl.col("k_first")) | ((pl.col("jw") >= thresholds.first_typo) & unknown))
    by_first = J.group_by("_li").agg(pl.col("n").sum().alias("namesakes"))
    # exact first name, surname a typo of the same sound
    Us = Ui.drop_nulls("l_sdx")
    S = rows("sdx_first").select("k_last_sdx", "k_first", "k_last", "n")
    S = Us.join(S, left_on=["l_sdx", "l_first"], right_on=["k_last_sdx", "k_first"])
    jl = _string_scores(S["l_last"], S["k_last"], JaroWinkler.normalized_similarity)
    by_last = (S.with_columns(pl.Series("jw", jl)).filter(pl.col("jw") >= thresholds.last_typo)
               .group_by("_li").agg(pl.col("n").sum().alias("namesakes")))
    out = pl.concat([by_first, by_last]).group_by("_li").agg(pl.col("namesakes").max().cast(pl.UInt32))
    return out.filter(pl.col("namesakes") > 0).sort("_li") if out.height else empty


def candidate_pairs(L: pl.DataFrame, voters: pl.DataFrame) -> pl.DataFrame:
    """Union of the blocking joins (see :func:`candidates`), pairs only."""
    return candidates(L, voters)[0]


def candidates(L: pl.DataFrame, voters: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Union of the blocking joins.

    Parameters
    ----------
    L : pl.DataFrame
        Output of :func:`prepare_lines`.
    voters : pl.DataFrame
        Output of :func:`matchers.prepare_voters`.

    Returns
    -------
    pairs : pl.DataFrame, shape (n_pairs, 2)
        Distinct ``_li`` (line position) and ``_vi`` (voter position), u32,
        sorted.
    namesakes : pl.DataFrame
        ``_li``, ``namesakes`` (u32): voters county-wide whose nickname-
        canonical first name and surname equal the line's, counted even when
        there are too many to score (a moved voter with a common name still
        goes to review as ``address_mismatch``).
    """
    VK = _voter_keys(voters)
    LK = _line_keys(L)
    blocks = [
        _any_name_block(LK, VK, "zip_house"),
        _any_name_block(LK, VK, "house_spfx"),
        # a mistyped house number: same street in the same zip, surname alike
        _key_join(LK, VK, "zip_spfx_sdx", MAX_NAME_BLOCK),
        _key_join(LK, VK, "sdx_first", MAX_COUNTY_NAME_BLOCK),
    ]
    # nickname-canonical first name + exact surname, county-wide (moved voters)
    Lc = _canon_keys(L)
    Vc = VK.select("_vi", "canon_last").join(Lc.select("canon_last").unique(), on="canon_last", how="semi")
    Vc = Vc.with_columns(pl.len().over("canon_last").alias("_n"))
    sizes = Vc.select("canon_last", "_n").unique("canon_last")
    namesakes = (Lc.join(sizes, on="canon_last")
                 .group_by("_li").agg(pl.col("_n").max().cast(pl.UInt32).alias("namesakes")))
    Vc = Vc.filter(pl.col("_n") <= MAX_COUNTY_NAME_BLOCK)
    blocks.append(Lc.join(Vc, on="canon_last").select("_li", "_vi"))
    keys = pl.concat(blocks).select((pl.col("_li").cast(pl.UInt64) * (1 << 32) + pl.col("_vi")).alias("k"))
    key = keys.unique().sort("k")["k"]
    pairs = pl.DataFrame({"_li": (key // (1 << 32)).cast(pl.UInt32), "_vi": (key % (1 << 32)).cast(pl.UInt32)})
    return pairs, namesakes


def _string_scores(a: pl.Series, b: pl.Series, scorer) -> np.ndarray:
    """Score string pairs row by row, computing each distinct pair once.

    Distinct pairs are found on a u64 hash of the pair (numpy unique), not
    on the strings.

    Returns
    -------
    (n,) float64 array; null on either side scores 0.
    """
    a = a.fill_null("")
    b = b.fill_null("")
    if a.len() == 0:
        return np.zeros(0, dtype=np.float64)
    key = (a.hash(101) ^ b.hash(211)).to_numpy()
    _, first, inv = np.unique(key, return_index=True, return_inverse=True)
    s = process.cpdist(a.gather(first).to_list(), b.gather(first).to_list(), scorer=scorer, workers=-1)
    out = np.asarray(s, dtype=np.float64)[inv.ravel()]
    empty = ((a == "") | (b == "")).to_numpy()
    return np.where(empty, 0.0, out)


_LINE_COMPARE_COLS = ("l_first", "l_middle", "l_last", "l_tail", "l_suffix", "l_house", "l_fraction", "l_street_key",
                      "l_unit", "l_zip", "l_city")
_VOTER_COMPARE_COLS = ("voter_id", "k_first", "k_middle", "k_last", "k_suffix", "a_house",
                       "a_fraction", "a_street_key", "a_unit", "k_zip", "k_city", "tf_first", "tf_last",
                       "tf_address", "tf_name", "status", "registration_date", "district")


def compare_pairs(pairs: pl.DataFrame, L: pl.DataFrame, voters: pl.DataFrame, model: MatchModel) -> pl.DataFrame:
    """Comparison levels of each candidate pair.

    Returns
    -------
    pl.DataFrame, shape (n_pairs, ...)
        ``_li``, ``_vi``, ``first_level``, ``last_level``, ``middle_level``,
        ``suffix_level``, ``address_level`` (str, names from
        :data:`matchers.model.COMPARISONS`), the term-frequency features and
        the voter fields the decision needs.
    """
    t = model.thresholds
    li = pairs["_li"]
    vi = pairs["_vi"]
    cache = _voter_cache(voters)
    if "compare" not in cache:
        # one contiguous copy of the columns compared: gathering from a
        # frame read in many row groups is several times slower
        cache["compare"] = voters.select([c for c in _VOTER_COMPARE_COLS if c in voters.columns]).rechunk()
        cache["first_counts"] = voters.select("k_first", "tf_first").drop_nulls().unique("k_first")
    # first-name frequency in the voter file decides whether a near miss is a
    # keying typo (not a known name) or another real name (maybe a relative)
    known = cache["first_counts"].rename({"k_first": "l_first", "tf_first": "l_first_count"})
    Lx = L.select(_LINE_COMPARE_COLS).join(known, on="l_first", how="left", maintain_order="left")
    # names of the nickname table are known given names whatever the file size
    Lx = Lx.with_columns(pl.when(pl.col("l_first").is_in(tables.nicknames()["name"].implode()))
                         .then(pl.lit(1 << 20, dtype=pl.UInt32)).otherwise(pl.col("l_first_count")).alias("l_first_count"))
    P = pl.concat([
        pairs,
        Lx.select(pl.all().gather(li)),
        cache["compare"].select(pl.all().gather(vi)),
    ], how="horizontal")
    nick = tables.nickname_pairs()
    P = P.join(nick, left_on=["l_first", "k_first"], right_on=["a", "b"], how="left", maintain_order="left")
    jw = JaroWinkler.normalized_similarity
    P = P.with_columns(
        pl.Series("jw_first", _string_scores(P["l_first"], P["k_first"], jw)),
        pl.Series("jw_last", np.maximum(_string_scores(P["l_last"], P["k_last"], jw),
                                        _string_scores(P["l_tail"], P["k_last"], jw))),
        pl.Series("jw_street", _string_scores(P["l_street_key"], P["a_street_key"], jw)),
        pl.Series("osa_house", _string_scores(P["l_house"], P["a_house"], OSA.distance)),
    )
    lf, vf = pl.col("l_first"), pl.col("k_first")
    first = (
        pl.when(lf.is_null() | vf.is_null()).then(pl.lit("missing"))
        .when(lf == vf).then(pl.lit("exact"))
        .when(pl.col("nick").fill_null(False)).then(pl.lit("nickname"))
        .when(((lf.str.len_chars() == 1) & vf.str.starts_with(lf)) | ((vf.str.len_chars() == 1) & lf.str.starts_with(vf)))
        .then(pl.lit("initial"))
        .when((pl.col("jw_first") >= t.first_typo) & (pl.col("l_first_count").fill_null(0) < t.known_name_min_count))
        .then(pl.lit("typo"))
        .when((lf == pl.col("k_middle")) & (lf.str.len_chars() > 1)).then(pl.lit("middle_as_first"))
        .when(pl.col("jw_first") >= t.first_typo).then(pl.lit("similar"))
        .otherwise(pl.lit("different"))
    )
    ll, vl = pl.col("l_last"), pl.col("k_last")
    last = (
        pl.when(ll.is_null() | vl.is_null()).then(pl.lit("missing"))
        .when((ll == vl) | (pl.col("l_tail") == vl)).then(pl.lit("exact"))
        # one surname of a double surname ("Garcia" for "Garcia Lopez"), either way round
        .when(((ll.str.len_chars() >= 3) & (vl.str.starts_with(ll) | vl.str.ends_with(ll)))
              | ((vl.str.len_chars() >= 3) & (ll.str.starts_with(vl) | ll.str.ends_with(vl)
                                             | pl.col("l_tail").str.starts_with(vl)))).then(pl.lit("part"))
        .when(pl.col("jw_last") >= t.last_typo).then(pl.lit("typo"))
        .when(pl.col("jw_last") >= t.last_similar).then(pl.lit("similar"))
        .otherwise(pl.lit("different"))
    )
    lm, vm = pl.col("l_middle"), pl.col("k_middle")
    middle = (
        pl.when(lm.is_null() | vm.is_null()).then(pl.lit("missing"))
        .when((lm == vm) & (lm.str.len_chars() > 1)).then(pl.lit("exact"))
        .when(lm.str.slice(0, 1) == vm.str.slice(0, 1)).then(pl.lit("initial"))
        .otherwise(pl.lit("different"))
    )
    ls, vs = pl.col("l_suffix"), pl.col("k_suffix")
    suffix = (
        pl.when(ls.is_null() & vs.is_null()).then(pl.lit("both_missing"))
        .when(ls.is_null()).then(pl.lit("line_missing"))
        .when(vs.is_null()).then(pl.lit("voter_missing"))
        .when(ls == vs).then(pl.lit("agree"))
        .otherwise(pl.lit("conflict"))
    )
    house_eq = pl.col("l_house") == pl.col("a_house")
    street_same = pl.col("jw_street") >= t.street_same
    street_sim = pl.col("jw_street") >= t.street_similar
    loc_ok = (pl.col("l_zip") == pl.col("k_zip")).fill_null(
        pl.col("l_zip").is_null() & (pl.col("l_city").is_null() | (pl.col("l_city") == pl.col("k_city")).fill_null(True)))
    unit_ok = (pl.col("l_unit") == pl.col("a_unit")).fill_null(pl.col("l_unit").is_null() & pl.col("a_unit").is_null())
    frac_ok = (pl.col("l_fraction") == pl.col("a_fraction")).fill_null(
        pl.col("l_fraction").is_null() & pl.col("a_fraction").is_null())
    address = (
        pl.when(pl.col("l_house").is_null() | pl.col("l_street_key").is_null()).then(pl.lit("missing"))
        .when(house_eq & street_same & unit_ok & frac_ok & loc_ok).then(pl.lit("exact"))
        .when(house_eq & street_same & loc_ok).then(pl.lit("unit_differs"))
        .when(house_eq & street_sim & loc_ok).then(pl.lit("street_similar"))
        .when((pl.col("osa_house") == 1) & street_same & loc_ok).then(pl.lit("number_typo"))
        .when(house_eq & street_sim).then(pl.lit("locality_differs"))
        .when(street_same & loc_ok).then(pl.lit("same_street"))
        .otherwise(pl.lit("different"))
    )
    P = P.with_columns(first_level=first, last_level=last, middle_level=middle, suffix_level=suffix,
                       address_level=address)
    n = max(voters.height, 1)
    P = P.with_columns(
        pl.when(pl.col("first_level").is_in(["exact", "nickname"]))
        .then(-((pl.col("tf_first").cast(pl.Float64) + 1) / n).log10()).otherwise(0.0).alias("first_rarity"),
        pl.when(pl.col("last_level").is_in(["exact", "part", "typo"]))
        .then(-((pl.col("tf_last").cast(pl.Float64) + 1) / n).log10()).otherwise(0.0).alias("last_rarity"),
        pl.when(pl.col("address_level").is_in(["exact", "unit_differs", "street_similar"]))
        .then(pl.col("tf_address").cast(pl.Float64).log10()).otherwise(0.0).alias("address_crowd"),
        # how common the voter's first name is among voters of the surname:
        # a namesake housemate (a parent and child of one name, a Jr/Sr pair
        # without suffixes) is likelier where the name is common in the family
        (pl.col("tf_name").cast(pl.Float64) / pl.col("tf_last").cast(pl.Float64).clip(lower_bound=1.0))
        .clip(1e-6, 1.0).log10().fill_null(0.0).alias("name_given_surname"),
    )
    return P


def design_matrix(P: pl.DataFrame) -> np.ndarray:
    """(n_pairs, n_features) float64 model inputs in :func:`feature_names` order."""
    cols = []
    for name in feature_names():
        if ":" in name:
            comp, lv = name.split(":")
            cols.append((pl.col(f"{comp}_level") == lv).cast(pl.Float64).alias(name))
        else:
            cols.append(pl.col(name).cast(pl.Float64).alias(name))
    return P.select(cols).to_numpy()


def score_pairs(P: pl.DataFrame, model: MatchModel) -> pl.DataFrame:
    """Add ``weight`` (log-odds) and ``p`` (pair probability) to compared pairs."""
    z = design_matrix(P) @ model.weight_vector() + model.intercept
    z = np.clip(z, -30, 30)
    return P.with_columns(pl.Series("weight", z), pl.Series("p", 1.0 / (1.0 + np.exp(-z))))


#: Suffix levels that bar an automatic accept (Jr on one side only, or two different).
SUFFIX_BAR = ("conflict", "line_missing")


def _name_ok() -> pl.Expr:
    return pl.col("first_level").is_in(list(FIRST_ACCEPT)) & pl.col("last_level").is_in(list(LAST_ACCEPT))


def _gate_pair() -> pl.Expr:
    # the identity gates of the decision that depend on the pair alone
    return _name_ok() & pl.col("address_level").is_in(list(ADDRESS_ACCEPT)) & ~pl.col("suffix_level").is_in(SUFFIX_BAR)


def accept_design(P: pl.DataFrame) -> np.ndarray:
    """(n_pairs, n_accept_features) float64 inputs of the accept model
    (:data:`matchers.model.ACCEPT_FEATURES`) for pairs from :func:`line_scores`."""
    cols = []
    no_middle = pl.col("middle_level") == "missing"
    exact = pl.col("first_level") == "exact"
    extra = {
        "initial_x_middle_missing": (pl.col("first_level") == "initial") & no_middle,
        "nickname_x_middle_missing": (pl.col("first_level") == "nickname") & no_middle,
        "housemates_x_middle_missing": pl.col("housemates") * no_middle.cast(pl.Float64),
        "name_given_surname_x_middle_missing": pl.col("name_given_surname") * no_middle.cast(pl.Float64),
        "name_given_surname_x_exact": pl.col("name_given_surname") * exact.cast(pl.Float64),
        "first_rarity_x_exact": pl.col("first_rarity") * exact.cast(pl.Float64),
        "name_common_in_family": pl.col("name_given_surname") > -1.0,
        "name_very_common_in_family": pl.col("name_given_surname") > -0.5,
        "name_given_surname_sq": pl.col("name_given_surname") ** 2,
        "alone_at_address": pl.col("tf_address") == 1,
        "namesakes_county": pl.col("tf_name").cast(pl.Float64).log1p(),
        "exact_no_middle_common_in_family": exact & no_middle & (pl.col("name_given_surname") > -1.5),
        "middle_only_on_record": no_middle & pl.col("l_middle").is_null() & pl.col("k_middle").is_not_null(),
        "middle_only_on_line": no_middle & pl.col("l_middle").is_not_null() & pl.col("k_middle").is_null(),
    }
    for name in ACCEPT_FEATURES:
        if name in extra:
            cols.append(extra[name].cast(pl.Float64).alias(name))
        elif ":" in name:
            comp, lv = name.split(":")
            cols.append((pl.col(f"{comp}_level") == lv).cast(pl.Float64).alias(name))
        else:
            cols.append(pl.col(name).cast(pl.Float64).alias(name))
    return np.nan_to_num(P.select(cols).to_numpy())


def line_scores(P: pl.DataFrame, model: MatchModel) -> pl.DataFrame:
    """Line-level quantities of scored pairs: ``share``, ``other_mass``,
    ``housemates``, ``gate_pair``, ``name_ok`` and the calibrated ``score``.

    ``share`` is ``odds_i / (1 + sum_j odds_j)``: the probability that *i* is
    the signer when at most one voter is, so two equally good candidates
    (Jr and Sr without a suffix) share it. A candidate that passes the
    identity gates is scored by the model's accept model when it has one
    (trained on exactly such candidates: an initial with no middle name, a
    registered housemate of the surname, a namesake elsewhere); any other
    candidate by the Platt-calibrated share.
    """
    odds = pl.col("weight").exp()
    total = odds.sum().over("_li")
    same_sur_here = (pl.col("last_level").is_in(list(LAST_ACCEPT))
                     & pl.col("address_level").is_in(list(ADDRESS_ACCEPT))).cast(pl.Float64)
    P = P.with_columns(
        (odds / (1.0 + total)).clip(1e-12, 1 - 1e-12).alias("share"),
        (1.0 + (total - odds).clip(lower_bound=0.0)).log().alias("other_mass"),
        (1.0 + same_sur_here.sum().over("_li") - same_sur_here).log().alias("housemates"),
        _gate_pair().alias("gate_pair"),
        _name_ok().alias("name_ok"),
    )
    a, b = model.line_calibration
    logit = (pl.col("share") / (1.0 - pl.col("share"))).log()
    P = P.with_columns((1.0 / (1.0 + (-(a * logit + b)).exp())).alias("score"))
    acc = model.accept_vector()
    if acc is not None and P.height:
        w, b0 = acc
        gate = P["gate_pair"].to_numpy()
        rows = np.flatnonzero(gate)
        score = P["score"].to_numpy().copy()
        if rows.size:
            z = np.clip(accept_design(P.select(pl.all().gather(rows))) @ w + b0, -30, 30)
            score[rows] = 1.0 / (1.0 + np.exp(-z))
        P = P.with_columns(pl.Series("score", score))
    return P


def _same(a: str, b: str) -> pl.Expr:
    # equal, or both missing
    return (pl.col(a) == pl.col(b)).fill_null(pl.col(a).is_null() & pl.col(b).is_null())


def leniency_variants() -> dict[str, pl.Expr]:
    """One boolean expression per :data:`ADDRESS_LENIENCY` code: does the
    line's best candidate show that variant?

    Evaluated on a line joined with its best candidate pair (the columns of
    :func:`prepare_lines` and :func:`compare_pairs`). The address variants
    count only where the address is otherwise the registered one (an
    :data:`~matchers.model.ADDRESS_ACCEPT` level).
    """
    at_address = pl.col("address_level").is_in(list(ADDRESS_ACCEPT))
    return {
        "unit_blank_or_different": at_address & ~_same("l_unit", "a_unit"),
        "street_name_abbreviated_or_old": at_address & (pl.col("l_street_key") != pl.col("a_street_key")),
        "fraction_missing_or_different": at_address & ~_same("l_fraction", "a_fraction"),
        "po_box_with_matching_street": at_address & pl.col("l_po_box").is_not_null(),
        "moved_during_circulation": pl.col("name_ok") & pl.col("address_level").is_in(list(ADDRESS_ELSEWHERE)),
        "no_city_with_street_and_zip": at_address & pl.col("l_city").is_null() & pl.col("l_zip").is_not_null(),
        "city_abbreviated_or_neighbourhood": at_address & ((pl.col("l_city_written") != pl.col("l_city"))
                                                           | (pl.col("l_city") != pl.col("k_city"))),
        "initials_for_given_names": pl.col("first_level") == "initial",
    }


def decide(L: pl.DataFrame, P: pl.DataFrame, model: MatchModel, *, jurisdiction_city: str | None = None,
           district: str | None = None, namesakes: pl.DataFrame | None = None,
           address_leniency: frozenset[str] = frozenset(ADDRESS_LENIENCY)) -> pl.DataFrame:
    """Rank candidates per line and give each line a status and a reason.

    Candidates are ranked by their share of the line (see
    :func:`line_scores`, which also gives each its calibrated ``score``).
    A variant of :data:`ADDRESS_LENIENCY` missing from `address_leniency`
    is a difference: see :func:`leniency_variants`.
    """
    P = line_scores(P, model)
    # rank on a narrow frame, then gather only each line's best row (sorting
    # every column of every pair costs more than the scoring)
    R = P.select("_li", "share", "score", "voter_id", "name_ok",
                 (pl.col("name_ok") & pl.col("address_level").is_in(list(ADDRESS_ELSEWHERE))).alias("_else"),
                 pl.int_range(pl.len(), dtype=pl.UInt32).alias("_row"))
    R = R.sort(["_li", "share"], descending=[False, True])
    ranks = R.group_by("_li", maintain_order=True).agg(
        pl.col("_row").first(),
        pl.col("share").get(1, null_on_oob=True).alias("second_share"),
        ((pl.col("score") >= 0.01) | pl.col("name_ok")).sum().alias("n_candidates"),
        pl.col("_else").any().alias("name_elsewhere"),
        pl.struct(pl.col("voter_id"), pl.col("score")).head(TOP_K).alias("candidates"),
    )
    best = P.drop([c for c in P.columns if c.startswith("l_")] + ["_li"]).select(pl.all().gather(ranks["_row"]))
    top = pl.concat([ranks.drop("_row"), best], how="horizontal")
    out = L.select("_li", "line_id", "date_signed", "l_first", "l_last", "l_too_long", "l_house",
                   "l_street_key", "l_po_box", "l_unit", "l_fraction", "l_city", "l_city_written", "l_zip",
                   ).join(top, on="_li", how="left", maintain_order="left")
    if namesakes is not None:
        out = out.join(namesakes, on="_li", how="left", maintain_order="left")
    else:
        out = out.with_columns(pl.lit(None, dtype=pl.UInt32).alias("namesakes"))
    out = out.with_columns(pl.col("namesakes").fill_null(0))
    # a name found only elsewhere (too many namesakes to score) still counts
    out = out.with_columns(pl.max_horizontal(pl.col("n_candidates").fill_null(0).cast(pl.UInt32),
                                             pl.when(pl.col("name_ok").fill_null(False)).then(0)
                                             .otherwise(pl.col("namesakes"))).cast(pl.UInt32).alias("n_candidates"))

    flags = {
        "cancelled": pl.col("status") == "cancelled",
        "registered_after_signing": (pl.col("registration_date") > pl.col("date_signed")).fill_null(False)
        if "registration_date" in out.columns else pl.lit(False),
        "out_of_district": pl.lit(False),
        "inactive": (pl.col("status") == "inactive") & pl.lit(model.inactive_policy == "review"),
    }
    ood = pl.lit(False)
    if jurisdiction_city:
        jc = pl.DataFrame({"c": [jurisdiction_city]}).select(N.normalize_city(pl.col("c")))["c"][0]
        ood = ood | (pl.col("k_city") != jc).fill_null(False)
    if district and "district" in out.columns:
        ood = ood | (pl.col("district") != district).fill_null(True)
    flags["out_of_district"] = ood
    flagged = pl.any_horizontal([f.fill_null(False) for f in flags.values()])
    # ambiguity on the uncalibrated shares: a runner-up holding a real part
    # of the probability mass that at most one voter signed
    ambiguous = (pl.col("second_share").fill_null(0.0) >= model.ambiguity_share)
    accept = ((pl.col("score") >= model.accept_threshold) & pl.col("gate_pair") & ~ambiguous & ~flagged).fill_null(False)
    # same surname at the address: a housemate, or the voter with a mistyped
    # first name; either way a person looks
    household = pl.col("last_level").is_in(list(LAST_ACCEPT)) & pl.col("address_level").is_in(list(ADDRESS_ACCEPT))
    plausible = ((pl.col("score") >= model.review_threshold) | pl.col("name_ok") | household).fill_null(False)
    elsewhere_only = ~plausible & (pl.col("namesakes") > 0)
    variants = leniency_variants()
    not_tolerated = [code for code in ADDRESS_LENIENCY if code not in address_leniency]
    # a name variant not tolerated reads as a name difference, any other as an address difference
    name_bar = pl.any_horizontal([variants[c] for c in not_tolerated if c == "initials_for_given_names"]
                                 or [pl.lit(False)]).fill_null(False)
    address_bar = pl.any_horizontal([variants[c] for c in not_tolerated
                                     if c not in ("initials_for_given_names", "moved_during_circulation")]
                                    or [pl.lit(False)]).fill_null(False)
    accept = accept & ~name_bar & ~address_bar
    moved_bar = pl.lit(False)
    if "moved_during_circulation" not in address_leniency:
        # the voter of the name is registered elsewhere: not this signer
        moved_bar = (variants["moved_during_circulation"] | elsewhere_only).fill_null(False)
        plausible = plausible & ~moved_bar
        elsewhere_only = elsewhere_only & ~moved_bar
    no_name = pl.col("l_last").is_null()
    status = (
        pl.when(pl.col("l_too_long")).then(pl.lit(STATUS_NONE))
        .when(no_name).then(pl.lit(STATUS_NONE))
        .when(accept).then(pl.lit(STATUS_MATCH))
        .when(plausible | elsewhere_only).then(pl.lit(STATUS_REVIEW))
        .otherwise(pl.lit(STATUS_NONE))
    )
    reason = pl.when(pl.col("l_too_long")).then(pl.lit("unreadable")).when(no_name).then(pl.lit("no_name"))
    reason = reason.when(accept).then(pl.lit(None, dtype=pl.String))
    reason = reason.when(moved_bar).then(pl.lit("address_mismatch"))
    reason = reason.when(elsewhere_only).then(pl.lit("address_mismatch"))
    reason = reason.when(~plausible & (pl.col("l_house").is_null() & pl.col("l_po_box").is_not_null())).then(pl.lit("po_box_only"))
    reason = reason.when(~plausible).then(pl.lit("not_found"))
    # registered elsewhere outranks the record's flags: a moved voter is
    # found by name alone, and the candidates list shows every namesake
    reason = reason.when(pl.col("address_level").is_in(list(ADDRESS_ELSEWHERE)) & pl.col("name_ok")).then(
        pl.lit("address_mismatch"))
    # the best candidate is not name-equivalent (a same-surname neighbour at
    # the written address) but a voter of the very name is registered
    # elsewhere: most likely that voter moved; the candidates list has both
    reason = reason.when(~pl.col("name_ok").fill_null(False)
                         & (pl.col("name_elsewhere").fill_null(False) | (pl.col("namesakes") > 0))).then(
        pl.lit("address_mismatch"))
    for code, cond in flags.items():
        reason = reason.when(cond.fill_null(False)).then(pl.lit(code))
    reason_expr = (
        reason.when(ambiguous).then(pl.lit("ambiguous"))
        .when(pl.col("address_level") == "missing").then(
            pl.when(pl.col("l_po_box").is_not_null()).then(pl.lit("po_box_only")).otherwise(pl.lit("incomplete_address")))
        .when(~pl.col("first_level").is_in(list(FIRST_ACCEPT))).then(pl.lit("name_mismatch"))
        .when(pl.col("address_level").is_in(list(ADDRESS_ELSEWHERE))).then(pl.lit("address_mismatch"))
        .when(pl.col("suffix_level").is_in(SUFFIX_BAR)).then(pl.lit("suffix_mismatch"))
        .when(name_bar).then(pl.lit("name_mismatch"))
        .when(address_bar).then(pl.lit("address_mismatch"))
        .otherwise(pl.lit("weak_match"))
    )
    out = out.with_columns(status.alias("status"), reason_expr.alias("reason"))
    out = out.with_columns(
        pl.when(plausible).then(pl.col("voter_id")).alias("voter_id"),
        pl.when(plausible).then(pl.col("score")).otherwise(0.0).alias("score"),
        pl.when(pl.col("first_level").is_not_null()).then(
            pl.concat_str([pl.lit("first "), pl.col("first_level"), pl.lit(", last "), pl.col("last_level")])
        ).alias("name_level"),
        pl.lit(model.version).alias("model_version"),
    )
    return out.select(
        "line_id", "voter_id", "score", "status", "reason", "name_level", "address_level", "first_level",
        "last_level", "middle_level", "suffix_level", "n_candidates",
        pl.col("candidates").fill_null(pl.lit([], dtype=pl.List(pl.Struct({"voter_id": pl.String, "score": pl.Float64})))),
        "model_version",
    )


def match_lines(lines: pl.DataFrame, voters: pl.DataFrame, *, model: MatchModel | None = None,
                jurisdiction_city: str | None = None, district: str | None = None,
                signing_date_col: str | None = "date_signed",
                address_leniency: Collection[str] | None = None) -> pl.DataFrame:
    """Match every petition line to its most likely voter.

    Parameters
    ----------
    lines : pl.DataFrame, shape (n_lines, ...)
        ``line_id``, ``name``, ``address``, ``city``, ``zip`` as keyed (free
        text), and optionally the signing date (``pl.Date``).
    voters : pl.DataFrame, shape (n_voters, ...)
        Output of :func:`matchers.prepare_voters`.
    model : MatchModel, optional
        Defaults to :func:`matchers.load_default_model`.
    jurisdiction_city : str, optional
        Voters whose residence city (after aliases) differs are flagged
        ``out_of_district``.
    district : str, optional
        Voters whose ``district`` differs are flagged ``out_of_district``.
    signing_date_col : str or None
        Column of `lines` with the date signed; a voter registered after it
        is flagged ``registered_after_signing``.
    address_leniency : collection of str, optional
        The variants of :data:`ADDRESS_LENIENCY` to forgive (default: all).
        A line showing a variant left out is not matched automatically
        (status review, reason ``address_mismatch``, or ``name_mismatch``
        for initials); without ``moved_during_circulation`` a voter of the
        name registered at another address is no match.

    Returns
    -------
    pl.DataFrame, shape (n_lines, 14)
        One row per input line in input order: ``line_id``, ``voter_id``
        (null when none), ``score`` (f64, 0..1), ``status`` (match / review
        / no_match), ``reason`` (null for match), ``name_level``,
        ``address_level``, ``first_level``, ``last_level``,
        ``middle_level``, ``suffix_level``, ``n_candidates`` (u32),
        ``candidates`` (list of struct voter_id/score, ranked by share of the
        line (:func:`line_scores`), best first, at most
        5), ``model_version``.

    Examples
    --------
    >>> import polars as pl, matchers
    >>> voters = matchers.prepare_voters(pl.DataFrame({
    ...     "voter_id": ["V1"], "first_name": ["William"], "last_name": ["Smith"],
    ...     "house_number": ["12"], "street_name": ["Main"], "street_type": ["Street"],
    ...     "zip": ["90012"], "status": ["active"]}))
    >>> lines = pl.DataFrame({"line_id": ["1-1-1"], "name": ["Bill Smith"],
    ...     "address": ["12 Main St"], "city": ["Los Angeles"], "zip": ["90012"]})
    >>> matchers.match_lines(lines, voters)["status"].to_list()
    ['match']
    """
    if address_leniency is None:
        tolerated = frozenset(ADDRESS_LENIENCY)
    else:
        tolerated = frozenset(address_leniency)
        unknown = sorted(tolerated - set(ADDRESS_LENIENCY))
        if unknown:
            raise ValueError(f"The parameter `address_leniency` has unknown variant(s) {', '.join(unknown)}; "
                             f"known: {', '.join(ADDRESS_LENIENCY)}")
    model = model or load_default_model()
    L = prepare_lines(lines, signing_date_col=signing_date_col)
    P, namesakes = scored_pairs(L, voters, model)
    return decide(L, P, model, jurisdiction_city=jurisdiction_city, district=district, namesakes=namesakes,
                  address_leniency=tolerated)


def find_duplicates(matches: pl.DataFrame) -> pl.DataFrame:
    """Lines whose matched voter appears on more than one line of the filing.

    Parameters
    ----------
    matches : pl.DataFrame
        Output of :func:`match_lines` (in filing order).

    Returns
    -------
    pl.DataFrame
        ``line_id``, ``duplicate_group`` (the voter id), ``occurrence``
        (1 for the first line of the voter in input order, 2, ...), and
        ``group_size``; only lines with status match or review.
    """
    m = matches.with_row_index("_pos").filter(
        pl.col("status").is_in([STATUS_MATCH, STATUS_REVIEW]) & pl.col("voter_id").is_not_null())
    m = m.with_columns(pl.len().over("voter_id").alias("group_size")).filter(pl.col("group_size") > 1)
    return m.sort("_pos").select(
        "line_id",
        pl.col("voter_id").alias("duplicate_group"),
        (pl.int_range(pl.len()).over("voter_id") + 1).cast(pl.UInt32).alias("occurrence"),
        pl.col("group_size").cast(pl.UInt32),
    )
