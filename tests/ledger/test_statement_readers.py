"""The statement readers on every real sample (tests/ledger/samples) and on generated CAMT of every version.

Pure: no database. Values were read by hand in the files.
"""

from __future__ import annotations

import io
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from relance.ledger.importers.statements import StatementError, detect_format, read_lines
from relance.ledger.importers.statements.camt import read_camt
from relance.ledger.importers.statements.generate import Entry, write_camt
from relance.ledger.importers.statements.lines import BankLine, KeyMaker

SAMPLES = Path(__file__).parent / "samples"

# file -> (format, kinds of the lines read)
EXPECTED = {
    "camt053/camt053": ("camt", {"debit": 1}),
    "camt053/camt053.v2.all-balance-types.xml": ("camt", {"credit": 1}),
    "camt053/camt053.v2.five.decimals.xml": ("camt", {"credit": 1}),
    "camt053/camt053.v2.minimal.ultimate.xml": ("camt", {"credit": 1}),
    "camt053/camt053.v2.minimal.xml": ("camt", {"credit": 1}),
    "camt053/camt053.v2.multi.statement.xml": ("camt", {"credit": 1, "debit": 1}),
    "camt053/camt053.v2.with-party-ids.xml": ("camt", {"credit": 1}),
    "camt053/camt053.v3.xml": ("camt", {"credit": 1}),
    "camt053/camt053.v4.xml": ("camt", {"credit": 1}),
    "camt053/camt053.v8.xml": ("camt", {"credit": 1}),
    "camt053/camt53.only-Dt-with-DtTm.xml": ("camt", {}),
    "camt053/test-camt053": ("camt", {"debit": 1, "reversal": 2, "credit": 1}),
    "camt053/test-camt053-bookgdt-dttm": ("camt", {"debit": 1}),
    "camt053/test-camt053-no-ntry": ("camt", {}),
    "camt053/test-camt053-txdtls": ("camt", {"credit": 2}),
    "camt053/test-camt053.zip": ("camt", {"debit": 2, "reversal": 2, "credit": 2}),
    "camt054/camt054.v2.xml": ("camt", {"debit": 1}),
    "camt054/camt054.v4.xml": ("camt", {"debit": 3}),
    "camt054/camt054.v8-with-UETR.xml": ("camt", {"debit": 1}),
    "camt054/camt054.v8-with-financial-institution.xml": ("camt", {"debit": 1}),
    "camt054/camt054.v8.xml": ("camt", {"debit": 3}),
    "camt054/test-camt054": ("camt", {"credit": 1}),
    "ofx/account_listing_aggregation.ofx": ("ofx", {}),
    "ofx/anzcc.ofx": ("ofx", {"debit": 1}),
    "ofx/bank_medium.ofx": ("ofx", {"debit": 3}),
    "ofx/bank_small.ofx": ("ofx", {}),
    "ofx/checking.ofx": ("ofx", {"credit": 1, "debit": 2}),
    "ofx/empty_balance.ofx": ("ofx", {"credit": 1}),
    "ofx/multiple_accounts.ofx": ("ofx", {}),
    "ofx/ofx-v102-empty-tags.ofx": ("ofx", {"credit": 1}),
    "ofx/suncorp.ofx": ("ofx", {"debit": 1}),
    "ofx/test_ofx.ofx": ("ofx", {"debit": 4}),
    "ofx/test_ofx_iban.ofx": ("ofx", {"debit": 4}),
    "mt940/171011_01234945.sta": ("mt940", {"debit": 3}),
    "mt940/ASNB-mt940.txt": ("mt940", {"debit": 5, "credit": 3}),
    # Two credits come from the anonymised account the statement is of (NL30ABNA000000000000): own transfers.
    "mt940/Voorbeeld MT-940.mt940": ("mt940", {"credit": 17, "not_payment": 2, "debit": 2}),
    "mt940/abnamro.sta": ("mt940", {"debit": 10}),
    "mt940/cmxl-mt940.sta": ("mt940", {"debit": 9, "credit": 7}),
    "mt940/gv_codes.sta": ("mt940", {"debit": 2}),
    "mt940/ing.sta": ("mt940", {"debit": 5, "credit": 2}),
    "mt940/knab.sta": ("mt940", {"credit": 2, "debit": 1}),
    "mt940/mBank-mt940.sta": ("mt940", {"credit": 3}),
    "mt940/mBank-mt942.sta": ("mt940", {"credit": 3}),
    "mt940/postfinance.sta": ("mt940", {"credit": 3, "debit": 1}),
    "mt940/rabobank-iban.sta": ("mt940", {"debit": 4}),
    "mt940/rabobank.sta": ("mt940", {"debit": 5}),
    "mt940/raiffeisen-cmi.sta": ("mt940", {"credit": 1, "debit": 6}),
    "mt940/sepa_mt9401.sta": ("mt940", {"reversal": 19, "credit": 24, "debit": 54}),
    "mt940/sepa_snippet.sta": ("mt940", {"credit": 5, "debit": 3, "reversal": 3}),
    "mt940/sns.sta": ("mt940", {"debit": 2}),
    "mt940/test-ing-old.940": ("mt940", {"credit": 3, "debit": 4, "reversal": 1}),
    "mt940/test-ing.940": ("mt940", {"credit": 3, "debit": 4, "reversal": 1}),
    "mt940/test-rabo.swi": ("mt940", {"credit": 1, "debit": 1}),
    "mt940/test-sns.940": ("mt940", {"debit": 8}),
    "mt940/triodos.sta": ("mt940", {"debit": 2}),
}


