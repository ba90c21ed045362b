"""Voter-file import: county exports -> the standard columns -> match keys.

:func:`read_voter_file` reads CSV (any delimiter, UTF-8, Latin-1 or a mix of
the two), fixed-width text with a layout file, or Parquet; renames columns
through an optional mapping; validates every row and reports every problem
with file, row and column. :func:`prepare_voters` adds the normalised match
keys and term frequencies the matcher uses; its output is what a workspace
stores as its columnar copy.
"""
from __future__ import annotations

import codecs
import csv
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from matchers import normalize as N
from matchers import tables
from matchers.errors import VoterFileError

#: The standard voter-file schema (shared/CONTRACT.md).
STANDARD_COLUMNS = (
    "voter_id", "first_name", "middle_name", "last_name", "suffix", "house_number",
    "house_fraction", "street_dir", "street_name", "street_type", "street_post_dir",
    "unit_type", "unit_number", "city", "zip", "birth_date", "registration_date", "status",
    "party", "precinct", "district",
)
REQUIRED_COLUMNS = ("voter_id", "first_name", "last_name", "house_number", "street_name")
DATE_COLUMNS = ("birth_date", "registration_date")
STATUSES = {"active": "active", "a": "active", "act": "active", "inactive": "inactive", "i": "inactive",
            "inact": "inactive", "cancelled": "cancelled", "canceled": "cancelled", "c": "cancelled",
            "can": "cancelled", "cancel": "cancelled"}
#: Longest value accepted in a text column of a voter file.
MAX_FIELD_CHARS = 500
#: Columns :func:`prepare_voters` adds (all start with ``k_``, ``a_`` or ``tf_``);
#: bumped whenever they change (2: ``tf_name``), so older copies are re-prepared.
PREPARED_VERSION = "voters-prepared/2"


def _latin1_fallback(err: UnicodeError) -> tuple[str, int]:
    # A byte that is not UTF-8 is read as Latin-1: county exports mix the two.
    if not isinstance(err, UnicodeDecodeError):  # registered for decoding only
        raise err
    return err.object[err.start:err.end].decode("latin-1"), err.end


codecs.register_error("sigverify_latin1", _latin1_fallback)


