"""Voter records as a reviewer may see them, and a voter-file search.

Party, race and ethnicity are never shown (2 CCR §20960): a record is
restricted to :data:`VOTER_DISPLAY_COLUMNS`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

from petitions.store import Workspace
from petitions.store import review as review_db

#: What a reviewer may see of a voter record. Party, race and ethnicity are
#: deliberately absent: they must never be shown while comparing.
VOTER_DISPLAY_COLUMNS = (
    "voter_id", "first_name", "middle_name", "last_name", "suffix", "house_number", "house_fraction",
    "street_dir", "street_name", "street_type", "street_post_dir", "unit_type", "unit_number", "city", "zip",
    "status", "registration_date", "precinct", "district",
)


_FORBIDDEN = frozenset({"party", "race", "ethnicity", "party_code", "party_affiliation"})


class VoterDirectory:
    """The active voter file, loaded once, restricted to what may be shown.

    Rows are kept sorted by ``voter_id`` so :meth:`get` is a binary search;
    a loaded directory is immutable and may be shared between threads.
    """

    def __init__(self, frame: pl.DataFrame, *, voter_file_id: int | None = None):
        cols = [c for c in VOTER_DISPLAY_COLUMNS if c in frame.columns]
        keys = [c for c in ("k_first", "k_last", "a_street_key", "a_house", "k_zip") if c in frame.columns]
        df = frame.select([pl.col(c).cast(pl.Utf8) if c in cols else pl.col(c) for c in cols + keys])
        assert not (_FORBIDDEN & set(df.columns))
        self.frame = df.with_columns(pl.col("voter_id").cast(pl.Utf8)).sort("voter_id")
        self._ids = self.frame["voter_id"]
        self.voter_file_id = voter_file_id
        self.display_columns = tuple(cols)
        self._index = None

    @classmethod
    def open(cls, ws: Workspace) -> "VoterDirectory | ServerVoterDirectory | None":
        """The workspace's active voter file, or None when none is imported.

        A reviewer's or auditor's login on a server gets a
        :class:`ServerVoterDirectory` instead: the database hands it voter
        records case by case and bounded look-ups, never the file.
        """
        row = review_db.active_voter_file(ws)
        if not row:
            return None
        if review_db.reads_voters_through_server(ws):
            return ServerVoterDirectory(ws, voter_file_id=int(row["id"]))
        path = ws.root / row["parquet_path"]
        schema = pl.read_parquet_schema(path)
        wanted = [c for c in (*VOTER_DISPLAY_COLUMNS, "k_first", "k_last", "a_street_key", "a_house", "k_zip")
                  if c in schema]
        return cls(pl.read_parquet(path, columns=wanted), voter_file_id=int(row["id"]))

    @property
    def height(self) -> int:
        return self.frame.height

    def get(self, voter_ids: list[str]) -> dict[str, dict]:
        """Display records by voter id (unknown ids are left out)."""
        out = {}
        for vid in voter_ids:
            i = int(self._ids.search_sorted(vid, side="left"))
            if i < self.frame.height and self._ids[i] == vid:
                out[vid] = {c: self.frame[c][i] for c in self.display_columns}
        return out

    def search(self, *, name: str = "", address: str = "", zip: str = "", limit: int = 50) -> pl.DataFrame:
        """Voters whose name and/or address start with what was typed.

        Name words match given or family names by prefix, in any order
        ("garc mar" finds Maria Garcia); the address starts with the house
        number. A prepared voter file is searched with the matcher's ranked
        prefix index (:class:`matchers.lookup.VoterIndex`, adds ``score``);
        otherwise a plain prefix filter. Returns at most `limit` rows of
        :data:`VOTER_DISPLAY_COLUMNS`.
        """
        index = self._voter_index()
        if index is not None and (name.strip() or address.strip()):
            found = index.lookup(name=name, address=address, limit=limit * 4 if zip.strip() else limit)
            if zip.strip() and "zip" in found.columns:
                found = found.filter(pl.col("zip").cast(pl.Utf8).fill_null("").str.starts_with(zip.strip()))
            found = found.head(limit)
            ids = found.select(pl.col("voter_id").cast(pl.Utf8), "score")
            return (ids.join(self.frame.select(self.display_columns), on="voter_id", how="left", maintain_order="left")
                    .select(*self.display_columns, pl.col("score").round(3)))
        return self._plain_search(name=name, address=address, zip=zip, limit=limit)

    def _voter_index(self):
        """The matcher's prefix index (:class:`matchers.lookup.VoterIndex`),
        built once on first use; None when the frame lacks its match keys."""
        if self._index is None:
            try:
                from matchers.lookup import VoterIndex
            except ImportError:
                self._index = False
            else:
                need = {"k_first", "k_last", "a_house", "a_street_key"}
                self._index = VoterIndex(self.frame) if need <= set(self.frame.columns) else False
        return self._index or None

    def _plain_search(self, *, name: str, address: str, zip: str, limit: int) -> pl.DataFrame:
        """Prefix filter for voter frames without match keys (not prepared)."""
        expr = pl.lit(True)
        f = self.frame
        for w in _tokens(name):
            w_expr = pl.lit(False)
            for c in ("first_name", "middle_name", "last_name"):
                if c in f.columns:
                    w_expr = w_expr | pl.col(c).fill_null("").str.to_uppercase().str.contains(rf"(^|[ \-]){re.escape(w)}")
            expr = expr & w_expr
        for w in _tokens(address):
            if w.isdigit() and "house_number" in f.columns:
                expr = expr & (pl.col("house_number").fill_null("") == w)
            else:
                w_expr = pl.lit(False)
                for c in ("street_dir", "street_name", "street_type", "unit_number"):
                    if c in f.columns:
                        w_expr = w_expr | pl.col(c).fill_null("").str.to_uppercase().str.starts_with(w)
                expr = expr & w_expr
        if zip.strip() and "zip" in f.columns:
            expr = expr & pl.col("zip").fill_null("").str.starts_with(zip.strip())
        if not (_tokens(name) or _tokens(address) or zip.strip()):
            return f.select(self.display_columns).head(0)
        return f.filter(expr).select(self.display_columns).head(limit)


class ServerVoterDirectory:
    """The active voter file as a reviewer's login reads it on a server.

    Same calls as :class:`VoterDirectory`; :meth:`get` returns only voters
    tied to the petition's lines and :meth:`search` at most 25 rows a call
    (every call logged by the server under the login): the database's
    functions decide (petitions.store.server.review_reads_ddl). It holds the
    connection it was opened on; use it from that connection's thread.
    """

    def __init__(self, ws: Workspace, *, voter_file_id: int):
        self._ws = ws
        self.voter_file_id = voter_file_id
        self.display_columns = VOTER_DISPLAY_COLUMNS
        self._height = review_db.active_voter_rows(ws)

    @property
    def height(self) -> int:
        return self._height

    def get(self, voter_ids: list[str]) -> dict[str, dict]:
        """Display records by voter id (ids not tied to a line are left out)."""
        return {str(r["voter_id"]): {c: r.get(c) for c in self.display_columns}
                for r in review_db.voter_records(self._ws, voter_ids)}

    def search(self, *, name: str = "", address: str = "", zip: str = "", limit: int = 50) -> pl.DataFrame:
        """Voters whose name and/or address start with what was typed (at
        most 25 rows; a ZIP alone finds nothing)."""
        empty = pl.DataFrame(schema={c: pl.Utf8 for c in self.display_columns})
        if not (_tokens(name) or _tokens(address)):
            return empty
        rows = review_db.lookup_voters(self._ws, name=name, address=address, zip=zip, limit=limit)
        if not rows:
            return empty
        return pl.DataFrame([{c: r.get(c) for c in self.display_columns} for r in rows],
                            schema={c: pl.Utf8 for c in self.display_columns})


@dataclass(frozen=True)
class Exemplar:
    """One signature on file for a voter."""

    image_hash: str
    captured_date: str | None
    source: str | None
    best: bool = False


@dataclass(frozen=True)
class FieldDiff:
    """One field of the keyed line beside the voter record, as the matcher sees it.

    ``agreement`` is the matcher's level (:func:`matchers.explain.explain_fields`):
    ``exact``, ``equivalent`` (the same under ``rule``: unit designator, city
    alias, street type, nickname, maternal surname, …; never a ground to
    reject), ``different`` (can matter) or ``missing`` (nothing keyed).
    ``differing`` lists the voter-record words the keyed text lacks, for
    highlighting a ``different`` field.
    """

    name: str
    keyed: str
    voter: str
    agreement: str
    differing: tuple[str, ...] = ()
    rule: str | None = None

    @property
    def matters(self) -> bool:
        """Only a difference that can matter is shown as one (in red)."""
        return self.agreement == "different"


def _exemplars(ws: Workspace, voter_ids: list[str], best: str | None = None) -> dict[str, list[Exemplar]]:
    return {v: [Exemplar(r["image_hash"], r["captured_date"], r["source"], best=r["image_hash"] == best)
                for r in rows] for v, rows in review_db.exemplars(ws, voter_ids).items()}


def _tokens(text: str | None) -> list[str]:
    return re.findall(r"[A-Z0-9½/#]+", (text or "").upper().replace("'", ""))


def _full_name(rec: dict | None) -> str:
    if not rec:
        return ""
    return " ".join(str(rec[k]) for k in ("first_name", "middle_name", "last_name", "suffix") if rec.get(k))


def _street_address(rec: dict | None) -> str:
    if not rec:
        return ""
    num = " ".join(str(rec[k]) for k in ("house_number", "house_fraction") if rec.get(k))
    street = " ".join(str(rec[k]) for k in ("street_dir", "street_name", "street_type", "street_post_dir") if rec.get(k))
    unit = " ".join(str(rec[k]) for k in ("unit_type", "unit_number") if rec.get(k))
    return ", ".join(p for p in (f"{num} {street}".strip(), unit) if p)


_RECORD_COLUMNS = ("first_name", "middle_name", "last_name", "suffix", "house_number", "house_fraction", "street_dir",
                   "street_name", "street_type", "street_post_dir", "unit_type", "unit_number", "city", "zip")


def compare_fields(keyed: dict | None, record: dict | None) -> tuple[FieldDiff, ...]:
    """The keyed name, address, city and zip beside the voter record's, each
    with the matcher's level and rule (:func:`matchers.explain.explain_fields`:
    one comparator for the whole product).

    Returns one :class:`FieldDiff` per field; used to show differences, never
    to decide (the matcher's levels and the rule set decide).
    """
    return compare_candidates(keyed, [record])[0]


def compare_candidates(keyed: dict | None, records: list[dict | None]) -> list[tuple[FieldDiff, ...]]:
    """:func:`compare_fields` for every candidate record of a line, in one
    batch call into the matcher; ``()`` for a missing record."""
    from matchers.explain import explain_fields

    present = [r for r in records if r]
    if not present:
        return [() for _ in records]
    k = keyed or {}
    fields = ("name", "address", "city", "zip")
    kf = pl.DataFrame({f: [None if k.get(f) is None else str(k.get(f))] * len(present) for f in fields},
                      schema={f: pl.String for f in fields})
    vf = pl.DataFrame({c: [None if r.get(c) is None else str(r.get(c)) for r in present] for c in _RECORD_COLUMNS},
                      schema={c: pl.String for c in _RECORD_COLUMNS})
    levels = iter(explain_fields(kf, vf).iter_rows(named=True))
    out: list[tuple[FieldDiff, ...]] = []
    for record in records:
        if not record:
            out.append(())
            continue
        lv = next(levels)
        shown = {"name": ("Name", _full_name(record)), "address": ("Address", _street_address(record)),
                 "city": ("City", str(record.get("city") or "")), "zip": ("Zip", str(record.get("zip") or "")[:5])}
        diffs = []
        for f, (title, voter) in shown.items():
            level, rule = lv[f"{f}_level"], lv[f"{f}_rule"]
            keyed_text = str(k.get(f) or "").strip()
            differing: tuple[str, ...] = ()
            if level == "different":
                kset = set(_tokens(keyed_text))
                differing = tuple(w for w in voter.split() if not set(_tokens(w)) <= kset)
            diffs.append(FieldDiff(title, keyed_text, voter, level, differing, rule))
        out.append(tuple(diffs))
    return out