def lines_of(name: str) -> list[BankLine]:
    return list(read_lines(SAMPLES / name))


def credits_of(name: str) -> list[BankLine]:
    return [line for line in lines_of(name) if line.kind == "credit"]


def test_every_sample_is_in_the_table():
    statements = {"camt053", "camt054", "ofx", "mt940"}  # the folder also holds other importers' samples
    on_disk = {f"{p.parent.name}/{p.name}" for p in SAMPLES.glob("*/*") if p.parent.name in statements}
    assert on_disk - {"mt940/sparkassen.sta"} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_sample_is_detected_and_read(name):
    fmt, kinds = EXPECTED[name]
    assert detect_format(SAMPLES / name) == fmt
    lines = lines_of(name)
    assert dict(Counter(line.kind for line in lines)) == kinds
    for line in lines:
        assert line.amount >= 0 and line.amount == line.amount.quantize(Decimal("0.01"))
        assert len(line.currency) == 3 and isinstance(line.booking_date, date)


def test_a_statement_fragment_without_header_is_refused_at_its_statement_line():
    with pytest.raises(StatementError) as caught:
        lines_of("mt940/sparkassen.sta")
    assert caught.value.place == ":61: ligne 1" and "relevé incomplet" in caught.value.message


def test_camt053_batch_split_reversal_and_credit_with_its_party():
    lines = lines_of("camt053/test-camt053")
    assert [(line.kind, line.amount) for line in lines] == [
        ("debit", Decimal("754.25")), ("reversal", Decimal("564.05")), ("reversal", Decimal("100.00")),
        ("credit", Decimal("1405.31"))]
    credit = lines[-1]
    assert credit.currency == "EUR" and credit.booking_date == date(2014, 1, 5)
    assert credit.account == "NL77ABNA0574908765"
    assert (credit.payer_name, credit.payer_iban) == ("3rd party Media", "NL69ABNA0522123643")
    assert credit.end_to_end_id == "115" and credit.bank_ref == ""
    # No remittance information: the additional transaction information stands for it.
    assert credit.reference == "#RD PARTY MEDIA CUSNO 90782 4210773"


def test_camt053_batch_of_two_credits_sharing_one_reference_are_numbered():
    first, second = lines_of("camt053/test-camt053-txdtls")
    assert (first.amount, first.currency, second.amount) == (Decimal("2187.00"), "CHF", Decimal("1296.00"))
    assert first.booking_date == date(2017, 3, 22) and first.value_date == date(2017, 3, 23)
    assert (first.bank_ref, second.bank_ref) == ("123456CHCAFEBABE/1", "123456CHCAFEBABE/2")
    assert first.structured_ref == "302388292000011111111111111"
    assert second.structured_ref == "302388292000022222222222222"
    assert first.account == "CH1111000000123456789"


