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


#: What a database says when the workspace may be read but not written (file
#: permissions, a read-only mount): the person's situation, not a bug.
READ_ONLY_MARKS = ("attempt to write a readonly database", "read-only file system", "read-only transaction")


def is_read_only_error(exc: BaseException) -> bool:
    """True when `exc` says the workspace cannot be written (see :data:`READ_ONLY_MARKS`)."""
    text = str(exc).lower()
    return isinstance(exc, PermissionError) or any(m in text for m in READ_ONLY_MARKS)


def is_user_error(exc: BaseException) -> bool:
    return bool(getattr(exc, "user_error", False)) or is_read_only_error(exc)
