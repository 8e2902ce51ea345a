"""The customer import's contact person, civility and insolvency columns (issue 4/10)."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine

from relance.ledger.importers import import_file
from relance.ledger.models import Customer
from tests.ledger.data import write_csv, write_xlsx

HEADER = "Code client;Raison sociale;Contact;Civilité;Procédure collective;Date du jugement;Type de procédure\n"


@pytest.fixture(autouse=True)
def today():
    with time_machine.travel(date(2026, 12, 3), tick=False):
        yield


def imported(org, tmp_path, rows: str, header: str = HEADER):
    result = import_file(org, "customers", write_csv(tmp_path, "clients.csv", header + rows))
    return result


def test_it_reads_the_contact_person_and_the_civility(org, tmp_path):
    result = imported(org, tmp_path, "C1;Dupont SARL;Marie  Durand;Madame;;;\nC2;Martin SA;Paul Roux;M.;non;;\n")
    assert result.created == 2, result.errors
    assert list(Customer.objects.order_by("external_id").values_list("contact_name", "contact_civility")) == [
        ("Marie Durand", "Mme"), ("Paul Roux", "M.")]


@pytest.mark.parametrize("written, stored", [
    ("M.", "M."), ("M", "M."), ("Monsieur", "M."), ("Mr", "M."), ("mr.", "M."),
    ("Mme", "Mme"), ("Madame", "Mme"), ("Mrs", "Mme"), ("Ms", "Mme"), ("MME", "Mme"),
])
def test_civilities_are_stored_as_m_or_mme(org, tmp_path, written, stored):
    assert imported(org, tmp_path, f"C1;Dupont;Dominique Roy;{written};;;\n").created == 1
    assert Customer.objects.get().contact_civility == stored


@pytest.mark.parametrize("written", ["Mlle", "Dr", "Maître", "Monsieur Madame"])
def test_any_other_civility_is_refused(org, tmp_path, written):
    result = imported(org, tmp_path, f"C1;Dupont;Dominique Roy;{written};;;\n")
    assert [(e.line, e.field) for e in result.errors] == [(2, "Civilité")]
    assert "civilité inconnue" in result.errors[0].message
    assert not Customer.objects.exists()


@pytest.mark.parametrize("flag", ["oui", "OUI", "yes", "1"])
def test_an_insolvent_customer_gets_its_judgment_date_and_kind(org, tmp_path, flag):
    result = imported(org, tmp_path, f"C1;Dupont;;;{flag};15/11/2026;Redressement judiciaire\n")
    assert result.created == 1, result.errors
    c = Customer.objects.get()
    assert (c.in_insolvency, c.insolvency_date, c.insolvency_kind) == (True, date(2026, 11, 15), "redressement")


@pytest.mark.parametrize("flag", ["non", "no", "0", ""])
def test_a_customer_not_in_insolvency_stays_so(org, tmp_path, flag):
    assert imported(org, tmp_path, f"C1;Dupont;;;{flag};;\n").created == 1
    c = Customer.objects.get()
    assert (c.in_insolvency, c.insolvency_date, c.insolvency_kind) == (False, None, "")


def test_the_judgment_date_is_required_with_insolvency(org, tmp_path):
    result = imported(org, tmp_path, "C1;Dupont;;;oui;;liquidation\n")
    assert [(e.line, e.field, e.message) for e in result.errors] == [
        (2, "Date du jugement", "date du jugement obligatoire pour une procédure collective")]


def test_a_judgment_in_the_future_is_refused(org, tmp_path):
    result = imported(org, tmp_path, "C1;Dupont;;;oui;04/12/2026;\n")
    assert [(e.line, e.field) for e in result.errors] == [(2, "Date du jugement")]
    assert "futur" in result.errors[0].message


def test_a_judgment_without_insolvency_is_refused(org, tmp_path):
    result = imported(org, tmp_path, "C1;Dupont;;;non;01/12/2026;sauvegarde\n")
    assert {(e.line, e.field) for e in result.errors} == {(2, "Date du jugement"), (2, "Type de procédure")}


def test_an_unknown_kind_of_proceedings_is_refused(org, tmp_path):
    result = imported(org, tmp_path, "C1;Dupont;;;oui;01/12/2026;faillite\n")
    assert [(e.line, e.field) for e in result.errors] == [(2, "Type de procédure")]


def test_english_headers_are_read_too(org, tmp_path):
    header = "Customer code;Name;Contact name;Title;Insolvency;Judgment date;Insolvency kind\n"
    result = imported(org, tmp_path, "C1;Acme Ltd;Jane Doe;Ms;yes;2026-10-01;liquidation\n", header)
    assert result.created == 1, result.errors
    c = Customer.objects.get()
    assert (c.contact_name, c.contact_civility, c.in_insolvency, c.insolvency_date, c.insolvency_kind) == (
        "Jane Doe", "Mme", True, date(2026, 10, 1), "liquidation")


def test_a_reimport_updates_the_new_columns_and_counts_unchanged_rows(org, tmp_path):
    imported(org, tmp_path, "C1;Dupont;Marie Durand;Mme;non;;\n")
    result = imported(org, tmp_path, "C1;Dupont;Marie Durand;Mme;oui;02/12/2026;sauvegarde\n")
    assert (result.updated, result.unchanged) == (1, 0), result.errors
    assert Customer.objects.get().insolvency_kind == "sauvegarde"
    again = imported(org, tmp_path, "C1;Dupont;Marie Durand;Mme;oui;02/12/2026;sauvegarde\n")
    assert (again.updated, again.unchanged) == (0, 1)


def test_xlsx_dates_and_booleans_are_read_as_typed_cells(org, tmp_path):
    path = write_xlsx(tmp_path, "clients.xlsx", [
        ["Code client", "Raison sociale", "Civilité", "Procédure collective", "Date du jugement"],
        ["C1", "Dupont", "Monsieur", True, date(2026, 9, 1)],
    ])
    assert import_file(org, "customers", path).created == 1
    c = Customer.objects.get()
    assert (c.contact_civility, c.in_insolvency, c.insolvency_date) == ("M.", True, date(2026, 9, 1))
