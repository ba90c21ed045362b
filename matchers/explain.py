"""Why a keyed line and a voter record agree or differ, field by field, in
the matcher's own terms.

The review screen shows these levels instead of comparing strings itself, so
there is one comparator in the product: the matcher's normalisation
(:mod:`matchers.normalize`, :mod:`matchers.tables`). Each field gets an
ordered, named level a person can read:

* ``exact`` — the same once case, accents and punctuation are set aside;
* ``equivalent`` — different as written, the same under a named rule
  (``unit designator``, ``city alias``, ``street type``, ``nickname``,
  ``maternal surname``, …); none of these is a ground to reject
  (2 CCR §20931: unit, fraction, abbreviated street or city names,
  neighbourhood names; initials for a given name);
* ``different`` — a difference that can matter;
* ``missing`` — nothing keyed for the field.

Pure polars: frames in, a frame out, one row per input row.
"""
from __future__ import annotations

import polars as pl

from matchers import tables
from matchers.normalize import PARTICLES as _PARTICLES
from matchers.normalize import (
    clean_city,
    clean_text,
    name_key,
    normalize_city,
    normalize_zip,
    parse_address,
    parse_name,
    surname_parts,
    voter_address_text,
)

FIELDS = ("name", "address", "city", "zip")
LEVELS = ("exact", "equivalent", "different", "missing")


def _rules(*pairs: tuple[pl.Expr, str]) -> pl.Expr:
    """The names of the rules whose condition holds, joined with ", " (null when none)."""
    parts = [pl.when(cond.fill_null(False)).then(pl.lit(name)) for cond, name in pairs]
    out = pl.concat_str(parts, separator=", ", ignore_nulls=True)
    return pl.when(out.str.len_chars() > 0).then(out)


def _level(missing: pl.Expr, exact: pl.Expr, same: pl.Expr) -> pl.Expr:
    return (pl.when(missing).then(pl.lit("missing"))
            .when(exact.fill_null(False)).then(pl.lit("exact"))
            .when(same.fill_null(False)).then(pl.lit("equivalent"))
            .otherwise(pl.lit("different")))


