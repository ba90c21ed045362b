"""Errors of the image core. ``user_error = True`` marks problems with the
input (a file, a page, a crop) that staff can act on; the CLI prints them as
one line (see :mod:`petitions.errors`)."""
from __future__ import annotations


class ImageInputError(ValueError):
    """An image or document that cannot be used, with where and why."""

    user_error = True

    def __init__(self, message: str, *, path: str | None = None, page: int | None = None):
        self.path = path
        self.page = page
        where = path or ""
        if page is not None:
            where = f"{where} page {page}" if where else f"page {page}"
        super().__init__(f"{where}: {message}" if where else message)
