"""Helpers shared by tests that read the PDFs the software writes."""
from __future__ import annotations

import pypdfium2 as pdfium


def pdf_words(path) -> str:
    """Every page's text, whitespace runs squeezed to one space, pages joined by a space."""
    pdf = pdfium.PdfDocument(str(path))
    try:
        return " ".join(" ".join(pdf[i].get_textpage().get_text_range().split()) for i in range(len(pdf)))
    finally:
        pdf.close()
