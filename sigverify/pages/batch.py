"""Segment whole documents on every core, page by page, errors per page."""
from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import os
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Callable, Iterator

from sigverify.errors import ImageInputError
from sigverify.pages.documents import Document, PageImage, open_document
from sigverify.pages.segment import PageSegmentation, segment_page
from sigverify.pages.templates import FormTemplate, load_template

log = logging.getLogger(__name__)


@dataclass
class PageResult:
    """What became of one page: a segmentation, or the error that stopped it.

    ``page`` carries the page's number, resolution and file without pixels.
    """

    page: PageImage
    segmentation: PageSegmentation | None = None
    error: ImageInputError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


# One open document per worker process: pages of the same file arrive in a
# row, and reopening a large PDF or TIFF for each page would cost a parse.
_OPEN: dict[str, Document] = {}


def _document(path: str) -> Document:
    doc = _OPEN.get(path)
    if doc is None:
        for d in _OPEN.values():
            d.close()
        _OPEN.clear()
        doc = _OPEN[path] = open_document(path)
    return doc


def encode_png(image) -> bytes:
    """A (H, W) uint8 image as PNG bytes (OpenCV's default, fast compression)."""
    import cv2

    ok, buf = cv2.imencode(".png", image)
    if not ok:  # pragma: no cover - OpenCV fails only on invalid arrays
        raise ValueError("could not encode image as PNG")
    return buf.tobytes()


def encode_crops(seg: PageSegmentation) -> None:
    """Replace a segmentation's crops by their PNG bytes, in place.

    ``seg.encoded`` becomes ``{"lines": [{kind: png}], "fields": {name: png}}``
    (empty crops left out) and ``seg.crops`` / ``seg.field_crops`` empty:
    the encoding runs in the workers, on every core, and the caller, which
    only stores the bytes, does none of its own.
    """
    seg.encoded = {
        "lines": [{k: encode_png(v) for k, v in c.items() if v is not None and v.size} for c in seg.crops],
        "fields": {k: encode_png(v) for k, v in (seg.field_crops or {}).items() if v is not None and v.size},
    }
    seg.crops = []
    seg.field_crops = {}
    seg.__dict__.pop("_blocks", None)


def process_page(path: str, number: int, template: FormTemplate | None, dpi: float | None,
                 crops: bool = True, encode: bool = False) -> PageResult:
    """Decode and segment one page; never raises for a bad page.

    Parameters
    ----------
    path : str
        The document.
    number : int
        1-based page number.
    template : FormTemplate, optional
    dpi : float, optional
        Override the document's resolution.
    crops : bool
        Cut crops (default True).
    encode : bool
        Hand the crops back as PNG bytes (:func:`encode_crops`).
    """
    meta = PageImage(number, None, float(dpi or 0.0), "given" if dpi else "unknown", path)
    try:
        page = _document(path).read(number, dpi=dpi)
        meta = page.meta()
        seg = segment_page(page.image, template=template, dpi=page.dpi, crops=crops)
        if encode:
            encode_crops(seg)
        return PageResult(meta, seg, None)
    except ImageInputError as exc:
        if exc.page is None or exc.path is None:
            exc = ImageInputError(str(exc).split(": ", 1)[-1] if exc.path else str(exc), path=exc.path or meta.path,
                                  page=number)
        # In a folder the page is a file of its own: name it, not the folder.
        meta.path = exc.path or meta.path
        return PageResult(meta, None, exc)
    except MemoryError:
        return PageResult(meta, None, ImageInputError("page too large to process (out of memory)", path=meta.path,
                                                      page=number))
    except Exception as exc:  # noqa: BLE001 - a bug on one page must not lose the batch
        log.exception("segmenting %s page %d failed", path, number)
        return PageResult(meta, None, ImageInputError(
            f"page could not be processed (internal error {type(exc).__name__}: {exc})", path=meta.path,
            page=number))


#: Pages per pool task at most. A task costs the caller ~1 ms of its own
#: (queueing, a future, waking up for the result) whatever its size, as much
#: as a tenth of a page's decoding and segmentation; a few pages a task pay it
#: once. Few enough that cancel still stops within a fraction of a second.
BATCH_PAGES = 4


