"""`petitions match` — match keyed petition lines to the voter file.

Library first, thin CLI second: read the voter file (CSV / fixed width /
Parquet, optionally through a column mapping) and the lines CSV, make one
:func:`matchers.match_lines` call, write ``line_id,voter_id,score,status,
reason`` atomically (shared/CONTRACT.md).
"""
from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import polars as pl

import matchers
from matchers.errors import LinesInputError
from matchers.voterfile import _decode
from petitions.atomic import atomic_write

OUTPUT_COLUMNS = ("line_id", "voter_id", "score", "status", "reason")
DETAIL_COLUMNS = ("name_level", "address_level", "first_level", "last_level", "middle_level", "suffix_level",
                  "n_candidates", "candidate_ids", "model_version")


def register(sub) -> None:
    p = sub.add_parser(
        "match",
        help="match keyed petition lines to voters by name and address",
        description=(
            "Match every petition line to its most likely voter. Writes one row per input line, "
            "in input order: line_id,voter_id,score,status,reason. status is match (safe to "
            "auto-accept the identity), review (a person must look; reason says why) or no_match. "
            "Software never rejects: review and no_match lines go to staff."
        ),
    )
    p.add_argument("--voters", required=True, type=Path,
                   help="voter file: CSV (any delimiter; UTF-8 or Latin-1), fixed-width text with --layout, "
                        "or Parquet (raw or as prepared by the workbench)")
    p.add_argument("--lines", required=True, type=Path,
                   help="keyed lines CSV with line_id,name,address,city,zip (city/zip may be blank; "
                        "an optional date_signed column, YYYY-MM-DD, enables registered_after_signing)")
    p.add_argument("--out", required=True, type=Path, help="output CSV (written atomically)")
    p.add_argument("--mapping", type=Path,
                   help="column mapping for county exports: JSON object or two-column CSV, county header -> "
                        "standard column (voter_id, first_name, last_name, house_number, street_name, ...)")
    p.add_argument("--layout", type=Path,
                   help="fixed-width layout: JSON list or CSV of name,start (1-based),width")
    p.add_argument("--signing-date", type=dt.date.fromisoformat, metavar="YYYY-MM-DD",
                   help="date signed for lines without a date_signed column (e.g. the filing date)")
    p.add_argument("--district", help="flag voters whose district column differs as out_of_district")
    p.add_argument("--jurisdiction-city", metavar="CITY",
                   help="flag voters residing in another city as out_of_district (neighbourhood names map to "
                        "their city, e.g. Hollywood -> Los Angeles)")
    p.add_argument("--model", type=Path, help="match model JSON (default: the shipped fitted model)")
    p.add_argument("--operating-point", choices=("strict", "balanced", "identity"),
                   help="named accept threshold of the model (default: the model's, i.e. strict)")
    p.add_argument("--details", action="store_true",
                   help="add the comparison levels, candidate count, candidate ids and model version")
    p.add_argument("--duplicates", type=Path, metavar="DUPS.csv",
                   help="also write line_id,duplicate_group,occurrence,group_size for voters on several lines")
    p.set_defaults(func=_run)


def _read_lines(path: Path) -> pl.DataFrame:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LinesInputError(f"cannot read the lines file ({exc.strerror})", path=str(path)) from None
    text = _decode(data)
    if not text.strip():
        raise LinesInputError("the lines file is empty", path=str(path))
    try:
        df = pl.read_csv(io.BytesIO(text.encode("utf-8")), infer_schema=False)
    except pl.exceptions.PolarsError as exc:
        raise LinesInputError(f"cannot parse as CSV ({str(exc).splitlines()[0][:200]})", path=str(path)) from None
    df = df.rename({c: c.strip().lower() for c in df.columns})
    missing = [c for c in ("line_id", "name", "address") if c not in df.columns]
    if missing:
        raise LinesInputError("wrong headers: missing column(s) " + ", ".join(missing)
                              + f"; expected line_id,name,address,city,zip; found {','.join(df.columns)}",
                              path=str(path))
    if df.height == 0:
        raise LinesInputError("the lines file has a header but no lines", path=str(path))
    blank = df.with_row_index("_r").filter(pl.col("line_id").is_null() | (pl.col("line_id").str.strip_chars() == ""))
    if blank.height:
        raise LinesInputError("line_id is blank", path=str(path),
                              problems=[f"row {r + 2}, column line_id" for r in blank["_r"].to_list()])
    if "date_signed" in df.columns:
        parsed = df["date_signed"].str.strptime(pl.Date, "%Y-%m-%d", strict=False)
        bad = df.with_row_index("_r").filter(parsed.is_null() & df["date_signed"].is_not_null()
                                             & (df["date_signed"].str.strip_chars() != ""))
        if bad.height:
            raise LinesInputError("expected a date like 2026-03-01", path=str(path),
                                  problems=[f"row {r + 2}, column date_signed" for r in bad["_r"].to_list()])
        df = df.with_columns(parsed.alias("date_signed"))
    return df


def _load_voters(args) -> pl.DataFrame:
    path: Path = args.voters
    if path.suffix.lower() in (".parquet", ".pq") and args.mapping is None:
        try:
            schema = pl.read_parquet_schema(path)
        except Exception:  # noqa: BLE001 - unreadable: let read_voter_file report it
            schema = {}
        if "prepared_version" in schema:
            return matchers.ensure_prepared(pl.read_parquet(path))
    return matchers.prepare_voters(matchers.read_voter_file(path, mapping=args.mapping, layout=args.layout))


def _run(args) -> int:
    lines = _read_lines(args.lines)
    if args.signing_date and "date_signed" not in lines.columns:
        lines = lines.with_columns(pl.lit(args.signing_date).alias("date_signed"))
    voters = _load_voters(args)
    if args.model:
        try:
            model = matchers.MatchModel.from_json(args.model.read_text("utf-8"))
        except (OSError, ValueError, TypeError) as exc:
            raise LinesInputError(f"cannot use the match model ({exc})", path=str(args.model)) from None
    else:
        model = matchers.load_default_model()
    if args.operating_point:
        try:
            model = model.at_operating_point(args.operating_point)
        except ValueError as exc:
            raise LinesInputError(str(exc), path=str(args.model) if args.model else None) from None
    out = matchers.match_lines(lines, voters, model=model, jurisdiction_city=args.jurisdiction_city,
                               district=args.district)
    cols = list(OUTPUT_COLUMNS)
    if args.details:
        out = out.with_columns(pl.col("candidates").list.eval(pl.element().struct.field("voter_id"))
                               .list.join(";").alias("candidate_ids"))
        cols += list(DETAIL_COLUMNS)
    table = out.select(cols).with_columns(pl.col("score").round(6))
    with atomic_write(args.out) as fh:
        fh.write(table.write_csv())
    if args.duplicates:
        dups = matchers.find_duplicates(out)
        with atomic_write(args.duplicates) as fh:
            fh.write(dups.write_csv())
    return 0
