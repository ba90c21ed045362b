"""Stage: scanned sections in, pages, lines and crops out.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from petitions.atomic import atomic_path
from petitions.errors import UserError
from petitions.stages.job import (
    CancelFn,
    ProgressFn,
    check_cancel,
    file_sha256,
    never,
    noop_progress,
)
from petitions.store import Workspace, canonical_json, now_utc
from petitions.store import ingest as ingest_db


@dataclass
class IngestReport:
    path: str
    document_id: int | None
    section: int | None
    pages: int = 0
    lines: int = 0
    already_ingested: bool = False
    problems: list[str] = field(default_factory=list)
    #: Pages read with a layout fit that is confident but not certain
    #: (``PageSegmentation.check``): stored, their signed lines held for a
    #: person by triage (``review_layout``).
    check_pages: list[int] = field(default_factory=list)

    @property
    def check_notes(self) -> list[str]:
        """One line a page to check, for the ingest's summary."""
        return [f"page {n}: the layout fit is not certain (a rule of the form not found, or one it lacks); "
                "its signed lines wait for a person (review_layout)" for n in self.check_pages]


def line_label(section: int, page: int, line: int) -> str:
    """Stable, human-readable line id within a filing: ``S003-P02-L07``."""
    return f"S{section:03d}-P{page:02d}-L{line:02d}"


def line_seq(section: int, page: int, line: int) -> int:
    """Filing order as one integer (section, then page, then line)."""
    return section * 1_000_000 + page * 1_000 + line


def ingest_document(
    ws: Workspace,
    filing_id: int,
    path: str | Path,
    *,
    user: str,
    section: int | None = None,
    circulator_name: str | None = None,
    circulator_address: str | None = None,
    batch: int | None = None,
    template=None,
    progress: ProgressFn = noop_progress,
    cancel: CancelFn = never,
    workers: int | None = None,
    executor=None,
) -> IngestReport:
    """Ingest one scanned section (PDF, multi-page TIFF, or page images).

    The file's SHA-256 identifies it: ingesting the same file again into the
    same filing is detected and creates nothing. Pages are segmented on
    every core (`workers`, or the pool `executor` shared across documents:
    :func:`sigverify.pages.batch.worker_pool`), crops encoded there, and
    appended as they come to the document's crop pack
    (:meth:`CropStore.batch <petitions.store.CropStore.batch>`). The
    document, its section, pages, lines and the pack's index rows are then
    committed in one transaction, so a crash leaves either the whole
    document or none of it (a pack no row names is harmless, and deleted
    when the ingest fails or is cancelled).

    `batch` names the submission of signatures the section came in (a
    recall filed in batches): each batch is sampled on its own frame
    (:mod:`petitions.submissions`).
    """
    from sigverify.pages import segment_document

    from petitions.certification import require_unlocked

    path = Path(path)
    require_unlocked(ws, filing_id, f"ingesting {path.name}")
    if not path.exists():
        raise UserError("file not found", where=str(path))
    digest = file_sha256(path)
    prior = ingest_db.document_by_sha(ws, filing_id, digest)
    if prior:
        return IngestReport(str(path), prior["id"], prior["number"], already_ingested=True)
    if batch is not None and batch < 1:
        raise UserError(f"a batch is numbered from 1, got {batch}", where=str(path))
    _check_batch(ws, filing_id, batch, path)
    numbered = section is not None  # else: the next free number, chosen when the document commits
    if numbered and ingest_db.section_exists(ws, filing_id, section):
        raise UserError(f"section {section} already exists in this filing", where=str(path))

    template, template_rec = store_template(ws, template)
    report = IngestReport(str(path), None, section)
    # Keep the scan itself, bit for bit, addressed by its hash: the evidence
    # staff and proponents look at, independent of where the file came from.
    # (in the folder, or on a server in the database, so every workstation reaches it)
    stored_key = ws.crops.put_file(f"documents/{digest}{path.suffix.lower()}", path)
    page_rows, line_rows = [], []
    with ws.crops.batch() as crops:
        try:
            for result in segment_document(path, template=template, workers=workers, executor=executor,
                                           encode=True, progress=lambda d, t: progress("segment", d, t),
                                           cancel=cancel):
                check_cancel(cancel)
                if result.error is not None:
                    report.problems.append(str(result.error))
                    continue
                _collect(crops, result, page_rows, line_rows, report)
        except Exception as exc:  # noqa: BLE001 - an unreadable file is the user's problem, said plainly
            if getattr(exc, "user_error", False):
                raise UserError(str(exc).removeprefix(f"{path}: ").removeprefix(f"{path.resolve()}: "),
                                where=str(path)) from None
            raise
        check_cancel(cancel)
        return _commit(ws, filing_id, path, user=user, digest=digest, stored_key=stored_key, section=section,
                       circulator_name=circulator_name, circulator_address=circulator_address, crops=crops,
                       batch=batch, page_rows=page_rows, line_rows=line_rows, report=report,
                       template=template_rec)