def page_batches(total: int, workers: int, size: int = BATCH_PAGES) -> list[list[int]]:
    """Page numbers 1..`total` in runs of consecutive pages, one run per pool task.

    Up to `size` pages a run, fewer on a short document so that every worker
    still gets several runs (an even share of the work at the end).

    Examples
    --------
    >>> page_batches(10, 2)
    [[1], [2], [3], [4], [5], [6], [7], [8], [9], [10]]
    >>> page_batches(40, 2)[:2]
    [[1, 2, 3, 4], [5, 6, 7, 8]]
    """
    k = max(1, min(int(size), total // (4 * max(1, workers))))
    return [list(range(a, min(total, a + k - 1) + 1)) for a in range(1, total + 1, k)]


def process_pages(path: str, numbers: list[int], template: FormTemplate | None, dpi: float | None,
                  crops: bool = True, encode: bool = False) -> list[PageResult]:
    """:func:`process_page` for several pages of one document (one pool task)."""
    return [process_page(path, n, template, dpi, crops, encode) for n in numbers]


@contextlib.contextmanager
def worker_pool(workers: int | None = None) -> Iterator[ProcessPoolExecutor | None]:
    """A pool of `workers` segmentation processes (default one per core) to
    share across many documents (:func:`segment_document`'s ``executor``):
    the processes start once, not once a document. None for one worker."""
    workers = workers or os.cpu_count() or 1
    if workers <= 1:
        yield None
        return
    pool = _pool(workers)
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _pool(workers: int) -> ProcessPoolExecutor:
    # forkserver/spawn rather than fork: callers may run Qt or threads, and a
    # forked copy of those can deadlock.
    method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
    return ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context(method),
                               initializer=_worker_init)


def _worker_init() -> None:
    # One process per core already; OpenCV's own threads would only fight them.
    import cv2

    cv2.setNumThreads(1)


def segment_document(
    path: str | os.PathLike,
    *,
    template: FormTemplate | str | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    dpi: float | None = None,
    crops: bool = True,
    executor: ProcessPoolExecutor | None = None,
    encode: bool = False,
) -> Iterator[PageResult]:
    """Segment every page of a document in parallel, yielding results in page order.

    Parameters
    ----------
    path : path-like
        PDF, TIFF, PNG/JPEG, or a folder of page images.
    template : FormTemplate or str, optional
        Form layout; default: detect the project's own forms.
    workers : int, optional
        Worker processes; default all cores. 1 runs in this process.
    progress : callable(done, total), optional
        Called after each page (in a pool, pages come back a few at a
        time, :data:`BATCH_PAGES` at most, each still counted).
    cancel : callable() -> bool, optional
        Polled between pages (in a pool, while waiting for results); when it
        returns True, pages not started are dropped and the iterator ends.
    dpi : float, optional
        Override the resolution.
    crops : bool
        Cut crops (default True).
    executor : ProcessPoolExecutor, optional
        Reuse a pool across documents (the caller shuts it down;
        :func:`worker_pool`).
    encode : bool
        Hand each page's crops back as PNG bytes, encoded in the workers
        (:func:`encode_crops`), for a caller that stores them.

    Yields
    ------
    PageResult
        One per page; a bad page carries its error and the batch goes on.

    Raises
    ------
    ImageInputError
        The document itself cannot be opened (missing, empty, not a
        document, encrypted PDF).
    """
    path = os.fspath(path)
    tmpl = load_template(template) if template is not None else None
    with open_document(path) as doc:
        total = doc.count
    workers = workers or os.cpu_count() or 1
    done = 0
    if workers <= 1 or total == 1:
        for n in range(1, total + 1):
            if cancel is not None and cancel():
                return
            r = process_page(path, n, tmpl, dpi, crops, encode)
            done += 1
            if progress is not None:
                progress(done, total)
            yield r
        _OPEN.clear()
        return
    pool = executor or _pool(workers)
    batches = page_batches(total, workers)
    try:
        pending: dict[Future, list[int]] = {}
        ready: dict[int, PageResult] = {}
        nxt_batch, nxt_yield = 0, 1
        # Bounded look-ahead keeps memory flat on 9,000 pages.
        window = 3 * workers * len(batches[0])
        while nxt_yield <= total:
            if cancel is not None and cancel():
                for f in pending:
                    f.cancel()
                return
            while nxt_batch < len(batches) and sum(map(len, pending.values())) + len(ready) < window:
                nums = batches[nxt_batch]
                pending[pool.submit(process_pages, path, nums, tmpl, dpi, crops, encode)] = nums
                nxt_batch += 1
            finished, _ = wait(list(pending), timeout=0.2, return_when=FIRST_COMPLETED)
            for f in finished:
                nums = pending.pop(f)
                for n, r in zip(nums, f.result()):
                    ready[n] = r
                    done += 1
                    if progress is not None:  # still once a page, as the task's pages arrive
                        progress(done, total)
            while nxt_yield in ready:
                yield ready.pop(nxt_yield)
                nxt_yield += 1
    finally:
        if executor is None:
            pool.shutdown(wait=True, cancel_futures=True)


def segment_documents(
    paths,
    *,
    executor: ProcessPoolExecutor | None,
    template: FormTemplate | str | None = None,
    workers: int | None = None,
    cancel: Callable[[], bool] | None = None,
    dpi: float | None = None,
    crops: bool = True,
    encode: bool = False,
) -> Iterator[tuple[int, str, PageResult | ImageInputError | None]]:
    """Segment many documents on one pool, pages of the next queued while
    the caller deals with the last, yielding in document and page order.

    :func:`segment_document` one document after another leaves the workers
    idle from a document's last page until the caller asks for the next
    one (a short section ingested: its rows committed, the next scan hashed
    and stored). Here the look-ahead runs across documents, so the pool
    keeps working through those pauses.

    Yields
    ------
    (index, path, item)
        For each document (its index in `paths`): each page's
        :class:`PageResult`, then None once its last page was yielded; or
        the :class:`ImageInputError` that stopped it from being opened
        (once, instead of its pages).
    """
    paths = [os.fspath(p) for p in paths]
    tmpl = load_template(template) if template is not None else None
    workers = workers or os.cpu_count() or 1
    if executor is None or workers <= 1:
        for i, path in enumerate(paths):
            try:
                for r in segment_document(path, template=tmpl, workers=1, cancel=cancel, dpi=dpi, crops=crops,
                                          encode=encode):
                    yield i, path, r
            except ImageInputError as exc:
                yield i, path, exc
                continue
            if cancel is not None and cancel():
                return
            yield i, path, None
        return
    # Tasks in submission order: (document index, path, page numbers or an error, future or None, last task?).
    queue: list[tuple[int, str, object, Future | None, bool]] = []
    window = 3 * workers * BATCH_PAGES
    docs = iter(enumerate(paths))
    pending: list[tuple[int, str, list[list[int]]]] = []  # the current document's batches not yet submitted

    def in_flight() -> int:
        return sum(len(q[2]) for q in queue if isinstance(q[2], list))

    def feed() -> None:
        while in_flight() < window:
            if not pending:
                nxt = next(docs, None)
                if nxt is None:
                    return
                i, path = nxt
                try:
                    with open_document(path) as doc:
                        total = doc.count
                except ImageInputError as exc:
                    queue.append((i, path, exc, None, True))
                    continue
                pending.append((i, path, page_batches(total, workers)))
            i, path, batches = pending[0]
            nums = batches.pop(0)
            last = not batches
            if last:
                pending.pop(0)
            queue.append((i, path, nums, executor.submit(process_pages, path, nums, tmpl, dpi, crops, encode), last))

    try:
        feed()
        while queue:
            if cancel is not None and cancel():
                return
            i, path, what, fut, last = queue.pop(0)
            if fut is None:
                yield i, path, what  # type: ignore[misc]
                feed()
                continue
            results = fut.result()
            feed()  # refill before handing pages out: the pool works while the caller does
            for r in results:
                yield i, path, r
            if last:
                yield i, path, None
    finally:
        for q in queue:
            if q[3] is not None:
                q[3].cancel()