def _decode(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    return data.decode("utf-8", errors="sigverify_latin1")


def _sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", "\t", "|", ";")}
    best = max(counts, key=counts.__getitem__)
    return best if counts[best] > 0 else ","


def load_mapping(mapping: dict | str | os.PathLike | None) -> dict[str, str]:
    """Read a column mapping: county header -> standard column.

    Accepts a dict, a JSON file (an object) or a two-column CSV file
    (``source,standard``). Either direction is understood: when the keys are
    standard column names and the values are not, the mapping is inverted.
    """
    if mapping is None:
        return {}
    if not isinstance(mapping, dict):
        path = Path(mapping)
        try:
            text = _decode(path.read_bytes())
        except OSError as exc:
            raise VoterFileError(f"cannot read the column mapping ({exc.strerror})", path=str(path)) from None
        if path.suffix.lower() == ".json":
            try:
                mapping = json.loads(text)
            except json.JSONDecodeError as exc:
                raise VoterFileError(f"not valid JSON at line {exc.lineno}, column {exc.colno}", path=str(path)) from None
            if not isinstance(mapping, dict):
                raise VoterFileError("expected a JSON object {\"county header\": \"standard column\"}", path=str(path))
        else:
            rows = [r for r in csv.reader(io.StringIO(text)) if r and any(c.strip() for c in r)]
            if rows and [c.strip().lower() for c in rows[0][:2]] in (["source", "standard"], ["standard", "source"]):
                flip = rows[0][0].strip().lower() == "standard"
                rows = [[r[1], r[0]] if flip else r for r in rows[1:]]
            bad = [i + 1 for i, r in enumerate(rows) if len(r) < 2]
            if bad:
                raise VoterFileError("each mapping row needs two columns: county header, standard column",
                                     path=str(path), problems=[f"row {i}" for i in bad])
            mapping = {r[0].strip(): r[1].strip() for r in rows}
    mapping = {str(k): str(v) for k, v in mapping.items()}
    std = set(STANDARD_COLUMNS)
    keys_std = sum(k in std for k in mapping)
    vals_std = sum(v in std for v in mapping.values())
    if keys_std > vals_std:
        mapping = {v: k for k, v in mapping.items()}
    return mapping


def _read_layout(layout) -> list[tuple[str, int, int]]:
    if isinstance(layout, (str, os.PathLike)):
        path = Path(layout)
        try:
            text = path.read_text("utf-8")
        except OSError as exc:
            raise VoterFileError(f"cannot read the fixed-width layout ({exc.strerror})", path=str(path)) from None
        if path.suffix.lower() == ".json":
            layout = json.loads(text)
        else:
            rows = list(csv.DictReader(io.StringIO(text)))
            layout = rows
    if isinstance(layout, dict):
        layout = layout.get("columns", layout)
        if isinstance(layout, dict):
            layout = [{"name": k, **v} for k, v in layout.items()]
    out = []
    for i, spec in enumerate(layout):
        try:
            out.append((str(spec["name"]), int(spec["start"]), int(spec["width"])))
        except (KeyError, TypeError, ValueError):
            raise VoterFileError(f"layout entry {i + 1} needs name, start (1-based) and width") from None
    return out


def _read_raw(path: Path, layout, *, ragged: list | None = None) -> tuple[pl.DataFrame, int]:
    """Return all-string columns and the file line number of the first data row.

    With `ragged` (a list), rows of delimited text whose number of fields
    differs from the header's are left out and appended to it as
    ``(file row, fields found, fields expected)``, and the frame gains a
    ``_file_row`` column (each row's line number in the file); without it a
    row with too many fields is an error, as before."""
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        try:
            df = pl.read_parquet(path)
        except Exception as exc:  # noqa: BLE001 - any reader failure is the file's problem
            raise VoterFileError(f"not a readable Parquet file ({exc.__class__.__name__})", path=str(path)) from None
        return df.with_columns(pl.all().cast(pl.String)), 1
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise VoterFileError(f"cannot read the voter file ({exc.strerror})", path=str(path)) from None
    text = _decode(data)
    if not text.strip():
        raise VoterFileError("the voter file is empty", path=str(path))
    if layout is not None:
        spec = _read_layout(layout)
        lines = pl.DataFrame({"_line": text.splitlines()}).filter(pl.col("_line").str.strip_chars() != "")
        df = lines.select([
            pl.col("_line").str.slice(start - 1, width).str.strip_chars().alias(name) for name, start, width in spec
        ])
        return df, 1
    first_line = text.split("\n", 1)[0]
    sep = _sniff_delimiter(first_line)
    if ragged is not None:
        return _read_delimited_reporting(path, text, sep, ragged), 2
    try:
        df = pl.read_csv(io.BytesIO(text.encode("utf-8")), separator=sep, infer_schema=False,
                         truncate_ragged_lines=False)
    except pl.exceptions.PolarsError as exc:
        msg = str(exc).splitlines()[0][:200]
        raise VoterFileError(f"cannot parse as delimited text ({msg})", path=str(path)) from None
    df = df.rename({c: c.strip().lstrip("\ufeff") for c in df.columns})
    return df, 2


def _read_delimited_reporting(path: Path, text: str, sep: str, ragged: list) -> pl.DataFrame:
    """Delimited text with every row's file line number; ragged rows set aside.

    Without quote characters (the usual county export) fields are counted
    per line in one vectorized pass; with them the csv module reads the
    records (a quoted field may hold the delimiter or a line break)."""
    if '"' not in text:
        lines = pl.DataFrame({"_text": text.split("\n")}).with_row_index("_file_row", offset=1)
        lines = lines.with_columns(pl.col("_text").str.strip_chars_end("\r"))
        all_lines = lines.height
        lines = lines.filter(pl.col("_text").str.strip_chars() != "")
        # a final newline leaves one empty line; any other means blank lines inside
        inner_blank = all_lines - lines.height > (1 if text.endswith("\n") else 0)
        fields = pl.col("_text").str.count_matches(sep, literal=True) + 1
        lines = lines.with_columns(fields.alias("_fields"))
        expected = int(lines["_fields"][0])
        bad = lines.slice(1).filter(pl.col("_fields") != expected)
        if bad.height == 0 and not inner_blank:
            # clean, no blank lines: the CSV reader, each row's line number its index + 2
            df = pl.read_csv(io.BytesIO(text.encode("utf-8")), separator=sep, infer_schema=False)
            df = df.rename({c: c.strip().lstrip("\ufeff") for c in df.columns})
            return df.with_row_index("_file_row", offset=2)
        ragged.extend((int(r), int(f), expected) for r, f in zip(bad["_file_row"], bad["_fields"]))
        good = lines.slice(1).filter(pl.col("_fields") == expected)
        header = [h.strip().lstrip("\ufeff") for h in lines["_text"][0].split(sep)]
        if good.height == 0:
            return pl.DataFrame({h: [] for h in header}, schema={h: pl.String for h in header}).with_columns(
                pl.lit(None, dtype=pl.UInt32).alias("_file_row"))
        split = good.select(pl.col("_text").str.split_exact(sep, expected - 1).alias("_s"), "_file_row")
        df = split.unnest("_s").rename({f"field_{i}": h for i, h in enumerate(header)})
        return df.select(header + ["_file_row"])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    try:
        header = [h.strip().lstrip("\ufeff") for h in next(reader)]
        columns: list[list] = [[] for _ in header]
        rows: list[int] = []
        start = reader.line_num + 1
        for rec in reader:
            row = start
            start = reader.line_num + 1
            if not rec or (len(rec) == 1 and not rec[0].strip()):
                continue
            if len(rec) != len(header):
                ragged.append((row, len(rec), len(header)))
                continue
            rows.append(row)
            for col, value in zip(columns, rec):
                col.append(value)
    except csv.Error as exc:
        raise VoterFileError(f"cannot parse as delimited text (row {reader.line_num}: {exc})", path=str(path)) from None
    df = pl.DataFrame({h: c for h, c in zip(header, columns)}, schema={h: pl.String for h in header})
    return df.with_columns(pl.Series("_file_row", rows, dtype=pl.UInt32))


@dataclass(frozen=True)
class VoterFileProblem:
    """One bad row of a voter file: where (file, row, column) and what."""

    path: str
    row: int
    column: str
    problem: str
    value: str | None = None

    def __str__(self) -> str:
        got = f" (got {self.value[:30]!r})" if self.value else ""
        return f"{self.path} row {self.row}, column {self.column}: {self.problem}{got}"


@dataclass
class VoterFileRead:
    """What :func:`read_voter_file_checked` found: the good rows and every problem.

    ``voters`` holds only rows without a problem (the standard columns as
    :func:`read_voter_file` returns them); ``problems`` names every bad
    row's file, row and column; ``rows_read`` counts the file's data rows,
    good and bad; ``rows_quarantined`` the bad rows set aside.
    """

    voters: pl.DataFrame
    problems: list[VoterFileProblem] = field(default_factory=list)
    rows_read: int = 0

    @property
    def rows_quarantined(self) -> int:
        return len({p.row for p in self.problems})


def read_voter_file_checked(path, *, mapping: dict | str | os.PathLike | None = None, layout=None) -> VoterFileRead:
    """Read a county voter-file export, setting bad rows aside instead of failing.

    As :func:`read_voter_file`, except that rows with problems — a ragged
    row (more or fewer fields than the header), a blank or repeated voter
    id, a blank last name, an unknown status, a bad ZIP or date, an
    over-long value — are quarantined: left out of ``voters`` and listed in
    ``problems`` with the file, row and column. A voter id that appears on
    several rows quarantines all of them (which one is right is for a
    person to say). Problems with the file as a whole (unreadable, wrong
    headers, no rows) still raise :class:`VoterFileError`.

    Returns
    -------
    VoterFileRead
    """
    path = Path(path)
    ragged: list = []
    df, first_row = _read_raw(path, layout, ragged=ragged)
    if "_file_row" not in df.columns:
        df = df.with_row_index("_file_row", offset=first_row)
    file_rows = df["_file_row"]
    df = _standardize(df.drop("_file_row"), path, mapping, allow_empty=bool(ragged))
    problems = [VoterFileProblem(str(path), r, "(row)", f"{found} fields where the header has {expected}")
                for r, found, expected in ragged]
    flags = _flag_problems(df)
    bad_rows: set[int] = set()
    for col, what, idx in flags:
        for i in idx:
            val = df[col][i]
            problems.append(VoterFileProblem(str(path), int(file_rows[i]), col, what,
                                             val if isinstance(val, str) and col != "voter_id" else None))
            bad_rows.add(i)
    problems.sort(key=lambda p: (p.row, p.column))
    rows_read = df.height + len(ragged)
    if bad_rows:
        keep = pl.Series([i not in bad_rows for i in range(df.height)])
        df = df.filter(keep)
    return VoterFileRead(_finish(df), problems, rows_read)


def _standardize(df: pl.DataFrame, path: Path, mapping, *, allow_empty: bool = False) -> pl.DataFrame:
    """Rename to the standard columns, add the missing ones, strip values (all strings)."""
    mp = load_mapping(mapping)
    if mp:
        missing_src = [k for k in mp if k not in df.columns]
        present = {k: v for k, v in mp.items() if k in df.columns}
        df = df.rename(present)
        if missing_src and not all(v in df.columns for k, v in mp.items() if k in missing_src):
            raise VoterFileError("the column mapping names headers that are not in the file",
                                 path=str(path), problems=[f"column {k!r}" for k in missing_src])
    df = df.rename({c: c.strip().lower() for c in df.columns if c.strip().lower() in STANDARD_COLUMNS})
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise VoterFileError(
            "wrong headers: missing required column(s) " + ", ".join(missing)
            + f"; found {', '.join(df.columns[:12])}{'...' if len(df.columns) > 12 else ''}"
            + " (use a column mapping for county exports with other headers)",
            path=str(path),
        )
    if df.height == 0 and not allow_empty:
        raise VoterFileError("the voter file has a header but no voters", path=str(path))
    for c in STANDARD_COLUMNS:
        if c not in df.columns:
            df = df.with_columns(pl.lit(None, dtype=pl.String).alias(c))
    df = df.with_columns([pl.col(c).cast(pl.String).str.strip_chars() for c in STANDARD_COLUMNS])
    return df.with_columns([pl.when(pl.col(c) != "").then(pl.col(c)).alias(c) for c in STANDARD_COLUMNS])


def _finish(df: pl.DataFrame) -> pl.DataFrame:
    """Parse dates and statuses of validated rows; standard columns first."""
    df = df.with_columns(
        [_parse_date(pl.col(c)).alias(c) for c in DATE_COLUMNS]
        + [pl.col("status").str.to_lowercase().replace_strict(STATUSES, default=None).fill_null("active").alias("status")]
    )
    extra = [c for c in df.columns if c not in STANDARD_COLUMNS]
    return df.select(list(STANDARD_COLUMNS) + extra)


def read_voter_file(path, *, mapping: dict | str | os.PathLike | None = None, layout=None) -> pl.DataFrame:
    """Read a county voter-file export into the standard columns.

    Parameters
    ----------
    path : str or path-like
        CSV / TSV / pipe-delimited text (delimiter sniffed; UTF-8, Latin-1
        or mixed), fixed-width text (with `layout`), or Parquet.
    mapping : dict or path, optional
        County header -> standard column (JSON object or two-column CSV).
    layout : list, dict or path, optional
        Fixed-width layout: entries ``{"name", "start" (1-based), "width"}``
        as JSON, or a CSV with those headers.

    Returns
    -------
    pl.DataFrame
        One row per voter: the standard columns (strings; ``birth_date`` and
        ``registration_date`` as ``pl.Date``; ``status`` one of active,
        inactive, cancelled) followed by any extra columns, unchanged.

    Raises
    ------
    VoterFileError
        ``user_error = True``; lists every problem with file, row and column.
    """
    path = Path(path)
    df, first_row = _read_raw(path, layout)
    df = _standardize(df, path, mapping)
    problems = _validate(df, first_row)
    if problems:
        raise VoterFileError(f"{len(problems)} problem(s) in the voter file", path=str(path), problems=problems)
    return _finish(df)


def _parse_date(e: pl.Expr) -> pl.Expr:
    return pl.coalesce(
        e.str.strptime(pl.Date, "%Y-%m-%d", strict=False),
        e.str.strptime(pl.Date, "%m/%d/%Y", strict=False),
        e.str.strptime(pl.Date, "%Y%m%d", strict=False),
        e.str.strptime(pl.Date, "%m-%d-%Y", strict=False),
    )


def _checks() -> list[tuple[str, pl.Expr, str]]:
    checks: list[tuple[str, pl.Expr, str]] = [
        ("voter_id", pl.col("voter_id").is_null(), "voter id is blank"),
        ("voter_id", pl.col("voter_id").is_duplicated() & pl.col("voter_id").is_not_null(), "voter id appears more than once"),
        ("last_name", pl.col("last_name").is_null(), "last name is blank"),
        ("status", pl.col("status").is_not_null()
         & pl.col("status").str.to_lowercase().replace_strict(STATUSES, default=None).is_null(),
         "status must be active, inactive or cancelled"),
        ("zip", pl.col("zip").is_not_null() & ~pl.col("zip").str.contains(r"^\d{5}(?:-?\d{4})?$"),
         "expected a 5-digit ZIP or ZIP+4"),
    ]
    for c in DATE_COLUMNS:
        checks.append((c, pl.col(c).is_not_null() & _parse_date(pl.col(c)).is_null(),
                       "expected a date like 2024-03-01 or 03/01/2024"))
    for c in STANDARD_COLUMNS:
        checks.append((c, pl.col(c).str.len_chars() > MAX_FIELD_CHARS, f"value longer than {MAX_FIELD_CHARS} characters"))
    return checks


def _flag_problems(df: pl.DataFrame, limit: int | None = None) -> list[tuple[str, str, list[int]]]:
    """(column, what, row indexes) for every check some row fails (vectorized)."""
    checks = _checks()
    flagged = df.with_row_index("_row").select(
        [pl.col("_row")] + [e.fill_null(False).alias(f"_c{i}") for i, (_, e, _) in enumerate(checks)]
    )
    out = []
    for i, (col, _, what) in enumerate(checks):
        rows = flagged.filter(pl.col(f"_c{i}"))["_row"]
        if limit is not None:
            rows = rows.head(limit)
        if rows.len():
            out.append((col, what, rows.to_list()))
    return out


def _validate(df: pl.DataFrame, first_row: int, limit: int = 1000) -> list[str]:
    """Every problem as "row R, column C: what" (vectorized checks)."""
    problems: list[str] = []
    for col, what, rows in _flag_problems(df, limit):
        for r in rows:
            val = df[col][r]
            shown = f" (got {val[:30]!r})" if isinstance(val, str) and col not in ("voter_id",) and val else ""
            problems.append(f"row {r + first_row}, column {col}: {what}{shown}")
    return problems


def ensure_prepared(voters: pl.DataFrame) -> pl.DataFrame:
    """`voters` as :func:`prepare_voters` makes them now: a frame prepared by
    this version is returned as is; one prepared by an older version (a
    workspace's stored copy, say), or not at all, is prepared again."""
    if "prepared_version" in voters.columns and voters.height and voters["prepared_version"][0] == PREPARED_VERSION:
        return voters
    return prepare_voters(voters)


def prepare_voters(voters: pl.DataFrame) -> pl.DataFrame:
    """Add normalised match keys and term frequencies to a standard voter frame.

    Parameters
    ----------
    voters : pl.DataFrame, shape (n_voters, ...)
        Output of :func:`read_voter_file` (or any frame with the standard
        columns).

    Returns
    -------
    pl.DataFrame, shape (n_voters, ...)
        The input columns plus ``k_first``, ``k_middle``, ``k_last``,
        ``k_last_parts`` (list[str]), ``k_suffix``, ``k_last_sdx``,
        ``k_first_canon`` (list[str]), ``k_canon`` (its first), ``a_house``, ``a_fraction``,
        ``a_street``, ``a_street_key``, ``a_unit``, ``a_po_box``, ``k_zip``,
        ``k_city``, term frequencies ``tf_first``, ``tf_last`` (counts,
        u32), ``tf_address`` (voters at the same address), ``tf_name``
        (voters of the same first name and surname), and
        ``prepared_version``. Re-preparing a prepared frame recomputes them.
    """
    voters = voters.drop([c for c in voters.columns if c.startswith(("k_", "a_", "tf_")) or c == "prepared_version"])
    schema = set(voters.columns)
    for c in STANDARD_COLUMNS:
        if c not in schema:
            voters = voters.with_columns(pl.lit(None, dtype=pl.String).alias(c))
    schema = set(voters.columns)
    voters = voters.with_columns([_parse_date(pl.col(c)).alias(c) for c in DATE_COLUMNS
                                  if voters.schema[c] == pl.String])
    # Names and addresses repeat (a few thousand first names, tens of
    # thousands of surnames, one address per household): normalise each
    # distinct value once and join the keys back.
    firsts = voters.select(pl.col("first_name").unique()).lazy().with_columns(
        N.clean_text(pl.col("first_name")).alias("_fc"))
    firsts = firsts.with_columns(
        N.name_key(pl.col("_fc").str.split(" ").list.first()).alias("k_first"),
        pl.col("_fc").str.split(" ").list.slice(1).list.join(" ").alias("_first_rest"),
    ).with_columns(first_canon(pl.col("k_first")).alias("k_first_canon")).drop("_fc")
    # one canonical per voter for the county-wide name block (registered
    # names are mostly the formal form, whose only canonical is itself)
    firsts = firsts.with_columns(pl.col("k_first_canon").list.first().alias("k_canon"))
    lasts = voters.select(pl.col("last_name").unique()).lazy().with_columns(
        N.clean_text(pl.col("last_name")).alias("_lc"))
    lasts = lasts.with_columns(pl.col("_lc").str.extract(N._SUFFIX_RE, 1).alias("_suffix_in_last"))
    lasts = lasts.with_columns(
        pl.when(pl.col("_suffix_in_last").is_not_null() & pl.col("_lc").str.contains(" "))
        .then(pl.col("_lc").str.replace(N._SUFFIX_RE, "").str.strip_chars()).otherwise(pl.col("_lc")).alias("_lc"))
    lasts = lasts.with_columns(N.name_key(pl.col("_lc")).alias("k_last"),
                               N.surname_parts(pl.col("_lc")).alias("k_last_parts"))
    lasts = lasts.with_columns(N.soundex(pl.col("k_last")).alias("k_last_sdx")).drop("_lc")
    addr_text = N.voter_address_text(schema)
    addrs = voters.lazy().select(addr_text.alias("_addr_text")).unique()
    addrs = N.parse_address(addrs, "_addr_text", prefix="_a_")
    addrs = addrs.select(
        "_addr_text",
        pl.col("_a_house").alias("a_house"),
        pl.col("_a_fraction").alias("a_fraction"),
        pl.col("_a_street").alias("a_street"),
        pl.col("_a_street").str.replace_all(" ", "").alias("a_street_key"),
        pl.col("_a_unit").alias("a_unit"),
        pl.col("_a_po_box").alias("a_po_box"),
    )
    out = (voters.lazy().with_columns(addr_text.alias("_addr_text"))
           .join(firsts, on="first_name", how="left", nulls_equal=True, maintain_order="left")
           .join(lasts, on="last_name", how="left", nulls_equal=True, maintain_order="left")
           .join(addrs, on="_addr_text", how="left", nulls_equal=True, maintain_order="left"))
    middle = pl.concat_str([pl.col("_first_rest").fill_null(""), N.clean_text(pl.col("middle_name")).fill_null("")],
                           separator=" ").str.strip_chars()
    suffix = pl.coalesce(N.clean_text(pl.col("suffix")).str.replace_all(r"[^A-Z0-9]", ""), pl.col("_suffix_in_last"))
    out = out.with_columns(
        pl.when(middle != "").then(N.name_key(middle.str.split(" ").list.first())).alias("k_middle"),
        suffix.replace_strict(N.SUFFIXES, default=None).alias("k_suffix"),
        N.normalize_zip(pl.col("zip")).alias("k_zip"),
        N.normalize_city(pl.col("city")).alias("k_city"),
    ).drop("_first_rest", "_suffix_in_last", "_addr_text")
    out = out.with_columns(
        pl.len().over("k_first").cast(pl.UInt32).alias("tf_first"),
        pl.len().over("k_last").cast(pl.UInt32).alias("tf_last"),
        pl.len().over(["a_house", "a_street_key", "k_zip"]).cast(pl.UInt32).alias("tf_address"),
        pl.len().over(["k_first", "k_last"]).cast(pl.UInt32).alias("tf_name"),
        pl.lit(PREPARED_VERSION).alias("prepared_version"),
    )
    return out.collect()


def first_canon(expr: pl.Expr) -> pl.Expr:
    """The canonical given names a first name belongs to (list[str]).

    "BILL" -> ["WILLIAM"], "AL" -> ["ALAN", "ALBERT", ...], a name not in
    the nickname table -> [itself]. Two names whose lists intersect are
    nickname-equivalent.
    """
    nk = tables.nicknames()
    grouped = nk.group_by("name").agg(pl.col("canonical").sort())
    mapping = dict(zip(grouped["name"].to_list(), grouped["canonical"].to_list()))
    as_list = expr.replace_strict(mapping, default=None, return_dtype=pl.List(pl.String))
    return pl.when(expr.is_null()).then(None).otherwise(pl.coalesce(as_list, pl.concat_list(expr)))


def voter_file_fingerprint(voters: pl.DataFrame) -> str:
    """SHA-256 of the standard columns, to record which voter-file copy a match used.

    Parameters
    ----------
    voters : pl.DataFrame
        Raw or prepared voters (only the standard columns are hashed, in
        file order), so re-preparing the same import keeps the fingerprint.

    Returns
    -------
    str
        ``"sha256:<hex>"``.
    """
    import hashlib

    # CSV text, not Arrow buffers: equal values give equal bytes whatever
    # the memory layout
    cols = [c for c in STANDARD_COLUMNS if c in voters.columns]
    text = voters.select([pl.col(c).cast(pl.String) for c in cols]).write_csv()
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class VoterFileComparison:
    """How a new voter file compares with the one it would replace.

    ``rows_ratio`` is new rows / old rows; ``id_overlap`` the share of the
    old file's voter ids found in the new one; ``city_overlap`` and
    ``district_overlap`` the Jaccard overlap of their (normalised) city and
    district sets (None when either file has none).
    """

    old_rows: int
    new_rows: int
    rows_ratio: float
    id_overlap: float
    city_overlap: float | None
    district_overlap: float | None
    cities_only_old: tuple[str, ...] = ()
    cities_only_new: tuple[str, ...] = ()

    def concerns(self, *, min_rows_ratio: float = 0.9, min_overlap: float = 0.5) -> list[str]:
        """Plain-words reasons to stop and ask before replacing (empty: none)."""
        out = []
        if self.rows_ratio < min_rows_ratio:
            out.append(f"{self.new_rows:,} voters would replace {self.old_rows:,} "
                       f"({self.rows_ratio:.0%} of the active file)")
        if self.id_overlap < min_overlap:
            out.append(f"only {self.id_overlap:.0%} of the active file's voter ids are in the new file")
        if self.city_overlap is not None and self.city_overlap < min_overlap:
            out.append(f"cities overlap {self.city_overlap:.0%} (only in the active file: "
                       f"{', '.join(self.cities_only_old[:5]) or '-'}; only in the new: "
                       f"{', '.join(self.cities_only_new[:5]) or '-'})")
        if self.district_overlap is not None and self.district_overlap < min_overlap:
            out.append(f"districts overlap {self.district_overlap:.0%}")
        return out


def _jaccard(a: set, b: set) -> float | None:
    if not a or not b:
        return None
    return len(a & b) / len(a | b)


def compare_voter_files(old: pl.DataFrame, new: pl.DataFrame) -> VoterFileComparison:
    """Compare two standard voter frames (voter ids, cities, districts).

    Parameters
    ----------
    old, new : pl.DataFrame
        Frames with the standard columns (prepared or not).

    Returns
    -------
    VoterFileComparison
    """
    def values(df: pl.DataFrame, col: str) -> set[str]:
        if col not in df.columns:
            return set()
        s = N.normalize_city(pl.col(col).cast(pl.String)) if col == "city" else pl.col(col).cast(pl.String)
        return set(df.select(s.str.strip_chars().alias("v")).drop_nulls().unique()["v"].to_list()) - {""}

    old_ids = old.select(pl.col("voter_id").cast(pl.String)).unique()
    new_ids = new.select(pl.col("voter_id").cast(pl.String)).unique()
    shared = old_ids.join(new_ids, on="voter_id", how="inner").height
    oc, nc = values(old, "city"), values(new, "city")
    return VoterFileComparison(
        old_rows=old.height, new_rows=new.height, rows_ratio=new.height / max(old.height, 1),
        id_overlap=shared / max(old_ids.height, 1), city_overlap=_jaccard(oc, nc),
        district_overlap=_jaccard(values(old, "district"), values(new, "district")),
        cities_only_old=tuple(sorted(oc - nc)), cities_only_new=tuple(sorted(nc - oc)))
