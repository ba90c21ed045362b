"""Vectorized normalisation of names, addresses and cities (polars expressions).

The same functions normalise both sides: what a signer wrote on a petition
line and what the voter file holds. A voter's structured address is
reassembled into one string and parsed by the same parser as the keyed
address, so "unit in the wrong field", "Fifth" vs "5th" or "Avenue" vs "AVE"
come out identical on both sides.

All public functions take and return polars expressions or frames; there is
no per-record Python. :mod:`matchers.reference` holds slow pure-Python twins
used by the tests.
"""
from __future__ import annotations

from typing import overload

import polars as pl

from matchers import tables

#: Courtesy titles dropped from names ("Mrs. Robert X" is matched on the rest).
TITLES = ("MR", "MRS", "MS", "MISS", "MX", "DR", "REV", "HON", "PROF", "SRA", "SRTA", "SGT", "CAPT")
#: Generational suffixes, normalised to these spellings.
SUFFIXES = {"JR": "JR", "JUNIOR": "JR", "SR": "SR", "SENIOR": "SR", "II": "II", "2ND": "II",
            "III": "III", "3RD": "III", "IV": "IV", "4TH": "IV"}
#: Surname particles: "de la Cruz" is one surname.
PARTICLES = ("DE", "DEL", "LA", "LAS", "LOS", "DA", "DAS", "DO", "DOS", "DI", "DU", "VAN", "VON",
             "DER", "DEN", "LE", "ST", "SAN", "SANTA", "BIN", "BEN", "AL", "EL", "Y", "MAC", "MC")

_PARTICLE_RE = "|".join(PARTICLES)
_TITLE_RE = r"(?-u:\b)(?:" + "|".join(TITLES) + r")(?-u:\b)"
_SUFFIX_RE = r"(?-u:\b)(" + "|".join(SUFFIXES) + r")(?-u:\b)"
# first, lazy middle, surname = particles* + one token. The lazy middle lets
# the surname absorb as many particles as precede its last token.
_NAME_RE = (r"^(?<first>\S+)(?:\s+(?<middle>.*?))??\s+(?<last>(?:(?:" + _PARTICLE_RE
            + r")\s+)*\S+)$")


def clean_text(expr: pl.Expr) -> pl.Expr:
    """Upper-case, strip accents, turn punctuation into spaces, squeeze blanks.

    Hyphens and apostrophes inside words are dropped ("O'Brien" -> "OBRIEN",
    "Garcia-Lopez" -> "GARCIA LOPEZ"); a null stays null, an empty result is
    null.
    """
    out = (
        expr.cast(pl.String)
        .str.normalize("NFKD")
        .str.replace_all(r"\p{M}", "")
        .str.to_uppercase()
        .str.replace_all(r"['`’]", "")
        .str.replace_all(r"[^A-Z0-9#/ ,-]", " ")
        .str.replace_all(r"\s*-+\s*", "-")
        .str.replace_all(r"^-+|-+$|(?:\s|,)-+|-+(?:\s|,)", " ")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars(" ,")
    )
    return pl.when(out.str.len_chars() > 0).then(out).otherwise(None)


def name_key(expr: pl.Expr) -> pl.Expr:
    """A surname or given name as one comparison key: letters only, no spaces.

    "de la Cruz" and "DELACRUZ" give the same key; so do "Garcia-Lopez" and
    "Garcia Lopez".
    """
    k = clean_text(expr).str.replace_all(r"[^A-Z]", "")
    return pl.when(k.str.len_chars() > 0).then(k).otherwise(None)


def surname_parts(expr: pl.Expr) -> pl.Expr:
    """The separate words of a (double) surname without particles, as a list."""
    words = clean_text(expr).str.replace_all(r"[^A-Z ]", "").str.split(" ")
    return words.list.eval(pl.element().filter(~pl.element().is_in(PARTICLES) & (pl.element().str.len_chars() > 1)))


_SOUNDEX_CODES = {**{c: "1" for c in "BFPV"}, **{c: "2" for c in "CGJKQSXZ"}, **{c: "3" for c in "DT"},
                  "L": "4", "M": "5", "N": "5", "R": "6", **{c: "0" for c in "AEIOUY"}, "H": "", "W": ""}


