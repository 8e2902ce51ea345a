"""Importing bank statements into payments: what is written, idempotence, refusals, the command."""

from __future__ import annotations

import json
import os
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import translation

from relance.cli import main
from relance.ledger.importers.statements import detect_format, import_statement
from relance.ledger.importers.statements.generate import Entry, write_camt
from relance.ledger.models import Allocation, ImportBatch, Payment
from tests.ledger.test_statement_readers import EXPECTED, SAMPLES

pytestmark = pytest.mark.django_db


def camt(tmp_path: Path, name: str, entries: list[Entry], **kwargs) -> Path:
    path = tmp_path / name
    with path.open("w", encoding="utf-8") as out:
        write_camt(out, entries, **kwargs)
    return path


def test_credits_become_unallocated_payments_of_one_batch(org):
    result = import_statement(org, SAMPLES / "camt053/test-camt053")
    assert result.ok, result.errors
    assert (result.lines, result.created, result.duplicates, result.debits, result.reversals) == (4, 1, 0, 1, 2)
    payment = Payment.objects.get()
    assert (payment.date, payment.amount, payment.currency, payment.method) == (
        date(2014, 1, 5), Decimal("1405.31"), "EUR", "transfer")
    assert (payment.payer_name, payment.payer_iban) == ("3rd party Media", "NL69ABNA0522123643")
    assert payment.reference == "#RD PARTY MEDIA CUSNO 90782 4210773"
    assert payment.customer_id is None and not Allocation.objects.exists()
    assert payment.bank_transaction_id.startswith("sha256:")  # the entry has no AcctSvcrRef
    batch = ImportBatch.objects.get()
    assert (batch.kind, batch.created, batch.filename, payment.source_import_id) == (
        "statement", 1, "test-camt053", batch.pk)
    assert result.batch_id == batch.pk and batch.finished_at is not None
    assert "4 lignes lues, 1 crédit importé, 0 doublon ignoré, 1 débit ignoré" in result.summary()
    with translation.override("en"):
        assert "4 lines read, 1 credit imported, 0 duplicates ignored, 1 debit ignored" in result.summary()


def test_the_same_statement_twice_adds_nothing(org):
    first = import_statement(org, SAMPLES / "camt053/test-camt053-txdtls")
    again = import_statement(org, SAMPLES / "camt053/test-camt053-txdtls")
    assert (first.created, again.created, again.duplicates) == (2, 0, 2)
    assert Payment.objects.count() == 2
    assert set(Payment.objects.values_list("bank_transaction_id", flat=True)) == {
        "CH1111000000123456789:123456CHCAFEBABE/1", "CH1111000000123456789:123456CHCAFEBABE/2"}


def test_overlapping_statements_add_only_the_new_lines(org, tmp_path):
    # No bank references: the keys are hashes, with the occurrence of identical lines (two equal transfers
    # of one day are two payments).
    day1 = [Entry(Decimal("50.00"), date(2026, 1, 5), remittance="F1", payer="Dupont"),
            Entry(Decimal("50.00"), date(2026, 1, 5), remittance="F1", payer="Dupont")]
    day2 = [Entry(Decimal("75.00"), date(2026, 1, 6), remittance="F2", payer="Martin")]
    day3 = [Entry(Decimal("12.00"), date(2026, 1, 7), remittance="F3", payer="Durand")]
    assert import_statement(org, camt(tmp_path, "a.xml", day1 + day2)).created == 3
    second = import_statement(org, camt(tmp_path, "b.xml", day2 + day3, statement_id="STMT-2"))
    assert (second.created, second.duplicates) == (1, 1)
    assert Payment.objects.count() == 4
    assert Payment.objects.filter(amount=Decimal("50.00")).count() == 2


def test_the_same_bank_reference_in_two_organisations_is_two_payments(org, other_org):
    for organisation in (org, other_org):
        assert import_statement(organisation, SAMPLES / "camt054/test-camt054").created == 1
    assert Payment.objects.filter(organisation=org).count() == Payment.objects.filter(organisation=other_org).count()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_sample_imports_its_credits(org, name):
    result = import_statement(org, SAMPLES / name)
    assert result.ok, result.errors
    assert result.created == EXPECTED[name][1].get("credit", 0) == Payment.objects.count()
    assert result.lines == sum(EXPECTED[name][1].values())
    assert import_statement(org, SAMPLES / name).created == 0


def test_a_bad_entry_late_in_the_file_leaves_nothing_behind(org, tmp_path):
    path = camt(tmp_path, "bad.xml", [Entry(Decimal("10.00"), date(2026, 1, 5), ref="A")] * 1 + [
        Entry(Decimal("10.00"), date(2026, 1, 5), ref=f"R{n}") for n in range(2500)])
    text = path.read_text().replace('<Amt Ccy="EUR">10.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>'
                                    '<BookgDt><Dt>2026-01-05</Dt></BookgDt><ValDt><Dt>2026-01-05</Dt></ValDt>'
                                    '<AcctSvcrRef>R2400<', '<Amt Ccy="EUR">dix</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
                                    '<Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-01-05</Dt></BookgDt><ValDt><Dt>'
                                    '2026-01-05</Dt></ValDt><AcctSvcrRef>R2400<')
    path.write_text(text)
    result = import_statement(org, path)
    assert result.errors == [f"{path}: Stmt[1]/Ntry[2402]/Amt: montant illisible: 'dix'"]
    assert result.created == 0 and not Payment.objects.exists() and not ImportBatch.objects.exists()


