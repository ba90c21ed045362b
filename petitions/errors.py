"""Two kinds of errors (shared/STYLE.md §6).

A *user error* is a problem with what someone gave us: a file, a row, a
column, a line of a filing. It carries where the problem is and plain words
for staff, and the CLI prints it as one line. Anything else is a bug and is
logged with its traceback.

The cores (`sigverify`, `matchers`) cannot import this module (arrows point
one way), so they mark their own exception classes with a class attribute
``user_error = True``; :func:`is_user_error` recognises both.
"""
from __future__ import annotations


class UserError(Exception):
    """A problem with the user's input, reported in plain words.

    Parameters
    ----------
    message : str
        What is wrong, in words staff understand.
    where : str, optional
        File / row / column or filing / section / page / line.
    """

    user_error = True

    def __init__(self, message: str, *, where: str | None = None):
        self.message = message
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


def is_user_error(exc: BaseException) -> bool:
    return bool(getattr(exc, "user_error", False))