def soundex(key: pl.Expr) -> pl.Expr:
    """American Soundex of a name key (letters A-Z only), vectorized.

    Pass a column of keys (:func:`name_key`), not a raw expression: the key
    is referenced twice. H and W do not separate equal codes, vowels do;
    ``matchers.reference.soundex_py`` is the slow twin.
    """
    codes = key.str.replace_many(_SOUNDEX_CODES)
    for d in "0123456":
        codes = codes.str.replace_all(d + "+", d)
    # the first letter's own code is dropped (and a following equal code
    # was merged into it); H and W have no code to drop
    first = key.str.slice(0, 1)
    rest = pl.when(first.is_in(["H", "W"])).then(codes).otherwise(codes.str.slice(1)).str.replace_all("0", "")
    return first + (rest + "000").str.slice(0, 3)


NAME_FIELDS = ("first", "middle", "last", "suffix")


# A frame in, the same kind of frame out (eager stays eager, lazy stays lazy).
@overload
def parse_name(frame: pl.DataFrame, column: str, *, prefix: str = "") -> pl.DataFrame: ...
@overload
def parse_name(frame: pl.LazyFrame, column: str, *, prefix: str = "") -> pl.LazyFrame: ...
def parse_name(frame: pl.DataFrame | pl.LazyFrame, column: str, *, prefix: str = "") -> pl.DataFrame | pl.LazyFrame:
    """Split a free-text name as written on a petition line.

    Handles titles ("Mrs."), generational suffixes anywhere ("Jr.", ", III"),
    "LAST, FIRST MIDDLE", surname particles ("Maria de la Cruz"), initials
    ("J. Robert Smith") and hyphenated surnames. Steps are materialised as
    columns so the expression tree stays linear.

    Returns
    -------
    Same type as `frame`, with string columns ``{prefix}first``,
    ``middle``, ``last``, ``suffix`` added (cleaned upper case; null when
    absent).
    """
    lazy = isinstance(frame, pl.LazyFrame)
    lf = frame.lazy().with_columns(clean_text(pl.col(column)).alias("_s"))
    s = pl.col("_s")
    lf = lf.with_columns(s.str.extract(_SUFFIX_RE, 1).replace_strict(SUFFIXES, default=None).alias("_suffix"),
                         s.str.replace_all(_SUFFIX_RE, " ").str.replace_all(_TITLE_RE, " ")
                         .str.replace_all(r"\s+", " ").str.strip_chars(" ,").alias("_s"))
    # "LAST, FIRST MIDDLE" -> "FIRST MIDDLE LAST"
    lf = lf.with_columns(pl.when(s.str.contains(",")).then(s.str.replace(r"^([^,]*),\s*(.*)$", "$2 $1"))
                         .otherwise(s).alias("_s"))
    lf = lf.with_columns(s.str.replace_all(",", " ").str.replace_all(r"[#/]", " ").str.replace_all(r"\s*-\s*", "-")
                         .str.replace_all(r"\s+", " ").str.strip_chars().alias("_s"))
    lf = lf.with_columns(pl.when(s.str.len_chars() > 0).then(s).alias("_s"))
    lf = lf.with_columns(s.str.extract_groups(_NAME_RE).alias("_g"), (~s.str.contains(" ")).alias("_one"))
    g, one = pl.col("_g"), pl.col("_one")
    middle = g.struct.field("middle")
    lf = lf.with_columns(
        pl.when(one).then(None).otherwise(g.struct.field("first")).alias(f"{prefix}first"),
        pl.when(one | (middle.str.len_chars() == 0)).then(None).otherwise(middle).alias(f"{prefix}middle"),
        pl.when(one).then(s).otherwise(g.struct.field("last")).alias(f"{prefix}last"),
        pl.col("_suffix").alias(f"{prefix}suffix"),
    ).drop("_s", "_g", "_one", "_suffix")
    return lf if lazy else lf.collect()


def _street_tokens(expr: pl.Expr) -> pl.Expr:
    ords = tables.ordinals()
    words = expr.str.split(" ")
    return words.list.eval(
        pl.element().replace(ords).str.replace(r"^(\d+)(?:ST|ND|RD|TH)$", "$1")
    )