def test_camt053_v8_reads_the_party_in_pty_and_a_booking_datetime():
    (credit,) = credits_of("camt053/camt053.v8.xml")
    assert (credit.amount, credit.currency) == (Decimal("8.85"), "EUR")
    assert credit.booking_date == date(2014, 12, 31) and credit.value_date == date(2015, 1, 2)
    assert credit.bank_ref == "AAAASESS-FP-CN_98765/01" and credit.end_to_end_id == "MUELL/FINP/RA12345"
    assert credit.structured_ref == "4654654654654654"
    assert (credit.payer_name, credit.payer_iban) == ("NAME NAME", "NL56AGDH9619008421")


def test_camt054_notification_credit_with_a_qr_reference():
    (credit,) = lines_of("camt054/test-camt054")
    assert (credit.amount, credit.currency, credit.booking_date) == (Decimal("5.00"), "EUR", date(2022, 1, 26))
    assert credit.bank_ref == "15180015077602405" and credit.end_to_end_id == "ENDTOENDID-01"
    assert credit.structured_ref == "000000000000000000000000003"
    assert (credit.payer_name, credit.payer_iban) == ("Test Customer", "NL46ABNA0499998748")


def test_a_debit_batch_stays_debits_whatever_its_transactions_say():
    assert {line.kind for line in lines_of("camt054/camt054.v4.xml")} == {"debit"}


def test_a_zip_of_camt_files_is_read_file_by_file():
    credits = credits_of("camt053/test-camt053.zip")
    assert [(c.amount, c.booking_date) for c in credits] == [
        (Decimal("1405.31"), date(2014, 2, 5)), (Decimal("1405.31"), date(2014, 3, 5))]
    assert credits[0].place.startswith("test-camt053_02.xml: Stmt[1]/Ntry[")


def test_ofx_without_header_and_ofx_with_leading_blank_lines():
    (credit,) = credits_of("ofx/empty_balance.ofx")
    assert (credit.amount, credit.currency, credit.booking_date) == (Decimal("120.00"), "CAD", date(2011, 3, 8))
    assert (credit.bank_ref, credit.payer_name) == ("2000957249", "Foobar")
    (credit,) = credits_of("ofx/ofx-v102-empty-tags.ofx")
    assert (credit.amount, credit.currency, credit.booking_date) == (Decimal("12.34"), "AUD", date(2018, 5, 7))
    assert credit.reference == "CBA:Transfer" and credit.account == "12345678"


def test_ofx_statement_with_several_transaction_lists():
    lines = lines_of("ofx/test_ofx.ofx")
    assert [line.amount for line in lines] == [Decimal("80.00"), Decimal("90.00"), Decimal("100.00"),
                                              Decimal("90.00")]
    assert {line.currency for line in lines} == {"USD"}


def test_mt940_german_structured_details():
    credit = credits_of("mt940/sepa_snippet.sta")[0]
    assert (credit.amount, credit.currency, credit.booking_date) == (Decimal("50990.05"), "EUR", date(2007, 9, 4))
    assert credit.bank_ref == "0724710333343453"
    assert (credit.payer_name, credit.payer_iban) == ("KARL KAUFMANN", "DE14508800500194785000")
    assert credit.remittance == "Verw CTSc-01 BC-PPP TFNr 22 004"
    assert credit.account == "50880050/0194787400888"


def test_mt940_dutch_layout_with_the_payer_account_on_the_statement_line():
    (credit,) = credits_of("mt940/test-rabo.swi")
    assert (credit.amount, credit.currency, credit.booking_date) == (Decimal("400.00"), "EUR", date(2014, 1, 2))
    assert (credit.payer_name, credit.payer_iban) == ("R. SMITH", "NL66RABO0160878799")
    assert credit.remittance == "Test money paid by other partner:"
    assert credit.account == "NL34RABO0142623393"