def explain_fields(keyed: pl.DataFrame, records: pl.DataFrame) -> pl.DataFrame:
    """Compare each keyed line with its voter record, field by field.

    Parameters
    ----------
    keyed : pl.DataFrame
        What was keyed from each line: ``name``, ``address``, ``city``,
        ``zip`` (free text; missing columns count as blank).
    records : pl.DataFrame
        The voter record for each row of `keyed` (same height, same order),
        in the standard voter-file columns (``first_name`` … ``zip``).

    Returns
    -------
    pl.DataFrame
        One row per input row with, for each field ``f`` in :data:`FIELDS`,
        ``f_level`` (one of :data:`LEVELS`) and ``f_rule`` (what made an
        ``equivalent`` field equivalent, or what differs; null otherwise).

    Examples
    --------
    >>> k = pl.DataFrame({"name": ["Joe Garcia"], "address": ["806 S Main St #806"],
    ...                   "city": ["LA"], "zip": ["90012"]})
    >>> v = pl.DataFrame({"first_name": ["JOSE"], "last_name": ["GARCIA LOPEZ"], "house_number": ["806"],
    ...                   "street_dir": ["S"], "street_name": ["MAIN"], "street_type": ["ST"],
    ...                   "unit_type": ["UNIT"], "unit_number": ["806"], "city": ["LOS ANGELES"], "zip": ["90012"]})
    >>> explain_fields(k, v).row(0, named=True)  # doctest: +NORMALIZE_WHITESPACE
    {'name_level': 'equivalent', 'name_rule': 'nickname, maternal surname',
     'address_level': 'equivalent', 'address_rule': 'unit designator',
     'city_level': 'equivalent', 'city_rule': 'city alias', 'zip_level': 'exact', 'zip_rule': None}
    """
    if keyed.height != records.height:
        raise ValueError("The parameters `keyed` and `records` must have the same number of rows")
    kcols = {"name": "k_name", "address": "k_address", "city": "k_city", "zip": "k_zip"}
    vcols = {"first_name": "v_first", "middle_name": "v_middle", "last_name": "v_last", "suffix": "v_suffix",
             "city": "v_city", "zip": "v_zip"}
    vs = set(records.columns)
    k = keyed.with_columns(pl.lit(None, pl.String).alias(c) for c in kcols if c not in keyed.columns)
    v = records.with_columns(pl.lit(None, pl.String).alias(c) for c in vcols if c not in vs)
    base = pl.concat([
        k.select(pl.col(c).cast(pl.String).alias(a) for c, a in kcols.items()),
        v.select(*(pl.col(c).cast(pl.String).alias(a) for c, a in vcols.items()),
                 (voter_address_text(vs) if vs & {"house_number", "street_name"}
                  else pl.lit(None, pl.String)).alias("v_address")),
    ], how="horizontal")
    df = parse_name(base, "k_name", prefix="kn_")
    df = parse_address(df, "k_address", prefix="ka_")
    df = parse_address(df, "v_address", prefix="va_")
    nick = tables.nickname_pairs().select(pl.col("a").alias("_kf"), pl.col("b").alias("_vf"), "nick")
    df = df.with_columns(name_key(pl.col("kn_first")).alias("_kf"), name_key(pl.col("v_first")).alias("_vf"))
    df = df.with_row_index("_row").join(nick, on=["_kf", "_vf"], how="left").sort("_row")
    df = df.with_columns(pl.col("nick").fill_null(False))
    df = _address(_name(df))
    return df.select("name_level", "name_rule", "address_level", "address_rule", *_city(), *_zip())


def _words(expr: pl.Expr) -> pl.Expr:
    """The words of a name part as a list (letters only; particles kept apart)."""
    w = clean_text(expr).fill_null("").str.replace_all(r"[^A-Z ]", " ").str.strip_chars().str.split(" ")
    return w.list.eval(pl.element().filter(pl.element().str.len_chars() > 0))


