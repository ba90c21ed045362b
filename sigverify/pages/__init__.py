"""Scanned petition pages: documents in, signer lines and crops out.

Arrays in, arrays and dataclasses out; no database, no Qt.

>>> from sigverify.pages import segment_document
>>> for r in segment_document("section-12.pdf"):  # doctest: +SKIP
...     print(r.page.number, r.error or [ln.state for ln in r.segmentation.lines])
"""
from sigverify.pages.batch import PageResult, process_page, segment_document
from sigverify.pages.documents import Document, PageImage, open_document, read_document
from sigverify.pages.segment import PageSegmentation, SegmentedLine, estimate_dpi, segment_page
from sigverify.pages.templates import BUILTIN_TEMPLATES, FormTemplate, builtin_templates, load_template

__all__ = [
    "BUILTIN_TEMPLATES",
    "Document",
    "FormTemplate",
    "PageImage",
    "PageResult",
    "PageSegmentation",
    "SegmentedLine",
    "builtin_templates",
    "estimate_dpi",
    "load_template",
    "open_document",
    "process_page",
    "read_document",
    "segment_document",
    "segment_page",
]