def test_a_truncated_file_is_refused_with_its_line(org, tmp_path):
    data = (SAMPLES / "camt053/test-camt053").read_bytes()
    path = tmp_path / "cut.xml"
    path.write_bytes(data[: len(data) * 2 // 3])
    result = import_statement(org, path)
    assert not result.ok and "XML mal formé ou tronqué" in result.errors[0]
    assert result.errors[0].startswith(f"{path}: ligne ")
    assert not Payment.objects.exists() and not ImportBatch.objects.exists()


def test_an_entity_bomb_is_refused_before_any_expansion(org, tmp_path):
    lol = "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10))
    path = tmp_path / "bomb.xml"
    path.write_text(f'<?xml version="1.0"?><!DOCTYPE Document [<!ENTITY lol0 "lol">{lol}]>'
                    '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt>'
                    '<Ntry><Amt Ccy="EUR">&lol9;</Amt></Ntry></Stmt></BkToCstmrStmt></Document>')
    result = import_statement(org, path)
    assert result.errors == [f"{path}: DOCTYPE: DTD refusée (entités XML interdites dans un relevé)"]


def test_an_external_entity_is_never_fetched(org, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("do not read")
    path = tmp_path / "xxe.xml"
    path.write_text(f'<?xml version="1.0"?><!DOCTYPE Document [<!ENTITY x SYSTEM "file://{secret}">]>'
                    '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt>'
                    '<Ntry><AddtlNtryInf>&x;</AddtlNtryInf></Ntry></Stmt></BkToCstmrStmt></Document>')
    result = import_statement(org, path)
    assert not result.ok and "DTD refusée" in result.errors[0] and not Payment.objects.exists()


def test_a_file_over_the_limit_is_refused(org, settings):
    settings.RELANCE_IMPORT_MAX_BYTES = 1000
    result = import_statement(org, SAMPLES / "camt053/test-camt053")
    assert not result.ok and "fichier trop gros" in result.errors[0] and "RELANCE_IMPORT_MAX_BYTES" in result.errors[0]


@pytest.mark.parametrize(("name", "content", "message"), [
    ("bad.ofx", b"OFXHEADER:100\r\nDATA:OFXSGML\r\nVERSION:102\r\nSECURITY:NONE\r\nENCODING:USASCII\r\n"
                b"CHARSET:1252\r\nCOMPRESSION:NONE\r\nOLDFILEUID:NONE\r\nNEWFILEUID:NONE\r\n\r\n<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS>"
                b"<CURDEF>EUR<BANKTRANLIST><STMTTRN><TRNTYPE>CREDIT<DTPOSTED>2026xx01<TRNAMT>12.00<FITID>1"
                b"</STMTTRN></BANKTRANLIST></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>",
     "STMTRS[1]/BANKTRANLIST/STMTTRN[1]/DTPOSTED: date illisible"),
    ("bad.sta", b":20:X\r\n:25:FR7630006000011234567890189\r\n:28C:1\r\n:60F:C260101EUR0,00\r\n"
                b":61:2601010101CXYZ\r\n:86:?20Test\r\n:62F:C260101EUR0,00\r\n-",
     ":61: ligne 5: ligne d'écriture illisible"),
    ("notes.txt", b"hello", "format de relevé non reconnu"),
])
def test_bad_ofx_and_mt940_name_the_place(org, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    result = import_statement(org, path)
    assert len(result.errors) == 1 and result.errors[0].startswith(f"{path}: ") and message in result.errors[0]


def test_a_pipe_is_neither_opened_nor_taken_for_a_statement(org, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert detect_format(fifo) is None
    result = import_statement(org, fifo)
    assert result.errors == [f"{fifo}: pas un fichier ordinaire (périphérique, tube ou dossier): refusé"]


def test_a_dry_run_counts_and_writes_nothing(org):
    result = import_statement(org, SAMPLES / "mt940/sepa_snippet.sta", dry_run=True)
    assert result.ok and result.created == 5 and result.reversals == 3 and result.batch_id is None
    assert not Payment.objects.exists() and not ImportBatch.objects.exists()


# The command closes the database connections when it ends: outside a wrapping transaction.
@pytest.mark.django_db(transaction=True)
class TestCommand:
    def relance(self, *args: str) -> int:
        try:
            return main(["relance", "import", *args])
        except SystemExit as exc:
            return exc.code

    def test_import_statement_prints_the_report(self, org, capsys):
        assert self.relance("statement", str(SAMPLES / "camt053/test-camt053"), "--org", "abc") == 0
        out = capsys.readouterr().out
        assert ("(camt): 4 lignes lues, 1 crédit importé, 0 doublon ignoré, 1 débit ignoré, "
                "2 contre-passations ignorées") in out
        assert Payment.objects.count() == 1

    def test_import_payments_given_a_statement_reads_it_as_one(self, org, capsys):
        assert self.relance("payments", str(SAMPLES / "mt940/test-rabo.swi"), "--org", "abc", "--json") == 0
        counts = json.loads(capsys.readouterr().out)
        assert (counts["lines"], counts["created"], counts["debits"], counts["errors"]) == (2, 1, 1, [])
        assert Payment.objects.get().payer_name == "R. SMITH"

    def test_a_forced_format_that_does_not_fit_is_refused(self, org, capsys):
        assert self.relance("statement", str(SAMPLES / "ofx/checking.ofx"), "--org", "abc", "--format", "mt940") == 1
        err = capsys.readouterr().err
        assert "checking.ofx" in err and "aucune balise MT940" in err
        assert not Payment.objects.exists()