def _name(df: pl.DataFrame) -> pl.DataFrame:
    kf, vf = pl.col("_kf"), pl.col("_vf")
    full_v = pl.concat_str([pl.col(c).fill_null("") for c in ("v_first", "v_middle", "v_last", "v_suffix")],
                           separator=" ")
    exact = clean_text(pl.col("k_name")) == clean_text(full_v)
    initial_first = (kf.str.len_chars() == 1) & vf.str.starts_with(kf)
    first_same = (kf == vf) | pl.col("nick") | initial_first
    # Everything after the given name, compared as words: the parse of
    # "Jose Antonio Garcia Lopez" cannot know where the middle name ends.
    # Each step is materialised as a column, so the expression trees stay small.
    df = df.with_columns(pl.concat_list(_words(pl.col("kn_middle")), _words(pl.col("kn_last"))).alias("_krest"),
                         surname_parts(pl.col("v_last")).alias("_vlast"), _words(pl.col("v_middle")).alias("_vmw"))
    k_rest = pl.col("_krest")
    k_full = k_rest.list.eval(pl.element().filter(pl.element().str.len_chars() > 1))
    k_init = k_rest.list.eval(pl.element().filter(pl.element().str.len_chars() == 1))
    df = df.with_columns(k_full.alias("_kfull"), k_init.alias("_kinit"),
                         pl.col("_vmw").list.eval(pl.element().filter(pl.element().str.len_chars() > 1)).alias("_vmid"),
                         pl.col("_vmw").list.eval(pl.element().str.slice(0, 1)).alias("_vmidi"))
    k_full, k_init, v_mid, v_mid_i, v_last = (pl.col("_kfull"), pl.col("_kinit"), pl.col("_vmid"), pl.col("_vmidi"),
                                              pl.col("_vlast"))
    df = df.with_columns(k_full.list.eval(pl.element().filter(~pl.element().is_in(list(_PARTICLES)))).alias("_kplain"))
    k_plain = pl.col("_kplain")
    last_kept = v_last.list.set_intersection(k_plain).list.len()
    last_same = (last_kept >= 1) | ((v_last.list.len() == 0) & (name_key(pl.col("kn_last")) == name_key(pl.col("v_last"))))
    maternal = (last_kept >= 1) & (last_kept < v_last.list.len())
    extra = k_plain.list.set_difference(pl.concat_list(v_last, v_mid)).list.len() > 0
    extra_init = k_init.list.set_difference(v_mid_i).list.len() > 0
    mid_missing = v_mid.list.set_difference(k_full).list.len()
    middle_initial = (mid_missing > 0) & (k_init.list.set_intersection(v_mid_i).list.len() > 0)
    middle_omitted = (mid_missing > 0) & ~middle_initial
    suffix_omitted = pl.col("kn_suffix").is_null() & (clean_text(pl.col("v_suffix")).is_not_null())
    missing = clean_text(pl.col("k_name")).is_null()
    same = first_same.fill_null(False) & last_same.fill_null(False) & ~extra & ~extra_init
    conds = {"_n_init1": initial_first, "_n_first": first_same.fill_null(False), "_n_last": last_same.fill_null(False),
             "_n_mat": maternal.fill_null(False), "_n_extra": (extra | extra_init).fill_null(False),
             "_n_mom": middle_omitted.fill_null(False), "_n_mi": middle_initial.fill_null(False),
             "_n_suf": suffix_omitted.fill_null(False)}
    df = df.with_columns(*(e.alias(n) for n, e in conds.items()), _level(missing, exact, same).alias("name_level"))
    initial_first, first_same, last_same, maternal, extra, middle_omitted, middle_initial, suffix_omitted = (
        pl.col(n) for n in conds)
    extra_init = pl.lit(False)
    level = pl.col("name_level")
    rule: pl.Expr = pl.when(level == "equivalent").then(_rules(
        (pl.col("nick"), "nickname"), (initial_first, "initial for a given name"), (maternal, "maternal surname"),
        (middle_omitted, "middle name omitted"), (middle_initial, "middle initial"),
        (suffix_omitted, "suffix omitted"),
    )).when(level == "different").then(_rules(
        (~first_same.fill_null(False), "given name"), (~last_same.fill_null(False), "surname"),
        (extra | extra_init, "words not on the record"),
    ))
    # same once parsed, different only in layout ("GARCIA, MARIA")
    df = df.with_columns(rule.alias("name_rule"))
    rule = pl.col("name_rule")
    rule = pl.when((level == "equivalent") & rule.is_null()).then(pl.lit("order or punctuation")).otherwise(rule)
    return df.with_columns(rule.alias("name_rule"))