def _commit(ws: Workspace, filing_id: int, path: Path, *, user: str, digest: str, stored_key: str,
            section: int | None, circulator_name: str | None, circulator_address: str | None, crops,
            page_rows: list, line_rows: list, report: IngestReport, batch: int | None = None,
            template: dict | None = None) -> IngestReport:
    """One document's section, pages, lines and crop index, and its event, in one transaction."""
    from petitions.certification import require_unlocked

    numbered = section is not None
    if not page_rows:
        raise UserError("no page could be read: " + "; ".join(report.problems[:3]), where=str(path))
    with ws.transaction():
        # Two clerks may ingest into one filing at once: the section number
        # and the duplicate check are decided here, one ingest at a time.
        ingest_db.lock_filing_sections(ws, filing_id)
        # certified while the pages were being read: still refused
        require_unlocked(ws, filing_id, f"ingesting {path.name}", hold=True)
        prior = ingest_db.document_by_sha(ws, filing_id, digest)
        if prior:
            return IngestReport(str(path), prior["id"], prior["number"], already_ingested=True)
        if not numbered:
            section = report.section = ingest_db.next_section_number(ws, filing_id)
        elif ingest_db.section_exists(ws, filing_id, section):
            raise UserError(f"section {section} already exists in this filing", where=str(path))
        crops.record()
        doc_id = ingest_db.add_document(
            ws, filing_id=filing_id, path=str(path), stored_path=stored_key, sha256=digest,
            pages=len(page_rows), errors_json=json.dumps(report.problems), ingested_at=now_utc())
        sec_id = ingest_db.add_section(ws, filing_id=filing_id, number=section, circulator_name=circulator_name,
                                       circulator_address=circulator_address, document_id=doc_id, batch=batch)
        page_ids = {p["number"]: ingest_db.add_page(ws, section_id=sec_id, document_id=doc_id, **p)
                    for p in page_rows}
        ingest_db.add_lines(ws, [
            (filing_id, sec_id, page_ids[r["page"]], line_label(section, r["page"], r["number"]),
             line_seq(section, r["page"], r["number"]), r["number"], r["state"], r["signature_box"], r["name_box"],
             r["address_box"], r["signature_hash"], r["name_hash"], r["address_hash"], r["signature_ink"])
            for r in line_rows])
        ws.log_event("document_ingested", user=user, filing_id=filing_id,
                     payload={"document_id": doc_id, "path": str(path), "sha256": digest, "section": section,
                              "pages": len(page_rows), "lines": len(line_rows), "problems": report.problems,
                              "check_pages": report.check_pages,
                              **({"template": template} if template else {}),
                              "crop_pack": crops.key if ws.backend == "sqlite" else None,
                              "crops": crops.count})
    report.document_id, report.pages, report.lines = doc_id, len(page_rows), len(line_rows)
    return report