def _unit_re() -> str:
    words = sorted((w for w in tables.unit_designators() if w != "#"), key=len, reverse=True)
    # a designator needs a separator ("NORTH" is not "NO" + "RTH"); a unit
    # value holds a digit or is a single letter ("FRONT WALK" is a street)
    return (r"(?:\s|^)(?:(?:" + "|".join(words) + r")(?:\s*#\s*|\s+)|#\s*)"
            r"(\d[A-Z0-9-]*|[A-Z]-?\d+[A-Z]?|[A-Z])\s*$")


ADDRESS_FIELDS = ("house", "fraction", "predir", "street", "stype", "postdir", "unit", "po_box")


@overload
def parse_address(frame: pl.DataFrame, column: str | pl.Expr, *, prefix: str = "") -> pl.DataFrame: ...
@overload
def parse_address(frame: pl.LazyFrame, column: str | pl.Expr, *, prefix: str = "") -> pl.LazyFrame: ...
def parse_address(frame: pl.DataFrame | pl.LazyFrame, column: str | pl.Expr, *,
                  prefix: str = "") -> pl.DataFrame | pl.LazyFrame:
    """Parse a one-line street address (USPS Publication 28 forms).

    "1234 1/2 N. Fifth Street Apt #5", "1234½ N 5TH ST, UNIT 5",
    "PO Box 12 1234 N 5th St" all parse to house 1234, fraction 1/2 (when
    written), predir N, street "5", type ST, unit "5", po_box when present.

    Each step is materialised as a column (a chain of ``with_columns``), so
    the expression tree stays linear in the number of steps.

    Parameters
    ----------
    frame : pl.DataFrame or pl.LazyFrame
    column : str or pl.Expr
        The address text.
    prefix : str
        Prefix of the added column names.

    Returns
    -------
    Same type as `frame`, with string columns ``{prefix}house``,
    ``fraction``, ``predir``, ``street`` (name alone, numbered streets as
    numerals), ``stype``, ``postdir``, ``unit``, ``po_box`` added.
    """
    lazy = isinstance(frame, pl.LazyFrame)
    lf = frame.lazy()
    src = pl.col(column) if isinstance(column, str) else column
    dirs = tables.directions()
    sufs = tables.street_suffixes()
    dir_keys, suf_keys = list(dirs), list(sufs)
    po_re = r"(?-u:\b)(?:P\s?O|POST OFFICE)?\s?BOX\s*#?\s*(\d+)(?-u:\b)"
    unit_re = _unit_re()
    s = src.cast(pl.String).str.replace_all("½", " 1/2 ").str.replace_all("¼", " 1/4 ").str.replace_all("¾", " 3/4 ")
    s = clean_text(s).str.replace_all(",", " ").str.replace_all("#", " # ").str.replace_all(r"\s+", " ").str.strip_chars()
    lf = lf.with_columns(s.alias("_s"))
    lf = lf.with_columns(pl.col("_s").str.extract(po_re, 1).alias("_po"),
                         pl.col("_s").str.replace(po_re, " ").str.replace_all(r"\s+", " ").str.strip_chars().alias("_s"))
    lf = lf.with_columns(pl.col("_s").str.extract(unit_re, 1).alias("_unit"),
                         pl.col("_s").str.replace(unit_re, "").str.strip_chars().alias("_s"))
    lf = lf.with_columns(pl.col("_s").str.extract_groups(
        r"^(?<house>\d+)(?:-?(?<hletter>[A-Z])(?-u:\b))?(?:\s*-?\s*(?<fraction>1/2|1/4|3/4))?\s+(?<rest>.+)$").alias("_g"))
    g = pl.col("_g")
    lf = lf.with_columns(
        g.struct.field("house").str.replace(r"^0+(\d)", "$1").alias("_house"),
        pl.coalesce(g.struct.field("fraction"), g.struct.field("hletter")).alias("_fraction"),
        _street_tokens(pl.when(g.struct.field("house").is_null()).then(pl.col("_s"))
                       .otherwise(g.struct.field("rest"))).alias("_t"),
    ).drop("_g", "_s")
    t = pl.col("_t")
    lf = lf.with_columns(pl.when((t.list.len() >= 2) & t.list.first().is_in(dir_keys))
                         .then(t.list.first().replace_strict(dirs, default=None)).alias("_predir"))
    lf = lf.with_columns(pl.when(pl.col("_predir").is_not_null()).then(t.list.slice(1)).otherwise(t).alias("_t"))
    # a bare trailing unit after a suffix: "1234 MAIN ST 5B"
    lf = lf.with_columns(((t.list.len() >= 3) & t.list.last().str.contains(r"^\d+[A-Z]?$|^[A-Z]$")
                          & t.list.get(-2, null_on_oob=True).is_in(suf_keys)).fill_null(False).alias("_bare"))
    lf = lf.with_columns(pl.coalesce(pl.col("_unit"), pl.when(pl.col("_bare")).then(t.list.last())).alias("_unit"),
                         pl.when(pl.col("_bare")).then(t.list.slice(0, t.list.len() - 1)).otherwise(t).alias("_t"))
    lf = lf.with_columns(pl.when((t.list.len() >= 2) & t.list.last().is_in(dir_keys))
                         .then(t.list.last().replace_strict(dirs, default=None)).alias("_postdir"))
    lf = lf.with_columns(pl.when(pl.col("_postdir").is_not_null()).then(t.list.slice(0, t.list.len() - 1))
                         .otherwise(t).alias("_t"))
    lf = lf.with_columns(pl.when((t.list.len() >= 2) & t.list.last().is_in(suf_keys))
                         .then(t.list.last().replace_strict(sufs, default=None)).alias("_stype"))
    lf = lf.with_columns(pl.when(pl.col("_stype").is_not_null()).then(t.list.slice(0, t.list.len() - 1))
                         .otherwise(t).list.join(" ").alias("_street"))
    unit = pl.col("_unit").str.replace_all(r"[^A-Z0-9]", "").str.replace(r"^0+(\d)", "$1")
    lf = lf.with_columns(
        pl.col("_house").alias(f"{prefix}house"), pl.col("_fraction").alias(f"{prefix}fraction"),
        pl.col("_predir").alias(f"{prefix}predir"),
        _nonempty_expr(pl.col("_street")).alias(f"{prefix}street"),
        pl.col("_stype").alias(f"{prefix}stype"), pl.col("_postdir").alias(f"{prefix}postdir"),
        _nonempty_expr(unit).alias(f"{prefix}unit"), pl.col("_po").alias(f"{prefix}po_box"),
    ).drop("_house", "_fraction", "_predir", "_street", "_stype", "_postdir", "_unit", "_po", "_t", "_bare")
    return lf if lazy else lf.collect()


