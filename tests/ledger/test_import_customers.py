from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relance.ledger.importers import import_file
from relance.ledger.importers.columns import plan_of, read_row, resolve
from relance.ledger.importers.customers import COLUMNS, REPLACED, check_customer
from relance.ledger.models import Contact, Customer, ImportBatch
from tests.ledger.data import write_csv

HEADER = ("Code client;Raison sociale;SIREN;SIRET;Type;E-mail;Téléphone;Adresse;Code postal;Ville;Pays;Langue;"
          "Stratégique;Chargé de recouvrement\n")
DUPONT = ("C001;Dupont SARL;732829320;73282932000074;entreprise;compta@dupont.fr;01 23 45 67 89;3 rue Neuve;75001;"
          "Paris;FR;fr;oui;bob\n")
MARTIN = "C002;Jean Martin;;;particulier;jean@martin.fr;;;;Lyon;France;;non;\n"


@pytest.fixture
def good_file(tmp_path, bob):
    return write_csv(tmp_path, "clients.csv", HEADER + DUPONT + MARTIN)


def test_it_creates_customers_with_their_address_and_billing_contacts(org, bob, good_file):
    result = import_file(org, "customers", good_file)
    assert (result.created, result.updated, result.unchanged, result.errors) == (2, 0, 0, [])
    dupont = Customer.objects.get(organisation=org, external_id="C001")
    assert (dupont.name, dupont.siren, dupont.siret, dupont.kind) == ("Dupont SARL", "732829320", "73282932000074",
                                                                      "business")
    assert dupont.address_lines == ["3 rue Neuve", "75001 Paris"]
    assert dupont.strategic and dupont.collector == bob
    contacts = {(c.kind, c.value, c.role) for c in dupont.contacts.all()}
    assert contacts == {("email", "compta@dupont.fr", "billing"), ("phone", "+33123456789", "billing")}
    martin = Customer.objects.get(organisation=org, external_id="C002")
    assert (martin.kind, martin.country, martin.strategic, martin.collector) == ("consumer", "FR", False, None)


def test_it_records_the_import_batch(org, good_file):
    result = import_file(org, "customers", good_file)
    batch = ImportBatch.objects.get(pk=result.batch_id)
    assert (batch.kind, batch.filename, batch.created, len(batch.sha256)) == ("customers", "clients.csv", 2, 64)
    assert batch.finished_at is not None


def test_it_reads_english_headers(org, tmp_path):
    path = write_csv(tmp_path, "customers.csv",
                     "Customer id,Name,Type,Email,Phone,Address,Postcode,City,Country,Language,Strategic\n"
                     "X1,Acme Ltd,business,ap@acme.co.uk,+44 20 7946 0958,1 High St,SW1A 1AA,London,GB,en,yes\n")
    result = import_file(org, "customers", path)
    assert result.created == 1, result.errors
    acme = Customer.objects.get(external_id="X1")
    assert (acme.country, acme.language, acme.strategic, acme.postcode) == ("GB", "en", True, "SW1A 1AA")
    assert acme.contacts.get(kind="phone").value == "+442079460958"


def test_importing_the_same_file_twice_changes_nothing(org, good_file):
    import_file(org, "customers", good_file)
    again = import_file(org, "customers", good_file)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert Contact.objects.filter(customer__organisation=org).count() == 3


def test_a_changed_row_updates_the_customer(org, bob, tmp_path, good_file):
    import_file(org, "customers", good_file)
    changed = write_csv(tmp_path, "v2.csv", HEADER + DUPONT.replace("3 rue Neuve", "8 avenue Foch") + MARTIN)
    result = import_file(org, "customers", changed)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    assert Customer.objects.get(external_id="C001").address_line1 == "8 avenue Foch"


def test_a_new_billing_email_turns_the_previous_one_off(org, tmp_path, good_file):
    import_file(org, "customers", good_file)
    path = write_csv(tmp_path, "v2.csv", HEADER + DUPONT.replace("compta@dupont.fr", "factures@dupont.fr"))
    assert import_file(org, "customers", path).updated == 1
    emails = {c.value: (c.valid, c.invalid_reason) for c in Contact.objects.filter(kind="email",
                                                                                   customer__external_id="C001")}
    assert emails == {"factures@dupont.fr": (True, ""), "compta@dupont.fr": (False, REPLACED)}
    # Back to the first address: it is turned on again, the other off.
    import_file(org, "customers", good_file)
    valid = set(Contact.objects.filter(kind="email", customer__external_id="C001", valid=True).values_list(
        "value", flat=True))
    assert valid == {"compta@dupont.fr"}