def _address(df: pl.DataFrame) -> pl.DataFrame:
    def k(f: str) -> pl.Expr:
        return pl.col(f"ka_{f}")

    def v(f: str) -> pl.Expr:
        return pl.col(f"va_{f}")

    missing = clean_text(pl.col("k_address")).is_null()
    exact = clean_text(pl.col("k_address")) == clean_text(pl.col("v_address"))
    core = (k("house") == v("house")).fill_null(False) & (k("street") == v("street")).fill_null(False)
    stype_missing = k("stype").is_null() != v("stype").is_null()
    stype_differs = k("stype").is_not_null() & v("stype").is_not_null() & (k("stype") != v("stype"))
    dir_missing = (k("predir").is_null() != v("predir").is_null()) | (k("postdir").is_null() != v("postdir").is_null())
    dir_differs = ((k("predir") != v("predir")) | (k("postdir") != v("postdir"))).fill_null(False)
    unit_missing = k("unit").is_null() != v("unit").is_null()
    unit_same = (k("unit") == v("unit")).fill_null(False)
    unit_other = k("unit").is_not_null() & v("unit").is_not_null() & ~unit_same
    frac = (k("fraction").is_null() != v("fraction").is_null()) | (k("fraction") != v("fraction")).fill_null(False)
    # the unit written differently ("#806" / "Unit 806" / "Apt 806"): same unit, another designator
    des = tables.unit_designators()
    k_des = (clean_text(pl.col("k_address")).str.replace_all("#", " # ")
             .str.extract(r"(?:^|\s)(#|[A-Z]+)\s*#?\s*[A-Z0-9-]+\s*$", 1).replace(des))
    v_des = (clean_text(pl.col("v_address")).str.replace_all("#", " # ")
             .str.extract(r"(?:^|\s)(#|[A-Z]+)\s*#?\s*[A-Z0-9-]+\s*$", 1).replace(des))
    designator = unit_same & k("unit").is_not_null() & (k_des != v_des).fill_null(False)
    same = core & ~stype_differs.fill_null(False) & ~dir_differs
    conds = {"_a_des": designator.fill_null(False), "_a_um": unit_missing.fill_null(False),
             "_a_uo": unit_other.fill_null(False), "_a_stm": stype_missing.fill_null(False),
             "_a_dm": dir_missing.fill_null(False), "_a_fr": frac.fill_null(False),
             "_a_std": stype_differs.fill_null(False), "_a_dd": dir_differs.fill_null(False)}
    df = df.with_columns(*(e.alias(n) for n, e in conds.items()), _level(missing, exact, same).alias("address_level"))
    designator, unit_missing, unit_other, stype_missing, dir_missing, frac, stype_differs, dir_differs = (
        pl.col(n) for n in conds)
    level = pl.col("address_level")
    rule: pl.Expr = pl.when(level == "equivalent").then(_rules(
        (designator, "unit designator"), (unit_missing, "unit missing"),
        (unit_other, "different unit"), (stype_missing, "street type"), (dir_missing, "direction"),
        (frac, "fraction"),
    )).when(level == "different").then(_rules(
        ((k("house") != v("house")).fill_null(True), "house number"),
        ((k("street") != v("street")).fill_null(True), "street"),
        (stype_differs, "street type"), (dir_differs, "direction"),
    ))
    df = df.with_columns(rule.alias("address_rule"))
    rule = pl.col("address_rule")
    rule = pl.when((level == "equivalent") & rule.is_null()).then(pl.lit("abbreviation")).otherwise(rule)
    return df.with_columns(rule.alias("address_rule"))


def _city() -> list[pl.Expr]:
    kc, vc = clean_city(pl.col("k_city")), clean_city(pl.col("v_city"))
    missing = kc.is_null()
    exact = kc == vc
    alias = normalize_city(pl.col("k_city")) == normalize_city(pl.col("v_city"))
    same_zip = (normalize_zip(pl.col("k_zip")) == normalize_zip(pl.col("v_zip"))).fill_null(False)
    level = _level(missing, exact, alias.fill_null(False) | same_zip)
    rule = (pl.when((level == "equivalent") & alias.fill_null(False)).then(pl.lit("city alias"))
            .when(level == "equivalent").then(pl.lit("neighbourhood name (same zip)"))
            .when(level == "different").then(pl.lit("city")))
    return [level.alias("city_level"), rule.alias("city_rule")]


def _zip() -> list[pl.Expr]:
    kz, vz = normalize_zip(pl.col("k_zip")), normalize_zip(pl.col("v_zip"))
    missing = clean_text(pl.col("k_zip")).is_null()
    exact = kz == vz
    level = _level(missing, exact, pl.lit(False))
    rule = pl.when(level == "different").then(pl.lit("zip"))
    return [level.alias("zip_level"), rule.alias("zip_rule")]
