"""Name-and-address matching of petition lines to the voter file.

Imports only numpy, polars and rapidfuzz (and the standard library): data
frames in, data frames out. See :func:`match_lines` for the pipeline.
"""
from matchers.errors import LinesInputError, MatcherInputError, VoterFileError
from matchers.lookup import VoterIndex, lookup
from matchers.match import find_duplicates, match_lines, prepare_lines
from matchers.model import MatchModel, Thresholds, load_default_model
from matchers.voterfile import (
    STANDARD_COLUMNS,
    VoterFileComparison,
    VoterFileProblem,
    VoterFileRead,
    compare_voter_files,
    ensure_prepared,
    load_mapping,
    prepare_voters,
    read_voter_file,
    read_voter_file_checked,
    voter_file_fingerprint,
)

__all__ = [
    "LinesInputError", "MatcherInputError", "VoterFileError", "VoterIndex", "lookup", "find_duplicates",
    "match_lines", "prepare_lines", "MatchModel", "Thresholds", "load_default_model", "STANDARD_COLUMNS",
    "ensure_prepared", "load_mapping", "prepare_voters", "read_voter_file", "voter_file_fingerprint",
    "VoterFileComparison", "VoterFileProblem", "VoterFileRead", "compare_voter_files", "read_voter_file_checked",
]
