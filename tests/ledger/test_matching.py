"""The pure matching: each rule, the ways people type invoice numbers, RF references, combinations,
partial and over-payments; and, whatever the input, no allocation beyond a payment or a balance."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relance.ledger.matching import (
    BankLine,
    InvoiceIndex,
    KnownPayers,
    OpenInvoice,
    Options,
    combinations,
    match_payments,
)
from relance.ledger.references import (
    creditor_reference,
    customer_creditor_reference,
    invoice_keys,
    normalise_name,
    read_creditor_references,
    text_keys,
)

D = Decimal
DAY = date(2026, 7, 1)


def inv(pk, number, balance, customer=1, due=date(2026, 6, 1), currency="EUR"):
    return OpenInvoice(pk, number, customer, D(balance), due, currency)


def line(amount, text="", pk=1, **kw):
    return BankLine(pk, D(amount), DAY, text=text, **kw)


LEDGER = [
    inv(1, "FA-2026-0012", "120.00", customer=1, due=date(2026, 3, 1)),
    inv(2, "FA-2026-0013", "80.00", customer=1, due=date(2026, 4, 1)),
    inv(3, "FA-2025-0012", "500.00", customer=2, due=date(2025, 12, 1)),
    inv(4, "FA-2026-0040", "45.50", customer=1, due=date(2026, 5, 1)),
]


def one(payment, invoices=LEDGER, payers=None, options=None):
    return match_payments([payment], invoices, payers, options)[0]


@pytest.mark.parametrize("typed", [
    "FA-2026-0012", "FA2026 12", "F 2026/0012", "Règlement facture fa20260012 merci", "VIR SEPA FA 2026-12",
])
def test_it_reads_an_invoice_number_however_it_is_typed(typed):
    proposal = one(line("120.00", typed))
    assert proposal.allocations == [(1, D("120.00"))]
    assert proposal.rule == "number"
    assert proposal.confidence >= 90
    assert proposal.customer_id == 1


def test_it_reads_a_sequence_alone_after_a_word_for_a_known_customer():
    proposal = one(line("120.00", "fact 12", customer_id=1))
    assert proposal.allocations == [(1, D("120.00"))]
    assert proposal.confidence == 80


def test_a_sequence_alone_shared_by_two_invoices_is_not_a_match():
    proposal = one(line("120.00", "fact 12"))
    assert proposal.rule == "none" and proposal.allocations == []


def test_a_bare_number_is_not_an_invoice_number():
    assert one(line("120.00", "12")).allocations == []


def test_the_year_keeps_two_invoices_of_the_same_sequence_apart():
    assert one(line("500.00", "FA 2025 12")).allocations == [(3, D("500.00"))]


def test_several_invoice_numbers_are_paid_in_the_order_written():
    proposal = one(line("200.00", "FA-2026-0013 et FA-2026-0012"))
    assert proposal.allocations == [(2, D("80.00")), (1, D("120.00"))]
    assert proposal.confidence == 95


def test_a_partial_payment_with_the_number_is_applied_with_less_confidence():
    proposal = one(line("100.00", "FA-2026-0012"))
    assert proposal.allocations == [(1, D("100.00"))]
    assert proposal.confidence == 85


def test_an_overpayment_keeps_the_rest_as_credit_of_the_customer():
    proposal = one(line("150.00", "FA-2026-0012"))
    assert proposal.allocations == [(1, D("120.00"))]
    assert proposal.customer_id == 1
    assert "30.00" in str(proposal.reason)


def test_an_invoice_of_another_currency_or_customer_is_not_matched():
    assert one(line("120.00", "FA-2026-0012"), [inv(1, "FA-2026-0012", "120.00", currency="USD")]).allocations == []
    assert one(line("120.00", "FA-2026-0012", customer_id=9)).rule != "number"


def test_index_keys_drop_leading_zeros_and_separators():
    assert {(k.kind, k.value) for k in invoice_keys("FA-2026-0012")} == {
        ("compact", ("FA20260012",)), ("year_seq", ("2026", 12)), ("seq", (12,))}
    assert ("year_seq", ("2026", 12)) in {(k.kind, k.value) for k in text_keys("fa2026 12")[0]}


def test_creditor_reference_is_valid_iso_11649_and_read_back():
    invoice = inv(1, "FA-2026-0012", "120.00")
    ref = creditor_reference(invoice)
    assert ref.startswith("RF") and ref.endswith("FFA20260012")
    assert read_creditor_references(f"Paiement {ref[:4]} {ref[4:8]} {ref[8:]}") == [("F", "FA20260012")]
    assert read_creditor_references("RF00FFA20260012") == []  # wrong check digits
    assert creditor_reference(inv(1, "X" * 30, "1")) == ""


def test_it_matches_a_structured_reference_first():
    invoice = LEDGER[1]
    proposal = one(BankLine(1, D("80.00"), DAY, reference=creditor_reference(invoice), text="FA-2026-0012"))
    assert proposal.rule == "rf" and proposal.allocations == [(2, D("80.00"))]
    assert proposal.confidence == 98


def test_a_customer_reference_identifies_the_customer():
    class Customer:
        external_id = "C-001"

    payers = KnownPayers(customer_codes={"C001": 1})
    proposal = one(BankLine(1, D("200.00"), DAY, reference=customer_creditor_reference(Customer())), payers=payers)
    assert proposal.customer_id == 1
    assert sorted(proposal.allocations) == [(1, D("120.00")), (2, D("80.00"))]


def test_a_known_iban_and_one_invoice_of_that_amount():
    payers = KnownPayers(ibans={"FR7630006000011234567890189": 1})
    proposal = one(line("45.50", "virement", payer_iban="FR76 3000 6000 0112 3456 7890 189"), payers=payers)
    assert proposal.rule == "amount" and proposal.allocations == [(4, D("45.50"))]
    assert proposal.confidence == 90 and proposal.payer_known_by == "iban"


def test_a_learnt_name_with_its_legal_form_and_accents():
    payers = KnownPayers(names={normalise_name("Société Dupont SARL"): 1})
    assert normalise_name("DUPONT S.A.R.L.") == "DUPONT"
    proposal = one(line("45.50", payer_name="Dupont sarl"), payers=payers)
    assert proposal.allocations == [(4, D("45.50"))] and proposal.confidence == 85


def test_a_combination_of_invoices_equal_to_the_amount():
    proposal = one(line("165.50", customer_id=1))
    assert proposal.rule == "combination"
    assert sorted(proposal.allocations) == [(1, D("120.00")), (4, D("45.50"))]
    assert proposal.confidence == 85


def test_two_combinations_make_an_ambiguous_proposal():
    invoices = [inv(1, "A1", "10.00"), inv(2, "A2", "20.00"), inv(3, "A3", "30.00"), inv(4, "A4", "40.00")]
    proposal = one(line("50.00", customer_id=1), invoices)
    assert proposal.confidence == 55
    assert proposal.allocations == [(1, D("10.00")), (4, D("40.00"))]  # the oldest first


def test_the_combination_search_is_bounded():
    amounts = [D("1.01")] * 40
    assert combinations(amounts, D("1000.00"), 1000) == []
    assert combinations([D("1"), D("2"), D("4")], D("6"), 100) == [(1, 2)]


def test_partial_allocation_oldest_first_or_off():
    proposal = one(line("150.00", customer_id=1))
    assert proposal.rule == "oldest" and proposal.confidence == 50
    assert proposal.allocations == [(1, D("120.00")), (2, D("30.00"))]
    off = one(line("150.00", customer_id=1), options=Options(oldest_first=False))
    assert off.allocations == [] and off.customer_id == 1


def test_a_known_payer_without_open_invoice_keeps_a_credit():
    proposal = one(line("10.00", customer_id=7))
    assert proposal.rule == "credit" and proposal.customer_id == 7 and proposal.allocations == []


def test_two_payments_never_allocate_the_same_balance_twice():
    a, b = line("120.00", "FA-2026-0012", pk=1), line("120.00", "FA-2026-0012", pk=2)
    first, second = match_payments([a, b], LEDGER)
    assert first.allocations == [(1, D("120.00"))]
    assert second.allocations == [] or second.allocations[0][0] != 1


def test_the_index_is_built_once_and_reused():
    index = InvoiceIndex(LEDGER)
    match_payments([line("120.00", "FA-2026-0012")], index)
    assert index.remaining[1] == 0


amounts = st.decimals(min_value=D("0.01"), max_value=D("500"), places=2)


@settings(max_examples=150, deadline=None)
@given(
    balances=st.lists(amounts, min_size=0, max_size=8),
    payments=st.lists(st.tuples(amounts, st.text(max_size=30), st.sampled_from([None, 1, 2]),
                                st.integers(min_value=0, max_value=9)), max_size=8),
    oldest=st.booleans(),
)
def test_allocations_never_exceed_a_payment_nor_a_balance(balances, payments, oldest):
    invoices = [inv(k, f"FA-2026-{k:04d}", b, customer=1 + k % 2, due=date(2026, 1, 1 + k))
                for k, b in enumerate(balances)]
    lines = [BankLine(n, amount, DAY, text=f"{text} FA-2026-{ref:04d}", customer_id=customer)
             for n, (amount, text, customer, ref) in enumerate(payments)]
    proposals = match_payments(lines, invoices, options=Options(oldest_first=oldest))
    given_total: dict[int, Decimal] = {}
    for proposal, bank_line in zip(proposals, lines, strict=True):
        assert 0 <= proposal.confidence <= 100
        assert proposal.allocated <= bank_line.amount
        for invoice_id, amount in proposal.allocations:
            assert amount > 0
            given_total[invoice_id] = given_total.get(invoice_id, D(0)) + amount
    for invoice in invoices:
        assert given_total.get(invoice.id, D(0)) <= invoice.balance
