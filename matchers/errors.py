"""Errors of the matching core.

``user_error = True`` marks problems with what staff gave us (a voter file, a
mapping, a lines file); the CLI prints them as one line naming file, row and
column. Anything else is a bug.
"""
from __future__ import annotations


class MatcherInputError(ValueError):
    """A file or frame the matcher cannot use, with where and why.

    Parameters
    ----------
    message : str
        Plain words for staff.
    path : str, optional
        The file concerned.
    problems : list of str, optional
        Every located problem found ("row 14, column zip: expected 5 digits,
        got 'ABC'"); the message lists the first few.
    """

    user_error = True

    def __init__(self, message: str, *, path: str | None = None, problems: list[str] | None = None):
        self.path = path
        self.problems = list(problems or [])
        text = f"{path}: {message}" if path else message
        if self.problems:
            shown = "; ".join(self.problems[:5])
            more = f" (and {len(self.problems) - 5} more)" if len(self.problems) > 5 else ""
            text = f"{text}: {shown}{more}"
        super().__init__(text)


class VoterFileError(MatcherInputError):
    """The voter file (or its mapping / layout) cannot be imported."""


class LinesInputError(MatcherInputError):
    """The petition lines given to the matcher cannot be used."""
