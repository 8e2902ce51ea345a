"""The ledger side of the law: dated reductions, the invoice's claim, the letters' legal text per case,
the import warning on payment terms. Real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal as D

import pytest

from relance.channels.context import build_context
from relance.channels.letter.layout import legal_sentence
from relance.channels.templates import render_message
from relance.dunning.interest import get_invoice_claim, get_notice_date
from relance.law.late_payment import ContractRate, Reduction
from relance.ledger import balances
from relance.ledger.importers import import_file
from relance.ledger.interest import get_contract_rate, list_reductions
from relance.ledger.models import CreditNote, ImportBatch, Invoice, Payment
from tests.channels.email_support import make_reminder
from tests.ledger.data import write_csv


def pay(org, customer, invoice, amount: str, day: date):
    payment = Payment.objects.create(organisation=org, customer=customer, date=day, amount=D(amount))
    return balances.allocate(invoice, D(amount), payment=payment)


def credit(org, customer, invoice, amount: str, day: date, number="AV1"):
    note = CreditNote.objects.create(organisation=org, customer=customer, number=number, date=day, total=D(amount))
    return balances.allocate(invoice, D(amount), credit_note=note)


def test_each_reduction_is_dated_by_its_payment_credit_note_or_import(org, customer, make_invoice):
    inv = make_invoice(total="1000.00", due=date(2025, 1, 31), issue=date(2025, 1, 1))
    batch = ImportBatch.objects.create(organisation=org, kind="invoices", filename="f.csv", sha256="0" * 64)
    ImportBatch.objects.filter(pk=batch.pk).update(started_at=datetime(2025, 2, 3, 22, 30, tzinfo=UTC))
    Invoice.objects.filter(pk=inv.pk).update(source_import=batch)
    inv.refresh_from_db()
    pay(org, customer, inv, "400.00", date(2025, 2, 15))
    credit(org, customer, inv, "100.00", date(2025, 2, 10))
    balances.allocate(inv, D("50.00"))  # settled outside Relance: dated on the import, in Paris time
    # 2025-02-03 22:30 UTC is 23:30 in Paris: still the 3rd.
    assert list_reductions(inv) == [Reduction(date(2025, 2, 3), D("50.00")), Reduction(date(2025, 2, 10), D("100.00")),
                                    Reduction(date(2025, 2, 15), D("400.00"))]


def test_the_claim_of_a_partly_paid_invoice(org, customer, make_invoice):
    # 1000.00 due 2025-01-31, 400.00 paid 2025-02-15, on 2025-03-02 (tests/law/test_daily_balance.py):
    # interest 5.40 + 3.25 = 8.65, indemnity 40.00, principal 600.00: total claimed 648.65.
    inv = make_invoice(total="1000.00", due=date(2025, 1, 31), issue=date(2025, 1, 1))
    pay(org, customer, inv, "400.00", date(2025, 2, 15))
    claim = get_invoice_claim(inv, date(2025, 3, 2))
    assert claim.as_json() == {
        "invoice": inv.number, "as_of": "2025-03-02",
        "periods": [
            {"start": "2025-02-01", "end": "2025-02-15", "days": 15, "base": "1000.00", "rate": "13.15",
             "amount": "5.40"},
            {"start": "2025-02-16", "end": "2025-03-02", "days": 15, "base": "600.00", "rate": "13.15",
             "amount": "3.25"},
        ],
        "interest": "8.65", "indemnity": "40.00", "total": "648.65",
    }


def test_an_invoice_paid_on_time_owes_no_indemnity(org, customer, make_invoice):
    inv = make_invoice(total="500.00", due=date(2025, 1, 31), issue=date(2025, 1, 1))
    pay(org, customer, inv, "500.00", date(2025, 1, 31))
    claim = get_invoice_claim(inv, date(2025, 3, 2))
    assert (claim.interest.amount, claim.indemnity, claim.total) == (D("0.00"), D("0.00"), D("0.00"))


def test_a_consumer_owes_interest_from_the_formal_notice_and_no_indemnity(org, customer, make_invoice):
    customer.kind = "consumer"
    customer.save()
    inv = make_invoice(total="1500.00", due=date(2025, 6, 30), issue=date(2025, 6, 1))
    assert get_invoice_claim(inv, date(2025, 10, 1)).total == D("1500.00")  # no notice yet: principal only
    make_reminder(org, customer, [inv], template="formal_notice", step="formal-notice", channel="letter",
                  tone="formal", state="sent", sent_at=datetime(2025, 9, 1, 8, tzinfo=UTC), run_date=date(2025, 9, 1))
    assert get_notice_date(inv) == date(2025, 9, 1)
    # 02/09-01/10: 30 days at 2.76 %: 1500 x 2.76 % x 30 / 365 = 3.40; no indemnity.
    claim = get_invoice_claim(inv, date(2025, 10, 1))
    assert (claim.interest.amount, claim.indemnity, claim.total) == (D("3.40"), D("0.00"), D("1503.40"))


def test_the_customer_rate_overrides_the_organisation_terms(org, customer):
    assert get_contract_rate(customer) is None
    org.late_rate_mode, org.late_rate_value = "percent", D("12.000")
    org.save()
    customer.refresh_from_db()
    assert get_contract_rate(customer) == ContractRate(percent=D("12.000"))
    customer.late_rate_mode, customer.late_rate_value = "legal_multiple", D("4")
    customer.save()
    assert get_contract_rate(customer) == ContractRate(legal_multiple=D("4"))


def test_a_half_set_contract_rate_is_refused(org, customer):
    from django.core.exceptions import ValidationError

    org.late_rate_mode, org.late_rate_value = "percent", None
    with pytest.raises(ValidationError, match="valeur du taux manquante"):
        org.full_clean()
    customer.late_rate_mode, customer.late_rate_value = "", D("3")
    with pytest.raises(ValidationError, match="sans type de taux"):
        customer.full_clean()


# --- the formal notice's legal text, per case ---------------------------------------------------------------

def notice(org, customer, invoices, today=date(2025, 7, 15)):
    reminder = make_reminder(org, customer, invoices, template="formal_notice", step=f"fn-{customer.kind}",
                             tone="formal", run_date=today)
    context = build_context(reminder, today=today)
    return render_message("formal_notice", "fr", context).text, context


@pytest.mark.parametrize(("kind", "terms", "expected", "absent"), [
    ("business", None, "au taux de la Banque centrale européenne majoré de 10 points", "générales de vente :"),
    ("business", ("percent", "12.5"), "au taux prévu par nos conditions générales de vente : 12,50 %", "majoré de 10"),
    ("business", ("legal_multiple", "4"), "conditions générales de vente : 4 fois le taux de l'intérêt légal",
     "majoré de 10"),
    ("public", ("percent", "12.5"), "majoré de 8 points", "conditions générales de vente :"),
    ("consumer", ("percent", "12.5"), "au taux légal à compter de la présente mise en demeure", "40 €"),
])
def test_the_formal_notice_cites_the_rate_that_applies(org, customer, make_invoice, kind, terms, expected, absent):
    customer.kind = kind
    if terms:
        org.late_rate_mode, org.late_rate_value = terms[0], D(terms[1])
        org.save()
    customer.save()
    inv = make_invoice(total="10000.00", due=date(2025, 6, 15), issue=date(2025, 5, 15))
    text, context = notice(org, customer, [inv])
    flat = " ".join(text.split())
    assert expected in flat and absent not in flat
    with_terms = kind == "business" and terms is not None
    assert (context["interest_terms"] is not None) == with_terms
    # The letter's own sentence says the same.
    sentence = legal_sentence(kind, context["interest_terms"], "fr")
    assert ("taux prévu par nos conditions générales de vente :" in sentence) == with_terms


def test_the_formal_notice_states_each_period_on_its_balance(org, customer, make_invoice):
    # 10000.00 due 2025-06-15, 4000.00 paid 2025-07-05, notice on 2025-07-15, business:
    #   16/06-30/06: 15 d on 10000.00 at 13.15 % = 54.04109589 -> 54.04
    #   01/07-05/07:  5 d on 10000.00 at 12.15 % = 16.64383562 -> 16.64
    #   06/07-15/07: 10 d on  6000.00 at 12.15 % = 19.97260274 -> 19.97
    #   total 90.65753425 -> 90.66, the last period 90.66 - 54.04 - 16.64 = 19.98
    inv = make_invoice(total="10000.00", due=date(2025, 6, 15), issue=date(2025, 5, 15))
    pay(org, customer, inv, "4000.00", date(2025, 7, 5))
    inv.refresh_from_db()
    text, context = notice(org, customer, [inv])
    assert context["late_interest"] == D("90.66")
    for line in ("du 16/06/2025 au 30/06/2025, 15 jours sur 10 000,00 € au taux de 13,15 % : 54,04 €",
                 "du 01/07/2025 au 05/07/2025, 5 jours sur 10 000,00 € au taux de 12,15 % : 16,64 €",
                 "du 06/07/2025 au 15/07/2025, 10 jours sur 6 000,00 € au taux de 12,15 % : 19,98 €"):
        assert line in text.replace("\u202f", " ").replace("\u00a0", " ")


# --- import ---------------------------------------------------------------------------------------------------

HEADER = "Numéro de facture;Client;Nom client;Date de facture;Date d'échéance;Montant TTC\n"


def test_a_payment_term_beyond_the_law_is_imported_with_a_warning(org, tmp_path):
    # Issued 10/01/2026: the latest lawful due date is 17/03/2026 (31/01 + 45 days; 10/01 + 60 days is 11/03).
    rows = ("F1;C1;Dupont SARL;10/01/2026;17/03/2026;100,00\n"
            "F2;C1;Dupont SARL;10/01/2026;18/03/2026;100,00\n")
    result = import_file(org, "invoices", write_csv(tmp_path, "f.csv", HEADER + rows))
    assert result.ok and result.created == 2
    assert [(w.line, w.field) for w in result.warnings] == [(3, "Date d'échéance")]
    assert "L441-10" in result.warnings[0].message and "2026-03-17" in result.warnings[0].message
    assert result.as_dict()["warnings"][0]["line"] == 3


def test_the_letter_pdf_cites_the_terms_of_sale_and_each_balance(org, customer, make_invoice):
    from tests.channels.test_texts_are_true import formal_letter, letter

    customer.address_line1, customer.postcode, customer.city = "3 rue Lafayette", "75009", "Paris"
    customer.save()
    org.late_rate_mode, org.late_rate_value = "percent", D("12.5")
    org.save()
    customer.refresh_from_db()
    # 10000.00 due 2025-06-15, 4000.00 paid 2025-07-05, letter of 2025-07-15, 12.5 % (floor 3 x 3.71 = 11.13 % in
    # 2025-H1, 3 x 2.76 = 8.28 % in 2025-H2: 12.5 % applies throughout):
    #   16/06-30/06: 15 d on 10000.00: 10000 x 12.5 % x 15 / 365 = 51.36986301 -> 51.37
    #   01/07-05/07:  5 d on 10000.00:                            17.12328767 -> 17.12
    #   06/07-15/07: 10 d on  6000.00:  6000 x 12.5 % x 10 / 365 = 20.54794521 -> 20.55
    #   total 89.04109589 -> 89.04, the last period 89.04 - 51.37 - 17.12 = 20.55
    inv = make_invoice(total="10000.00", due=date(2025, 6, 15), issue=date(2025, 5, 15))
    pay(org, customer, inv, "4000.00", date(2025, 7, 5))
    inv.refresh_from_db()
    text, context = letter(formal_letter(org, customer, [inv], run_date=date(2025, 7, 15)), today=date(2025, 7, 15))
    assert context["late_interest"] == D("89.04")
    assert "au taux prévu par nos conditions générales de vente : 12,50 %" in text
    assert "du 06/07/2025 au 15/07/2025, 10 jours sur 6 000,00 € au taux de 12,50 % : 20,55 €" in text
    assert "majoré de 10 points" not in text