def test_an_empty_email_cell_leaves_the_contacts_alone(org, tmp_path, good_file):
    import_file(org, "customers", good_file)
    path = write_csv(tmp_path, "v2.csv", HEADER + DUPONT.replace("compta@dupont.fr", ""))
    import_file(org, "customers", path)
    assert Contact.objects.get(kind="email", customer__external_id="C001").valid


def test_a_collector_from_another_organisation_is_an_error(org, charlie, tmp_path):
    path = write_csv(tmp_path, "c.csv", "Code client;Nom;Chargé de recouvrement\nC9;Durand;charlie\n")
    result = import_file(org, "customers", path)
    assert [(e.line, e.field) for e in result.errors] == [(2, "Chargé de recouvrement")]
    assert "charlie n'est pas membre" in result.errors[0].message
    assert not Customer.objects.exists()


def test_bad_cells_refuse_the_whole_file_and_are_all_listed(org, tmp_path):
    path = write_csv(tmp_path, "c.csv", HEADER + DUPONT.replace(";bob", ";") +
                     "C003;Bad;732829321;;société anonyme;pas-un-mail;12;;;;Atlantide;de;peut-être;\n")
    result = import_file(org, "customers", path)
    assert not result.ok
    fields = {e.field for e in result.errors if e.line == 3}
    assert fields == {"SIREN", "Type", "E-mail", "Téléphone", "Pays", "Langue", "Stratégique"}
    assert not Customer.objects.exists() and not ImportBatch.objects.exists()
    assert (result.created, result.updated, result.unchanged) == (0, 0, 0)


def test_a_siret_of_another_siren_is_an_error(org, tmp_path):
    path = write_csv(tmp_path, "c.csv", "Code client;Nom;SIREN;SIRET\nC1;A;732829320;55210055400013\n")
    result = import_file(org, "customers", path)
    assert [(e.line, e.field) for e in result.errors] == [(2, "SIRET")]


def test_the_siren_is_taken_from_the_siret_when_missing(org, tmp_path):
    path = write_csv(tmp_path, "c.csv", "Code client;Nom;SIRET\nC1;A;552 100 554 00013\n")
    assert import_file(org, "customers", path).ok
    assert Customer.objects.get(external_id="C1").siren == "552100554"


def test_a_code_client_twice_in_one_file_is_an_error(org, tmp_path):
    path = write_csv(tmp_path, "c.csv", "Code client;Nom\nC1;A\nC2;B\nC1;A bis\n")
    result = import_file(org, "customers", path)
    assert [(e.line, e.field, e.message) for e in result.errors] == [
        (4, "Code client", "code client en double (déjà ligne 2)")
    ]


def test_a_new_customer_needs_a_name_but_an_update_does_not(org, tmp_path, customer):
    path = write_csv(tmp_path, "c.csv", "Code client;Ville\nC001;Marseille\nC777;Nice\n")
    result = import_file(org, "customers", path)
    assert [(e.line, e.field) for e in result.errors] == [(3, "Raison sociale")]
    path = write_csv(tmp_path, "d.csv", "Code client;Ville\nC001;Marseille\n")
    assert import_file(org, "customers", path).updated == 1
    customer.refresh_from_db()
    assert (customer.name, customer.city) == ("Dupont SARL", "Marseille")


def test_the_same_code_in_another_organisation_is_another_customer(org, other_org, tmp_path, customer):
    path = write_csv(tmp_path, "c.csv", "Code client;Nom\nC001;Autre Dupont\n")
    assert import_file(other_org, "customers", path).created == 1
    customer.refresh_from_db()
    assert customer.name == "Dupont SARL"
    assert Customer.objects.filter(external_id="C001").count() == 2


SLOTS, _ = resolve(HEADER.strip().split(";"), COLUMNS)
PLAN = plan_of(SLOTS)


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(max_size=30), min_size=0, max_size=16))
def test_any_row_gives_values_or_clear_problems(cells):
    values, problems = read_row(cells, PLAN)
    if not problems:
        problems = check_customer(values, {"bob": 2}, date(2026, 12, 1))
    for field, message in problems:
        assert field and message and isinstance(message, str)
