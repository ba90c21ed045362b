"""Worker threads. Each opens its own workspace connection in its thread.

* :class:`DbThread` runs small database tasks one after another (reads for
  prefetch, or rulings — a serial writer keeps them in keystroke order).
* :class:`JobThread` runs one long job (pipeline, sampling) with the
  GUI-agnostic ``progress(stage, done, total)`` / ``cancel()`` callbacks.

Nothing here knows a business rule: tasks are callables ``fn(ws)`` that call
the :mod:`petitions` API.
"""
from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QObject, QThread, Signal

from gui.session import location_of, open_at
from petitions import is_user_error
from petitions import Workspace

log = logging.getLogger(__name__)


def describe_error(exc: BaseException) -> str:
    """Plain words for a user error; the type and message for a bug (logged)."""
    if is_user_error(exc):
        return str(exc)
    log.error("bug in a worker task", exc_info=exc)
    return f"Unexpected error ({type(exc).__name__}: {exc}). Details are in the log."


def without_unlanded(items: list, unlanded: set) -> list:
    """`items` of a read (objects with ``line_db_id``) minus the lines written
    here whose writes may not have landed yet (ids in `unlanded`).

    Reads and writes run on different threads, so a read that started
    before a write can answer after it and still list the line. A line the
    read no longer lists has landed: it leaves `unlanded` (updated in place).
    """
    unlanded &= {it.line_db_id for it in items}
    return [it for it in items if it.line_db_id not in unlanded]


def pop_last(entries: list, line_db_id: int):
    """Remove and return the last entry whose first element is `line_db_id`
    (None if there is none)."""
    for i in range(len(entries) - 1, -1, -1):
        if entries[i][0] == line_db_id:
            return entries.pop(i)
    return None


class DbThread(QThread):
    """Runs ``fn(ws)`` tasks in submission order on its own connection.

    ``submit`` returns a token; ``finished_task(token, result, error)`` is
    emitted in the GUI thread when the task is done (error is None or a
    message). Callbacks given to ``submit`` are called from that signal.
    """

    # One tuple per signal: PySide6 mis-counts references to a bare None
    # passed through an ``object`` argument of a queued signal.
    finished_task = Signal(object)

    def __init__(self, root: str | Path, name: str = "db", parent: QObject | None = None):
        super().__init__(parent)
        self.setObjectName(name)
        self.root = location_of(root)
        self._q: "queue.Queue[tuple[int, Callable] | None]" = queue.Queue()
        self._tokens = itertools.count(1)
        self._callbacks: dict[int, Callable[[Any, str | None], None]] = {}
        self._pending = 0
        self._lock = threading.Lock()
        #: Called in this thread after each task that succeeded, before its
        #: result is reported (e.g. the writer asks for fresh counts at once,
        #: without waiting for the GUI thread to hear of the write).
        self.after_each: Callable[[], None] | None = None
        self.finished_task.connect(self._dispatch)

    @property
    def pending(self) -> int:
        """Tasks submitted and not yet reported back."""
        return self._pending

    def submit(self, fn: Callable[[Workspace], Any],
               callback: Callable[[Any, str | None], None] | None = None) -> int:
        token = next(self._tokens)
        if callback is not None:
            self._callbacks[token] = callback
        with self._lock:
            self._pending += 1
        self._q.put((token, fn))
        return token

    def stop(self) -> None:
        self._q.put(None)
        self.wait(10_000)

    def run(self) -> None:  # the worker thread
        ws = None
        try:
            ws = open_at(self.root)
        except Exception as exc:  # noqa: BLE001 - reported to every task
            open_error = describe_error(exc)
        else:
            open_error = None
        while True:
            item = self._q.get()
            if item is None:
                break
            token, fn = item
            if open_error:
                self.finished_task.emit((token, None, open_error))
                continue
            try:
                result = fn(ws)
            except Exception as exc:  # noqa: BLE001 - reported to the GUI, not raised in a thread
                if not is_user_error(exc):
                    traceback.print_exc()
                self.finished_task.emit((token, None, describe_error(exc)))
            else:
                if self.after_each is not None:
                    try:
                        self.after_each()
                    except Exception:  # noqa: BLE001 - a hook never loses the task's result
                        traceback.print_exc()
                self.finished_task.emit((token, result, None))
        if ws is not None:
            ws.close()

    def _dispatch(self, packet: tuple) -> None:
        token, result, error = packet
        with self._lock:
            self._pending -= 1
        cb = self._callbacks.pop(token, None)
        if cb is not None:
            cb(result, error)


class JobThread(QThread):
    """One long job: ``fn(ws, progress, cancel)`` on its own connection.

    Emits ``progress_changed(stage, done, total, seconds_left)`` (seconds_left
    is -1 until it can be estimated) and ``job_done((result, error,
    cancelled))``.
    """

    progress_changed = Signal(str, int, int, float)
    job_done = Signal(object)   # (result, error, cancelled); see DbThread on why a tuple

    def __init__(self, root: str | Path, fn: Callable, title: str = "job", parent: QObject | None = None):
        super().__init__(parent)
        self.root = location_of(root)
        self.fn = fn
        self.title = title
        self._cancel = threading.Event()
        self._stage_start: dict[str, float] = {}
        self.problems: list[str] = []   # located problems of a failed job (file / row / column), if it listed any

    def cancel(self) -> None:
        self._cancel.set()

    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def _progress(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        start = self._stage_start.setdefault(stage, now)
        left = -1.0
        if done > 0 and total > done and now > start:
            left = (now - start) / done * (total - done)
        elif total and done >= total:
            left = 0.0
        self.progress_changed.emit(stage, int(done), int(total), float(left))

    def run(self) -> None:
        from petitions import Cancelled

        try:
            with open_at(self.root) as ws:
                result = self.fn(ws, self._progress, self.cancelled)
        except Cancelled:
            self.job_done.emit((None, None, True))
        except Exception as exc:  # noqa: BLE001 - reported to the GUI
            if not is_user_error(exc):
                traceback.print_exc()
            self.problems = [str(p) for p in (getattr(exc, "problems", None) or [])]
            self.job_done.emit((None, describe_error(exc), False))
        else:
            self.job_done.emit((result, None, self.cancelled()))


class CallThread(QThread):
    """One call that needs no workspace (drafting a template from a scan,
    drawing it on a page): ``fn()`` off the GUI thread, and
    ``done((result, error))`` back on it, error None or a message in
    :func:`describe_error`'s words (a bug is logged with its traceback)."""

    done = Signal(object)   # (result, error); see DbThread on why a tuple

    def __init__(self, fn: Callable[[], Any], parent: QObject | None = None):
        super().__init__(parent)
        self.fn = fn

    def run(self) -> None:  # the worker thread
        try:
            result = self.fn()
        except Exception as exc:  # noqa: BLE001 - reported to the GUI, not raised in a thread
            self.done.emit((None, describe_error(exc)))
        else:
            self.done.emit((result, None))
