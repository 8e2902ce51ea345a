"""Any bytes given as a statement: lines, or a StatementError saying where; never a traceback."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relance.ledger.importers.statements import FORMATS, StatementError, import_statement, read_lines
from relance.ledger.models import Payment
from tests.ledger.test_statement_readers import EXPECTED, SAMPLES

SAMPLE_BYTES = {name: (SAMPLES / name).read_bytes() for name in sorted(EXPECTED) if not name.endswith(".zip")}
# Pieces that steer the readers into their deeper paths.
TOKENS = [b":20:", b":25:", b":60F:", b":61:", b":86:", b"?20", b"?32", b"C", b"D", b"RC", b"EUR", b"0101",
          b"2601010101", b"12,50", b"\r\n", b"<OFX>", b"<STMTTRN>", b"<TRNAMT>", b"<DTPOSTED>", b"<FITID>",
          b"OFXHEADER:100\r\n", b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">',
          b"<Stmt>", b"<Ntry>", b"</Ntry>", b'<Amt Ccy="EUR">', b"</Amt>", b"<CdtDbtInd>CRDT</CdtDbtInd>",
          b"<BookgDt><Dt>", b"</Dt></BookgDt>", b"-1", b"1e999", b"NaN", b"\x00", b"\xff", b"&amp;", b"<!DOCTYPE"]


def read_all(data: bytes, fmt: str | None) -> None:
    with tempfile.NamedTemporaryFile(suffix=".dat") as f:
        f.write(data)
        f.flush()
        try:
            lines = list(read_lines(Path(f.name), fmt))
        except StatementError as exc:
            assert exc.message
            return
    for line in lines:
        assert line.amount >= 0 and len(line.currency) == 3 and len(line.payer_iban) <= 34


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=2000), fmt=st.sampled_from([None, *FORMATS]))
def test_any_bytes_give_lines_or_a_clear_error(data, fmt):
    read_all(data, fmt)


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(st.sampled_from(TOKENS) | st.binary(max_size=12), max_size=40),
       fmt=st.sampled_from([None, *FORMATS]))
def test_statement_like_bytes_give_lines_or_a_clear_error(pieces, fmt):
    read_all(b"".join(pieces), fmt)


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(sorted(SAMPLE_BYTES)), data=st.data())
def test_damaged_real_statements_give_lines_or_a_clear_error(name, data):
    original = SAMPLE_BYTES[name]
    cut = data.draw(st.integers(0, len(original)))
    at = data.draw(st.integers(0, max(0, len(original) - 1)))
    junk = data.draw(st.binary(max_size=8))
    damaged = original[:at] + junk + original[at + len(junk):cut] if data.draw(st.booleans()) else original[:cut]
    read_all(damaged, None)


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pieces=st.lists(st.sampled_from(TOKENS) | st.binary(max_size=12), max_size=30))
def test_an_import_of_anything_ends_in_a_result(org, pieces):
    with tempfile.NamedTemporaryFile(suffix=".sta") as f:
        f.write(b"".join(pieces))
        f.flush()
        result = import_statement(org, Path(f.name))
    assert result.ok or (result.errors[0].startswith(f.name) and result.created == 0)
    assert result.ok or not Payment.objects.filter(source_import_id=result.batch_id).exists()