def ingest_files(
    ws: Workspace,
    filing_id: int,
    paths,
    *,
    user: str,
    batch: int | None = None,
    template=None,
    executor=None,
    cancel: CancelFn = never,
    progress: ProgressFn = noop_progress,
) -> Iterator[tuple[Path, IngestReport | UserError]]:
    """Ingest many scanned sections, one file each, as :func:`ingest_document`
    does one (each file its own section, numbered in turn, its own
    transaction), with the segmentation of the next files running while
    one is committed (:func:`sigverify.pages.batch.segment_documents` on
    the pool `executor`).

    Yields ``(path, report)`` for each file in order, or ``(path,
    UserError)`` for a file that could not be ingested (missing, unreadable,
    no page read); the others go on. Files already ingested (by content
    hash) are reported as such and not segmented again. `batch`: the
    submission (recall batch) every one of these sections came in.
    `progress` (the workbench's bar): ``("pages", pages done, pages of all
    the files to ingest)`` after each page; given, the files are opened
    once more up front to count their pages.
    """
    from sigverify.pages.batch import segment_documents

    from petitions.certification import require_unlocked

    require_unlocked(ws, filing_id, "ingesting scans")
    if batch is not None and batch < 1:
        raise UserError(f"a batch is numbered from 1, got {batch}")
    template, template_rec = store_template(ws, template)

    todo: list[tuple[Path, str]] = []
    early: dict[int, tuple[Path, IngestReport | UserError]] = {}
    paths = [Path(p) for p in paths]
    for k, path in enumerate(paths):
        if not path.exists():
            early[k] = (path, UserError("file not found", where=str(path)))
            continue
        try:
            _check_batch(ws, filing_id, batch, path)
        except UserError as exc:
            early[k] = (path, exc)
            continue
        digest = file_sha256(path)
        prior = ingest_db.document_by_sha(ws, filing_id, digest)
        if prior:
            early[k] = (path, IngestReport(str(path), prior["id"], prior["number"], already_ingested=True))
            continue
        todo.append((path, digest))
    order = [k for k in range(len(paths)) if k not in early]  # paths index of each todo entry
    total = _page_count([p for p, _d in todo]) if progress is not noop_progress else 0
    done_pages = 0
    nxt = 0  # next paths index to report

    def flush_early(upto: int):
        nonlocal nxt
        while nxt < upto:
            if nxt in early:
                yield early[nxt]
            nxt += 1

    pack = None
    current = -1
    page_rows: list = []
    line_rows: list = []
    report: IngestReport | None = None
    try:
        for i, name, item in segment_documents([p for p, _d in todo], executor=executor, template=template,
                                               encode=True, cancel=cancel):
            path, digest = todo[i]
            if i != current:
                yield from flush_early(order[i])
                current = i
                pack = ws.crops.batch()
                page_rows, line_rows = [], []
                report = IngestReport(str(path), None, None)
            if isinstance(item, Exception):
                pack.discard()
                pack = None
                msg = str(item).removeprefix(f"{name}: ").removeprefix(f"{path}: ")
                yield path, UserError(msg, where=str(path))
                nxt = order[i] + 1
                continue
            if item is not None:
                done_pages += 1
                progress("pages", done_pages, max(total, done_pages))
                check_cancel(cancel)
                if item.error is not None:
                    report.problems.append(str(item.error))
                else:
                    _collect(pack, item, page_rows, line_rows, report)
                continue
            # The document's last page is in: store the scan, commit the document.
            with pack:
                try:
                    stored_key = ws.crops.put_file(f"documents/{digest}{path.suffix.lower()}", path)
                    done = _commit(ws, filing_id, path, user=user, digest=digest, stored_key=stored_key, section=None,
                                   circulator_name=None, circulator_address=None, crops=pack, batch=batch,
                                   page_rows=page_rows, line_rows=line_rows, report=report,
                                   template=template_rec)
                except UserError as exc:
                    done = exc
            pack = None
            yield path, done
            nxt = order[i] + 1
        check_cancel(cancel)
        yield from flush_early(len(paths))
    finally:
        if pack is not None:
            pack.discard()


def store_template(ws: Workspace, template) -> tuple:
    """The form template an ingest reads pages with, loaded (a built-in
    name, a JSON file or a :class:`FormTemplate`) and kept in the workspace
    under its content's SHA-256, so that the filing holds what its pages
    were read with (an observer can segment them again; the workbench
    offers it for the filing's next scans: :func:`filing_templates`).

    ``(None, None)`` without a template (the built-in forms are detected);
    else ``(template, {"name", "sha256", "file"})``, the record that goes
    into each document's ``document_ingested`` event. A bad template file
    is one error naming it, before any page is read.
    """
    if template is None:
        return None, None
    from sigverify.pages import load_template

    try:
        t = load_template(template)
    except Exception as exc:  # noqa: BLE001 - a bad template file is the user's problem, said plainly
        if getattr(exc, "user_error", False):
            raise UserError(str(exc).removeprefix(f"{template}: "), where=str(template)) from None
        raise
    data = canonical_json(t.to_dict()).encode("utf-8")
    digest = hashlib.sha256(data).hexdigest()
    key = ws.crops.put_bytes(f"templates/{digest}.json", data, digest=digest)
    return t, {"name": t.name, "sha256": digest, "file": key}


def _page_count(paths: list[Path]) -> int:
    """Pages of all `paths` (a file that cannot be opened counts none: its error comes with its turn)."""
    from sigverify.pages import open_document

    n = 0
    for p in paths:
        try:
            with open_document(p) as doc:
                n += doc.count
        except Exception:  # noqa: BLE001 - only a count for the progress bar; the ingest reports the file
            continue
    return n