def test_mt940_ing_counterparty_and_returns():
    lines = lines_of("mt940/test-ing.940")
    returned = [line for line in lines if line.kind == "reversal"]
    assert [line.amount for line in returned] == [Decimal("1.57")]  # /RTRN/MS03/: a direct debit given back
    first = next(line for line in lines if line.kind == "credit")
    assert (first.payer_name, first.payer_iban) == ("ING BANK NV INZAKE WEB", "NL32INGB0000012345")
    assert first.remittance == "EV10001REP1000000T1000" and first.bank_ref == "00000000001"


@pytest.mark.parametrize("message", ["053", "054"])
@pytest.mark.parametrize("version", range(2, 14))
def test_every_published_camt_version_is_read(version, message):
    out = io.StringIO()
    write_camt(out, [
        Entry(Decimal("120.50"), date(2026, 1, 5), ref="BANK-1", remittance="Facture F-2026-001",
              creditor_ref="RF18539007547034", payer="Dupont SARL", payer_iban="FR7630006000011234567890189"),
        Entry(Decimal("40.00"), date(2026, 1, 6), credit=False, ref="BANK-2"),
        Entry(Decimal("10.00"), date(2026, 1, 7), reversal=True, ref="BANK-3"),
    ], version=version, message=message)
    path = io.BytesIO(out.getvalue().encode())
    credit, debit, reversal = list(read_camt(path))
    assert (credit.kind, debit.kind, reversal.kind) == ("credit", "debit", "reversal")
    assert (credit.amount, credit.currency, credit.booking_date) == (Decimal("120.50"), "EUR", date(2026, 1, 5))
    assert credit.reference == "RF18539007547034 Facture F-2026-001"
    assert (credit.payer_name, credit.payer_iban) == ("Dupont SARL", "FR7630006000011234567890189")
    assert credit.bank_ref == "BANK-1" and credit.account == "FR1420041010050500013M02606"


@pytest.mark.parametrize("namespace", ["camt.052.001.08", "camt.053.001.01", "camt.053.001.14", "pain.001.001.09"])
def test_other_iso_messages_and_unknown_versions_are_refused(namespace):
    text = (f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:{namespace}"><BkToCstmrStmt><Stmt>'
            "</Stmt></BkToCstmrStmt></Document>")
    with pytest.raises(StatementError) as caught:
        list(read_camt(io.BytesIO(text.encode())))
    assert namespace in str(caught.value)


def test_keys_are_the_bank_reference_per_account_else_a_hash_with_the_occurrence():
    keys = KeyMaker()
    line = BankLine(kind="credit", amount=Decimal("10.00"), currency="EUR", booking_date=date(2026, 1, 5),
                    account="FR76", remittance="F1")
    twin = BankLine(**{**{f: getattr(line, f) for f in line.__slots__}})
    first, second = keys.key(line), keys.key(twin)
    assert first.startswith("sha256:") and second.startswith("sha256:") and first != second
    again = KeyMaker()
    assert (again.key(line), again.key(twin)) == (first, second)  # the same statement read again
    referenced = BankLine(kind="credit", amount=Decimal("1"), currency="EUR", booking_date=date(2026, 1, 5),
                          account="NL77ABNA0574908765", bank_ref="1")
    assert keys.key(referenced) == "NL77ABNA0574908765:1"


def test_a_credit_from_our_own_account_is_no_customer_payment(tmp_path):
    path = tmp_path / "own.xml"
    with path.open("w") as out:
        write_camt(out, [Entry(Decimal("500.00"), date(2026, 1, 5), payer="ABC Consulting",
                               payer_iban="FR1420041010050500013M02606"),
                         Entry(Decimal("80.00"), date(2026, 1, 5), payer="Dupont",
                               payer_iban="FR7630006000011234567890189")])
    assert [line.kind for line in read_lines(path)] == ["not_payment", "credit"]


def test_interest_is_no_customer_payment(tmp_path):
    path = tmp_path / "interest.xml"
    with path.open("w") as out:
        write_camt(out, [Entry(Decimal("3.10"), date(2026, 1, 5))])
    path.write_text(path.read_text().replace("<Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd>",
                                             "<Cd>MCOP</Cd><SubFmlyCd>INTR</SubFmlyCd>"))
    assert [line.kind for line in read_lines(path)] == ["not_payment"]
