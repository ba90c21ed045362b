"""Certificate PDF: read back with pypdfium2 and check the numbers are there."""
from __future__ import annotations

import datetime as dt

import pypdfium2 as pdfium
import pytest

from petitions.certificate import CertificateData, certificate_title, write_certificate
from petitions.errors import UserError
from petitions.law.projection import outcome, project


def pdf_text(path):
    doc = pdfium.PdfDocument(str(path))
    try:
        return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    finally:
        doc.close()


def sample_data(**changes):
    p = project(25_000, 1_250, 900, 1)
    o = outcome(p.projected_valid, 15_000)
    base = dict(
        filing="Recall of Council Member X", kind="recall", jurisdiction="City of Example",
        required=15_000, raw_count=25_000, method="random_sample", valid_count=900,
        invalid_by_reason={"not_registered": 200, "address_mismatch": 100, "signature_mismatch": 49,
                           "duplicate": 1},
        duplicates=1, result=o.result, ruleset_id="ca-recall-local", ruleset_version="2025.1",
        ruleset_hash="a" * 64, sample_size=1_250, seed="8675309-0000", frame_hash="f" * 64,
        projection=p, outcome=o, certified_on=dt.date(2024, 5, 1), official_name="Pat Clerk",
        official_title="City Clerk", office="Office of the City Clerk")
    return CertificateData(**{**base, **changes})


def test_sufficiency_certificate_has_every_number(tmp_path):
    path = tmp_path / "cert.pdf"
    write_certificate(path, sample_data())
    text = pdf_text(path)
    for expected in ("Certificate of Sufficiency", "Recall of Council Member X", "15,000", "25,000", "1,250",
                     "8675309-0000", "f" * 64, "a" * 64, "72.00 %", "18,000", "20.0000", "380", "17,620",
                     "117.47 %", "QUALIFIES", "Not registered", "200", "[signature_mismatch]", "49",
                     "Invalid (all reasons)", "350", "Pat Clerk, City Clerk", "2024-05-01", "ca-recall-local"):
        assert expected in text, expected
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind


def test_insufficiency_full_count_certificate(tmp_path):
    path = tmp_path / "full.pdf"
    write_certificate(path, sample_data(method="full_count", result="insufficient", sample_size=None, seed=None,
                                        frame_hash=None, projection=None, outcome=None, raw_count=1_480,
                                        valid_count=912, required=1_000, kind="nominating",
                                        invalid_by_reason={"not_registered": 500, "duplicate": 68}))
    text = pdf_text(path)
    assert "Certificate of Insufficiency" in text and "Full count" in text
    assert "912 valid against 1,000 required" in text and "INSUFFICIENT" in text and "568" in text


def test_random_sample_needs_its_inputs(tmp_path):
    with pytest.raises(UserError, match="seed"):
        write_certificate(tmp_path / "x.pdf", sample_data(seed=None))
    with pytest.raises(UserError, match="raw_count"):
        write_certificate(tmp_path / "x.pdf", sample_data(raw_count=-1))
    assert not (tmp_path / "x.pdf").exists()


def test_titles():
    assert certificate_title("qualifies") == "Certificate of Sufficiency"
    assert certificate_title("fails") == "Certificate of Insufficiency"
    assert "Full Count" in certificate_title("full_count")


def test_non_latin1_text_is_transliterated(tmp_path):
    path = tmp_path / "c.pdf"
    write_certificate(path, sample_data(filing="Measure “Ñ” – ≥ 5 % 市"))
    assert 'Measure "Ñ" - >= 5 % ?' in pdf_text(path)