def _nonempty_expr(e: pl.Expr) -> pl.Expr:
    return pl.when(e.str.len_chars() > 0).then(e).otherwise(None)


def clean_city(expr: pl.Expr) -> pl.Expr:
    """Clean a city as written (upper case, letters only, no "City of"); null when empty."""
    c = clean_text(expr).str.replace_all(r"[^A-Z ]", " ").str.replace_all(r"\s+", " ").str.strip_chars()
    c = c.str.replace(r"^(?:CITY OF|CITY)\s+", "")
    return pl.when(c.str.len_chars() > 0).then(c).otherwise(None)


def normalize_city(expr: pl.Expr) -> pl.Expr:
    """Clean a city and map neighbourhood / abbreviated names to the city."""
    return clean_city(expr).replace(tables.city_aliases())


def normalize_zip(expr: pl.Expr) -> pl.Expr:
    """First five digits of a ZIP / ZIP+4; null when fewer than five digits."""
    z = expr.cast(pl.String).str.replace_all(r"[^0-9]", "").str.slice(0, 5)
    return pl.when(z.str.len_chars() == 5).then(z).otherwise(None)


def voter_address_text(df_schema: set[str]) -> pl.Expr:
    """Reassemble a voter file's address parts into one line for :func:`parse_address`."""
    parts = ["house_number", "house_fraction", "street_dir", "street_name", "street_type",
             "street_post_dir"]
    exprs = [pl.col(c).cast(pl.String).fill_null("") for c in parts if c in df_schema]
    if "unit_number" in df_schema:
        ut = pl.col("unit_type").cast(pl.String).fill_null("") if "unit_type" in df_schema else pl.lit("")
        un = pl.col("unit_number").cast(pl.String).fill_null("").str.replace_all(r"^\s*#\s*", "")
        exprs.append(pl.when(un.str.strip_chars() != "").then(
            pl.concat_str([pl.when(ut.str.strip_chars() != "").then(ut).otherwise(pl.lit("#")), un], separator=" ")
        ).otherwise(pl.lit("")))
    return pl.concat_str(exprs, separator=" ")
