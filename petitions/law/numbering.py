"""Gaps in a filing's section and page numbering: pure, no store.

Sections of a filing, and pages of a section, are numbered consecutively
from 1; a missing number is a section or page that was never ingested (or
was lost), so its lines are missing from the raw count. Listed on the
status and the certificate so nobody certifies past one unseen.
"""
from __future__ import annotations

from collections.abc import Iterable

__all__ = ["numbering_gaps"]


def _missing(numbers: Iterable[int]) -> list[int]:
    have = sorted({int(n) for n in numbers})
    return [n for n in range(1, have[-1] + 1) if n not in set(have)] if have else []


def numbering_gaps(section_pages: Iterable[tuple[int, int | None]]) -> dict:
    """Missing section numbers, and missing page numbers per section.

    Parameters
    ----------
    section_pages : iterable of (section, page or None)
        Every (section, page) pair of the filing.

    Returns
    -------
    dict
        ``sections``: the missing section numbers (ascending);
        ``pages``: ``[{"section": s, "missing": [p, ...]}, ...]`` for each
        section whose page numbers have a gap.

    Examples
    --------
    >>> numbering_gaps([(1, 1), (1, 2), (1, 4), (3, 1)])
    {'sections': [2], 'pages': [{'section': 1, 'missing': [3]}]}
    """
    pages: dict[int, list[int]] = {}
    for sec, page in section_pages:
        pages.setdefault(int(sec), [])
        if page is not None:
            pages[int(sec)].append(int(page))
    return {"sections": _missing(pages),
            "pages": [{"section": s, "missing": m} for s in sorted(pages) if (m := _missing(pages[s]))]}
