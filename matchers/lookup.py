"""Interactive voter look-up for the GUI's type-ahead (one query, milliseconds).

:class:`VoterIndex` sorts the prepared voter file once by surname key, by
first-name key and by "house number + street" key; a query becomes a few
binary searches for prefix ranges, and only the rows in those ranges are
scored with rapidfuzz. Build the index once per voter file (a second or
two for 2.1 M voters) and keep it.
"""
from __future__ import annotations

import numpy as np
import polars as pl
from rapidfuzz import process
from rapidfuzz.distance import JaroWinkler

from matchers import normalize as N

#: Rows taken from one prefix range before scoring (keeps a query bounded).
MAX_RANGE = 2000

_DISPLAY = ("voter_id", "first_name", "middle_name", "last_name", "suffix", "city", "zip", "status")


def _upper_bound(prefix: str) -> str:
    return prefix + "\U0010ffff"


class VoterIndex:
    """Prefix indexes over a prepared voter frame.

    Parameters
    ----------
    voters : pl.DataFrame
        Output of :func:`matchers.prepare_voters`.
    """

    def __init__(self, voters: pl.DataFrame):
        self.voters = voters
        keys = voters.select(
            pl.col("k_last").fill_null(""),
            pl.col("k_first").fill_null(""),
            pl.concat_str([pl.col("a_house").fill_null(""), pl.col("a_street_key").fill_null("")], separator=" ")
            .alias("addr"),
        )
        self._idx = {}
        for col in ("k_last", "k_first", "addr"):
            order = keys[col].arg_sort()
            self._idx[col] = (keys[col].gather(order), order.to_numpy())
        # a narrow frame of what a query shows and scores, built once, so a
        # query gathers a few columns of a few thousand rows
        self._rows = voters.select(
            *[pl.col(c) for c in _DISPLAY if c in voters.columns],
            (pl.col("k_first").fill_null("") + pl.lit(" ") + pl.col("k_last").fill_null("")).alias("_name"),
            N.voter_address_text(set(voters.columns)).str.replace_all(r"\s+", " ").str.strip_chars().alias("address"),
            keys["addr"].alias("_akey"),
        )

    def _range(self, col: str, prefix: str) -> np.ndarray:
        """Row positions whose `col` key starts with `prefix` (a view, uncapped)."""
        keys, order = self._idx[col]
        lo = int(keys.search_sorted(prefix, side="left"))
        hi = int(keys.search_sorted(_upper_bound(prefix), side="left"))
        return order[lo:hi]

    def lookup(self, *, name: str = "", address: str = "", limit: int = 20) -> pl.DataFrame:
        """Voters best matching a partly typed name and/or address.

        Parameters
        ----------
        name : str
            Free text, any order ("garcia mar", "Maria Gar").
        address : str
            Free text starting with the house number ("1234 mai").
        limit : int
            Rows returned at most.

        Returns
        -------
        pl.DataFrame, shape (<= limit, 10)
            ``voter_id``, names, ``address`` (one line), ``city``, ``zip``,
            ``status``, ``score`` (0..1, best first).
        """
        name_toks = _tokens(name)
        rows: list[np.ndarray] = []
        if name_toks:
            toks = sorted(name_toks, key=len, reverse=True)[:2]
            if len(toks) == 1:
                t = toks[0]
                hit = np.concatenate([self._range("k_last", t)[:MAX_RANGE], self._range("k_first", t)[:MAX_RANGE]])
            else:
                # "garcia mar" / "maria garc": one word a surname prefix, the
                # other a first-name prefix, in either order
                a, b = toks
                hit = np.concatenate([
                    np.intersect1d(self._range("k_last", a), self._range("k_first", b), assume_unique=True),
                    np.intersect1d(self._range("k_last", b), self._range("k_first", a), assume_unique=True),
                ])[:MAX_RANGE]
            rows.append(hit)
        addr_q = " ".join(_tokens(address, keep_digits=True))
        if addr_q:
            # the query goes through the same parser as the file: "5th",
            # "Fifth" and "N." become the stored keys
            p = N.parse_address(pl.DataFrame({"a": [addr_q]}), "a").row(0, named=True)
            if p["house"]:
                key = p["house"] + " " + (p["street"] or "").replace(" ", "")
            else:
                key = addr_q.replace(" ", "")
            rows.append(self._range("addr", key.rstrip() if not p["street"] else key)[:MAX_RANGE])
        if not rows:
            return self._empty()
        idx = np.unique(np.concatenate(rows)) if len(rows) > 1 else rows[0]
        if len(idx) == 0:
            return self._empty()
        cand = self._rows[idx]
        score = np.zeros(cand.height)
        n_parts = 0
        if name_toks:
            # share of typed words that start a word of the name, plus a
            # Jaro-Winkler tie-break on the whole name for typos
            hits = cand.select(pl.mean_horizontal(
                [pl.col("_name").str.contains("(?:^| )" + t).cast(pl.Float64) for t in name_toks]))
            jw = process.cdist([" ".join(name_toks)], cand["_name"].to_list(),
                               scorer=JaroWinkler.normalized_similarity, workers=-1)[0]
            score += 0.8 * hits.to_series().to_numpy() + 0.2 * np.asarray(jw)
            n_parts += 1
        if addr_q:
            starts = cand["_akey"].str.starts_with(key).to_numpy().astype(np.float64)
            jw = process.cdist([key], cand["_akey"].str.slice(0, len(key) + 2).to_list(),
                               scorer=JaroWinkler.normalized_similarity, workers=-1)[0]
            score += np.maximum(starts, 0.9 * np.asarray(jw))
            n_parts += 1
        cand = cand.with_columns(pl.Series("score", score / max(n_parts, 1)))
        return cand.sort("score", descending=True).head(limit).drop("_name", "_akey")

    def _empty(self) -> pl.DataFrame:
        schema: dict[str, type[pl.DataType]] = {c: pl.String for c in _DISPLAY}
        schema.update({"address": pl.String, "score": pl.Float64})
        return pl.DataFrame(schema=schema)


def _tokens(text: str, keep_digits: bool = False) -> list[str]:
    import re
    import unicodedata

    t = unicodedata.normalize("NFKD", text or "")
    t = "".join(ch for ch in t if not unicodedata.combining(ch)).upper()
    t = re.sub(r"['`’]", "", t)
    t = re.sub(r"[^A-Z0-9 ]" if keep_digits else r"[^A-Z ]", " ", t)
    return [w for w in t.split() if w]


def lookup(voters: pl.DataFrame | VoterIndex, *, name: str = "", address: str = "", limit: int = 20) -> pl.DataFrame:
    """One-off look-up; build a :class:`VoterIndex` once for repeated queries."""
    index = voters if isinstance(voters, VoterIndex) else VoterIndex(voters)
    return index.lookup(name=name, address=address, limit=limit)
