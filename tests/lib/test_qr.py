"""The EPC QR payload, line by line against EPC069-12 version 002, and the QR segno draws from it."""

from __future__ import annotations

from decimal import Decimal

import pytest
import segno

from relance.lib.qr import EpcError, epc_payload, epc_qr, epc_svg_data_uri

IBAN = "FR1420041010050500013M02606"
BIC = "PSSTFRPPPAR"


def test_it_writes_every_field_of_the_standard_in_order():
    payload = epc_payload("ABC Consulting", IBAN, BIC, Decimal("1500.00"), "C001 F2026-0042")
    assert payload.split("\n") == [
        "BCD",  # service tag
        "002",  # version
        "1",  # character set: UTF-8
        "SCT",  # SEPA credit transfer
        "PSSTFRPPPAR",  # BIC
        "ABC Consulting",  # beneficiary name
        "FR1420041010050500013M02606",  # IBAN
        "EUR1500",  # amount
        "",  # purpose
        "",  # structured reference (none: the reference is free text)
        "C001 F2026-0042",  # unstructured remittance
    ]


def test_it_writes_the_amount_with_a_point_and_at_most_two_decimals():
    lines = epc_payload("ABC", IBAN, BIC, Decimal("1234.56"), "x").split("\n")
    assert lines[7] == "EUR1234.56"
    assert epc_payload("ABC", IBAN, BIC, Decimal("12.50"), "x").split("\n")[7] == "EUR12.5"
    assert epc_payload("ABC", IBAN, BIC, Decimal("0.01"), "x").split("\n")[7] == "EUR0.01"


def test_it_puts_an_iso_11649_creditor_reference_in_the_structured_field():
    lines = epc_payload("ABC", IBAN, BIC, Decimal("10.00"), "RF18 5390 0754 7034").split("\n")
    assert lines[9] == "RF18539007547034"
    assert len(lines) == 10  # no unstructured text after a structured reference


def test_it_compacts_the_iban_and_bic_and_cuts_long_names_and_texts():
    lines = epc_payload("A" * 90, "FR14 2004 1010 0505 0001 3M02 606", "psstfrpp", Decimal("1.00"),
                        "R" * 200).split("\n")
    assert lines[4] == "PSSTFRPP"
    assert lines[6] == IBAN
    assert len(lines[5]) == 70
    assert len(lines[10]) == 140


def test_it_leaves_the_bic_empty_when_unknown():
    assert epc_payload("ABC", IBAN, "", Decimal("1.00"), "x").split("\n")[4] == ""


def test_line_breaks_in_a_field_never_shift_the_following_fields():
    lines = epc_payload("ABC\nConsulting", IBAN, BIC, Decimal("1.00"), "C001\nF1").split("\n")
    assert lines[5] == "ABC Consulting"
    assert lines[10] == "C001 F1"


def test_it_refuses_a_bad_iban_bic_or_amount_naming_the_field():
    with pytest.raises(EpcError, match="IBAN"):
        epc_payload("ABC", "FR1420041010050500013M02607", BIC, Decimal("1.00"), "x")
    with pytest.raises(EpcError, match="BIC"):
        epc_payload("ABC", IBAN, "PSST", Decimal("1.00"), "x")
    with pytest.raises(EpcError, match="amount"):
        epc_payload("ABC", IBAN, BIC, Decimal("0.00"), "x")
    with pytest.raises(EpcError, match="amount"):
        epc_payload("ABC", IBAN, BIC, Decimal("1000000000.00"), "x")
    with pytest.raises(EpcError, match="amount"):
        epc_payload("ABC", IBAN, BIC, Decimal("1.005"), "x")
    with pytest.raises(EpcError, match="reference"):
        epc_payload("ABC", IBAN, BIC, Decimal("1.00"), " ")


def test_the_qr_code_encodes_exactly_the_payload_with_error_correction_m():
    payload = epc_payload("Société Générale Lyon", IBAN, BIC, Decimal("99.90"), "C001 F00001 F00002")
    qr = epc_qr("Société Générale Lyon", IBAN, BIC, Decimal("99.90"), "C001 F00001 F00002")
    expected = segno.make_qr(payload.encode("utf-8"), error="m", boost_error=False)
    assert qr.error == "M"
    assert qr.version <= 13
    assert qr.matrix == expected.matrix


def test_it_gives_an_svg_for_the_letters_and_nothing_when_there_is_nothing_to_pay():
    assert epc_svg_data_uri("ABC", IBAN, BIC, Decimal("10.00"), "x").startswith("data:image/svg+xml")
    assert epc_svg_data_uri("ABC", IBAN, BIC, Decimal("0.00"), "x") == ""
    assert epc_svg_data_uri("ABC", "", BIC, Decimal("10.00"), "x") == ""
