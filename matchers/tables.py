"""Reference tables shipped as package data (``matchers/data/*.csv``).

Every table is plain CSV with ``#`` comment lines stating its source and
licence, so a county can read, audit and extend it. Tables are loaded on
first use and cached; nothing is read at import time.
"""
from __future__ import annotations

import functools
import importlib.resources
import io

import polars as pl


def _read(name: str) -> pl.DataFrame:
    text = importlib.resources.files("matchers").joinpath("data", name).read_text("utf-8")
    body = "\n".join(line for line in text.splitlines() if line.strip() and not line.startswith("#"))
    return pl.read_csv(io.StringIO(body), infer_schema=False)


@functools.cache
def street_suffixes() -> dict[str, str]:
    """USPS Pub 28 C1: written street suffix -> standard abbreviation."""
    df = _read("usps_street_suffixes.csv")
    return dict(zip(df["written"], df["standard"]))


@functools.cache
def directions() -> dict[str, str]:
    """USPS Pub 28 directionals: written -> N, S, E, W, NE, ..."""
    df = _read("usps_directions.csv")
    return dict(zip(df["written"], df["standard"]))


@functools.cache
def unit_designators() -> dict[str, str]:
    """USPS Pub 28 C2: written secondary unit designator -> standard."""
    df = _read("usps_units.csv")
    return dict(zip(df["written"], df["standard"]))


@functools.cache
def ordinals() -> dict[str, str]:
    """Numbered-street words -> numerals (FIFTH -> 5)."""
    df = _read("ordinals.csv")
    return dict(zip(df["word"], df["numeral"]))


@functools.cache
def city_aliases() -> dict[str, str]:
    """Neighbourhood / abbreviated city name -> city (HOLLYWOOD -> LOS ANGELES)."""
    df = _read("city_aliases.csv")
    return dict(zip(df["alias"], df["city"]))


@functools.cache
def nicknames() -> pl.DataFrame:
    """(name, canonical) rows; see ``data/nicknames.csv`` for the licence."""
    return _read("nicknames.csv")


@functools.cache
def nickname_pairs() -> pl.DataFrame:
    """Every ordered pair of distinct first names sharing a canonical name.

    Returns
    -------
    pl.DataFrame
        Columns ``a``, ``b`` (str) and ``nick`` (bool, always true), for a
        join against candidate pairs.
    """
    nk = nicknames()
    pairs = (
        nk.join(nk, on="canonical", suffix="_b")
        .filter(pl.col("name") != pl.col("name_b"))
        .select(pl.col("name").alias("a"), pl.col("name_b").alias("b"))
        .unique()
        .with_columns(pl.lit(True).alias("nick"))
    )
    return pairs
