"""After an import, the invoices created or paid get their indexed next dunning date, so that the
next daily run does not take every new invoice for a candidate."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine

from relance.dunning.defaults import install_default_scenarios
from relance.dunning.snapshot import list_candidate_invoices
from relance.ledger.importers import import_file
from relance.ledger.models import Invoice
from tests.ledger.data import write_csv
from tests.schedule_support import next_date_of, next_dates

pytestmark = pytest.mark.django_db

INVOICES = (
    "Numéro de facture;Code client;Raison sociale;Date de facture;Date d'échéance;Montant HT;TVA;Montant TTC;"
    "Devise;Déjà payé\n"
    "F001;C001;Dupont SARL;15/01/2026;14/02/2026;1 000,00;200,00;1 200,00;EUR;\n"
    "F002;C001;Dupont SARL;01/02/2026;03/03/2026;100,00;20,00;120,00;EUR;120,00\n"
)
PAYMENTS = "Date;Montant;Client;Facture;Référence;Mode de paiement\n"


@pytest.fixture
def scenarios(org):
    install_default_scenarios(org)
    return org


@time_machine.travel("2026-01-20 10:00 +0100")
def test_imported_invoices_get_their_next_dunning_date(scenarios, customer, tmp_path):
    import_file(scenarios, "invoices", write_csv(tmp_path, "factures.csv", INVOICES))
    # Standard scenario, first step at J-3: Saturday 14 February - 3 days = Wednesday 11 February.
    assert next_dates() == {"F001": date(2026, 2, 11), "F002": None}  # F002 is paid: nothing to plan


@time_machine.travel("2026-01-20 10:00 +0100")
def test_the_next_run_has_no_candidate_before_the_first_step(scenarios, customer, tmp_path):
    import_file(scenarios, "invoices", write_csv(tmp_path, "factures.csv", INVOICES))
    assert list_candidate_invoices(scenarios, date(2026, 1, 21)).pairs == []
    f001 = Invoice.objects.get(number="F001")
    assert list_candidate_invoices(scenarios, date(2026, 2, 11)).pairs == [(f001.pk, customer.pk)]


@time_machine.travel("2026-01-20 10:00 +0100")
def test_a_dry_run_leaves_nothing_behind(scenarios, customer, tmp_path):
    result = import_file(scenarios, "invoices", write_csv(tmp_path, "factures.csv", INVOICES), dry_run=True)
    assert result.created == 2
    assert next_dates() == {}


@time_machine.travel("2026-01-20 10:00 +0100")
def test_a_refused_file_leaves_the_other_invoices_alone(scenarios, customer, make_invoice, tmp_path):
    make_invoice(number="F900", due=date(2026, 2, 28))
    result = import_file(scenarios, "invoices", write_csv(tmp_path, "factures.csv", INVOICES + "F003;C001;;x;;;;;;\n"))
    assert not result.ok
    assert next_dates() == {"F900": None}


@time_machine.travel("2026-02-20 10:00 +0100")
def test_a_payment_import_clears_the_next_date_of_the_invoice_it_settles(scenarios, customer, tmp_path):
    import_file(scenarios, "invoices", write_csv(tmp_path, "factures.csv", INVOICES))
    assert next_dates()["F001"] is not None
    paid = PAYMENTS + "19/02/2026;1 200,00;C001;F001;VIR;virement\n"
    import_file(scenarios, "payments", write_csv(tmp_path, "p.csv", paid))
    f001 = Invoice.objects.get(number="F001")
    assert (f001.status, next_date_of(f001)) == ("paid", None)


@time_machine.travel("2026-02-20 10:00 +0100")
def test_a_partial_payment_keeps_the_invoice_in_its_scenario(scenarios, customer, tmp_path):
    import_file(scenarios, "invoices", write_csv(tmp_path, "factures.csv", INVOICES))
    before = next_dates()["F001"]
    part = PAYMENTS + "19/02/2026;200,00;C001;F001;VIR;virement\n"
    import_file(scenarios, "payments", write_csv(tmp_path, "p.csv", part))
    f001 = Invoice.objects.get(number="F001")
    assert f001.status == "partly_paid"
    assert next_date_of(f001) == before is not None