def _collect(crops, result, page_rows: list, line_rows: list, report: IngestReport) -> None:
    """Store one segmented page's crops in the batch and keep its page and line rows."""
    seg = result.segmentation
    page_no = result.page.number
    if seg.check:
        report.check_pages.append(page_no)
    enc = seg.encoded
    if enc is None:  # crops handed back as pixels (not encoded by the worker)
        from sigverify.pages.batch import encode_crops

        encode_crops(seg)
        enc = seg.encoded
    # The circulator's declaration (name, address, dates, signature) as crops.
    fields = {k: crops.put_png(v) for k, v in enc["fields"].items()}
    page_rows.append(dict(fields_json=canonical_json(fields), number=page_no, document_page=page_no,
                          width=int(seg.size[0]), height=int(seg.size[1]), dpi=float(result.page.dpi or 0),
                          skew_deg=float(seg.skew_deg), rotation=int(seg.rotation), image_hash=None,
                          segmentation_json=canonical_json(_seg_json(seg))))
    lines = enc["lines"]
    for k, ln in enumerate(seg.lines):
        hashes = {kind: crops.put_png(v) for kind, v in (lines[k] if k < len(lines) else {}).items()}
        line_rows.append(dict(page=page_no, number=int(ln.line), state=ln.state,
                              signature_box=_box(ln.signature), name_box=_box(ln.printed_name),
                              address_box=_box(ln.address), signature_hash=hashes.get("signature"),
                              name_hash=hashes.get("printed_name"), address_hash=hashes.get("address"),
                              signature_ink=float(ln.signature_ink)))


def pack_loose_crops(ws: Workspace, *, user: str, progress: ProgressFn = noop_progress) -> dict:
    """Move the loose crop files of a folder workspace (one PNG file an image,
    as ingests before crop packs wrote them) into one pack.

    Every image a line or an exemplar names that is still a loose file is
    read (and checked against its SHA-256: a file that does not match stops
    the move, naming it), appended to a new pack, and indexed in one
    transaction with an event; only then are the loose files deleted (a
    process killed in between leaves both, and the pack is read).
    Returns ``{"images": n, "pack": key or None, "files_deleted": m}``.
    """
    from petitions.store import integrity as integrity_db

    if ws.backend != "sqlite":
        raise UserError("a server workspace keeps its images in the database; there are no crop files to pack")
    todo = [d for d in integrity_db.image_hashes(ws) if ws.crops.loose(d)]
    if not todo:
        return {"images": 0, "pack": None, "files_deleted": 0}
    with ws.crops.batch() as batch:
        for k, d in enumerate(todo, start=1):
            batch.put_png(ws.crops.read_png(d))
            progress("pack", k, len(todo))
        with ws.transaction():
            batch.record()
            ws.log_event("crops_packed", user=user, payload={"pack": batch.key, "images": len(todo)})
    deleted = sum(ws.crops.drop_loose(d) for d in todo)
    return {"images": len(todo), "pack": batch.key, "files_deleted": deleted}


def page_image(ws: Workspace, page_db_id: int) -> np.ndarray:
    """The scanned page as filed, (H, W) uint8, decoded from the stored scan.

    Line boxes (``lines.*_box``) are in this image's pixel frame.
    """
    from sigverify.pages import open_document

    row = ingest_db.page_source(ws, page_db_id)
    if row is None:
        raise UserError(f"no page with id {page_db_id}")
    doc = open_document(ws.crops.local_path(row["stored_path"]))
    try:
        return doc.read(int(row["document_page"])).image
    finally:
        doc.close()


def _box(b) -> str | None:
    return None if b is None else json.dumps([int(v) for v in b])


def _seg_json(seg) -> dict:
    """The page's segmentation as stored: the form read, how it was
    registered, the layout fit's evidence and ``check`` (the fit is
    confident but not certain: triage holds the page's signed lines for a
    person, :mod:`petitions.law.triage` ``layout_check``), and every line's
    state and boxes."""
    fit = seg.fit
    return {
        "template": seg.template, "registration": seg.method, "check": bool(seg.check),
        **({"fit": {"rules": int(fit.expected), "found": int(fit.found), "foreign": int(fit.foreign),
                    "missing": list(fit.missing), "extra": list(fit.extra)}} if fit is not None else {}),
        "skew_deg": float(seg.skew_deg), "rotation": int(seg.rotation), "size": [int(v) for v in seg.size],
        "lines": [{"line": int(ln.line), "state": ln.state, "signature": _jbox(ln.signature),
                   "printed_name": _jbox(ln.printed_name), "address": _jbox(ln.address)} for ln in seg.lines],
    }


def _jbox(b):
    return None if b is None else [int(v) for v in b]


def _check_batch(ws: Workspace, filing_id: int, batch: int | None, path: Path) -> None:
    """A filing is either one frame or batches throughout: a section in no
    batch of a filing in batches would be in no frame, missing from the count."""
    from petitions.store import sections as sections_db

    batches = sections_db.batches(ws, filing_id)
    if batch is None and batches:
        raise UserError(f"this filing came in batches ({', '.join(map(str, batches))}); say which batch this section "
                        "belongs to (--batch N)", where=str(path))
    if batch is not None and sections_db.unbatched_sections(ws, filing_id):
        raise UserError("this filing's sections came in no batch (one frame); a batch number cannot be added now",
                        where=str(path))
