"""The customers list: search, filters, sorts, pagination, the figures of a page in a bounded number of
queries, and the bulk actions (pause, resume, scenario, collector) with their walls."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied

from relance.dunning import actions
from relance.dunning.defaults import install_default_scenarios
from relance.dunning.models import Dispute, Scenario
from relance.ledger.models import Contact, Customer, InvoiceStatus

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.web.urls_with_customer")]

TODAY = date(2026, 12, 3)
URL = "/o/abc/clients/"
BULK = "/o/abc/clients/actions/"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(datetime(2026, 12, 3, 10, 0, tzinfo=ZoneInfo("Europe/Paris")), tick=False):
        yield


@pytest.fixture
def ledger(org, customer, make_invoice):
    """Three customers: Dupont (1,200 € 63 days late + 300 € not due), Martin (5,000 € 10 days late,
    one invoice in dispute), Zola (nothing due, paused, tagged vip)."""
    martin = Customer.objects.create(organisation=org, external_id="C002", name="Martin & Fils", siren="552100554",
                                     risk_segment="high", tags=["vip", "btp"])
    zola = Customer.objects.create(organisation=org, external_id="Z900", name="Zola SA", risk_segment="high",
                                   risk_segment_override="low", tags=["vip"], paused_until=date(2027, 1, 15),
                                   pause_reason="litige commercial")
    Contact.objects.create(customer=martin, kind="email", value="factures@martin-fils.fr")
    make_invoice("1200.00", due=date(2026, 10, 1))
    make_invoice("300.00", due=date(2026, 12, 20))
    make_invoice("4000.00", due=date(2026, 11, 23), cust=martin)
    disputed = make_invoice("1000.00", due=date(2026, 11, 25), cust=martin)
    paid = make_invoice("999.00", due=date(2026, 9, 1), cust=zola)
    paid.__class__.objects.filter(pk=paid.pk).update(open_balance=0, status=InvoiceStatus.PAID)
    actions.open_dispute(disputed, "prestation contestée")
    return {"dupont": customer, "martin": martin, "zola": zola}


def names(response) -> list[str]:
    return [row["name"] for row in response.context["rows"]]


def test_the_list_shows_each_customers_figures_segment_status_and_tags(client, alice, ledger):
    client.force_login(alice)
    response = client.get(URL)
    assert response.status_code == 200
    rows = {row["name"]: row for row in response.context["rows"]}
    assert rows["Dupont SARL"]["figures"].total_due == Decimal("1500.00")
    assert rows["Dupont SARL"]["figures"].overdue == Decimal("1200.00")
    assert rows["Dupont SARL"]["figures"].days_late == 63
    assert rows["Martin & Fils"]["figures"].overdue == Decimal("5000.00")
    assert rows["Martin & Fils"]["figures"].disputed == 1
    assert rows["Zola SA"]["figures"].total_due == Decimal("0.00") and rows["Zola SA"]["segment_label"] == "faible"
    html = response.content.decode()
    assert "1\u202f500,00\xa0€" in html or "1 500,00 €" in html.replace("\u202f", " ").replace("\xa0", " ")
    assert f'href="/o/abc/clients/{ledger["martin"].pk}/"' in html
    assert "Zola SA" in html and "vip" in html and "1 litige" in html
    assert "En pause jusqu’au" in html or "En pause jusqu'au" in html


@pytest.mark.parametrize("text, expected", [
    ("dupont", ["Dupont SARL"]),
    ("Z900", ["Zola SA"]),
    ("552 100 554", ["Martin & Fils"]),
    ("factures@martin", ["Martin & Fils"]),
    ("compta@dupont.fr", ["Dupont SARL"]),
    ("nobody-here", []),
])
def test_search_finds_by_name_code_siren_or_email(client, alice, ledger, text, expected):
    client.force_login(alice)
    assert names(client.get(URL, {"q": text})) == expected


def test_filters_by_segment_scenario_collector_status_and_tag(client, alice, bob, org, ledger):
    scenario = Scenario.objects.create(organisation=org, code="btp", name="Bâtiment")
    Customer.objects.filter(pk=ledger["martin"].pk).update(scenario=scenario, collector=bob)
    Customer.objects.filter(pk=ledger["dupont"].pk).update(in_insolvency=True)
    client.force_login(alice)
    assert names(client.get(URL, {"segment": "high"})) == ["Martin & Fils"]  # Zola's override says low
    assert names(client.get(URL, {"segment": "low"})) == ["Zola SA"]
    assert names(client.get(URL, {"scenario": scenario.pk})) == ["Martin & Fils"]
    assert names(client.get(URL, {"scenario": "none"})) == ["Dupont SARL", "Zola SA"]
    assert names(client.get(URL, {"collector": bob.pk})) == ["Martin & Fils"]
    assert names(client.get(URL, {"collector": "none"})) == ["Dupont SARL", "Zola SA"]
    assert names(client.get(URL, {"status": "paused"})) == ["Zola SA"]
    assert names(client.get(URL, {"status": "insolvency"})) == ["Dupont SARL"]
    assert names(client.get(URL, {"status": "disputed"})) == ["Martin & Fils"]
    assert names(client.get(URL, {"status": "clear"})) == []
    assert names(client.get(URL, {"tag": "vip"})) == ["Martin & Fils", "Zola SA"]
    assert names(client.get(URL, {"tag": "btp", "q": "martin"})) == ["Martin & Fils"]
    assert names(client.get(URL, {"tag": "vi"})) == []  # a whole tag, not a part of one
    # Nonsense values are ignored, not errors.
    assert names(client.get(URL, {"segment": "x", "scenario": "'; drop", "sort": "evil"})) == [
        "Dupont SARL", "Martin & Fils", "Zola SA"]


def test_the_pause_status_ends_with_the_pause(client, alice, ledger):
    Customer.objects.filter(pk=ledger["zola"].pk).update(paused_until=date(2026, 12, 2))
    client.force_login(alice)
    assert names(client.get(URL, {"status": "paused"})) == []


@pytest.mark.parametrize("sort, expected", [
    ("name", ["Dupont SARL", "Martin & Fils", "Zola SA"]),
    ("-name", ["Zola SA", "Martin & Fils", "Dupont SARL"]),
    ("-overdue", ["Martin & Fils", "Dupont SARL", "Zola SA"]),
    ("overdue", ["Zola SA", "Dupont SARL", "Martin & Fils"]),
    ("-late", ["Dupont SARL", "Martin & Fils", "Zola SA"]),
    ("late", ["Martin & Fils", "Dupont SARL", "Zola SA"]),  # nothing overdue: last either way
])
def test_sorts_by_name_overdue_amount_and_days_late(client, alice, ledger, sort, expected):
    client.force_login(alice)
    assert names(client.get(URL, {"sort": sort})) == expected
    # Searched (every name holds an "a"), the figures are sorted the same way without their index.
    assert names(client.get(URL, {"sort": sort, "q": "a"})) == expected


@pytest.fixture
def many(org):
    Customer.objects.bulk_create(
        Customer(organisation=org, external_id=f"K{i:04d}", name=f"Client {i:04d}") for i in range(120)
    )


def test_pages_hold_fifty_customers_and_keep_the_filters(client, alice, many):
    client.force_login(alice)
    first = client.get(URL, {"q": "client"})
    assert len(first.context["rows"]) == 50 and first.context["total"] == 120 and first.context["pages"] == 3
    assert 'href="?q=client&amp;page=2"' in first.content.decode()
    last = client.get(URL, {"q": "client", "page": 3})
    assert names(last) == [f"Client {i:04d}" for i in range(100, 120)]
    assert names(client.get(URL, {"q": "client", "page": 99})) == names(last)  # past the end: the last page
    assert names(client.get(URL, {"page": "x"}))[0] == "Client 0000"


# Every page of the web app costs about ten queries before its own: the session read and write (with its
# savepoint), the user, the membership and its three permissions, the organisations of the menu.
FIXED = 10


def test_a_page_of_fifty_customers_takes_as_many_queries_as_a_page_of_one(
    client, alice, org, many, make_invoice, django_assert_max_num_queries, django_assert_num_queries
):
    for customer in Customer.objects.filter(organisation=org)[:60]:
        make_invoice("100.00", due=date(2026, 11, 1), cust=customer)
        make_invoice("50.00", due=date(2026, 12, 30), cust=customer)
    install_default_scenarios(org)
    client.force_login(alice)
    client.get(URL)  # the session's first write
    for sort in ("name", "-overdue", "-late"):
        # Its own: the count, the page's rows (sorted by a figure: their ids first, then the rows), their
        # figures, the scenarios and collectors of the filters.
        with django_assert_max_num_queries(FIXED + 6) as fifty:
            response = client.get(URL, {"sort": sort})
        assert len(response.context["rows"]) == 50
        with django_assert_num_queries(len(fifty)):
            assert len(client.get(URL, {"sort": sort, "q": "Client 0001"}).context["rows"]) == 1


def test_another_organisation_sees_a_404_and_its_customers_never_show(client, charlie, alice, other_org, ledger):
    Customer.objects.create(organisation=other_org, external_id="X1", name="Xylophone SAS")
    client.force_login(charlie)
    assert client.get(URL).status_code == 404
    assert client.post(BULK, {"action": "resume", "ids": [ledger["zola"].pk]}).status_code == 404
    client.force_login(alice)
    assert "Xylophone SAS" not in names(client.get(URL, {"q": "x"}))


def test_a_viewer_sees_no_bulk_form_and_may_not_post(client, victor, ledger):
    client.force_login(victor)
    html = client.get(URL).content.decode()
    assert 'name="ids"' not in html and "customers_bulk" not in html and 'id="bulk"' not in html
    response = client.post(BULK, {"action": "resume", "ids": [ledger["zola"].pk]})
    assert response.status_code == 403
    assert Customer.objects.get(pk=ledger["zola"].pk).paused_until == date(2027, 1, 15)


def test_a_collector_sees_the_bulk_form_with_labels(client, bob, ledger):
    client.force_login(bob)
    html = client.get(URL).content.decode()
    assert 'id="bulk"' in html and 'name="ids"' in html
    for field in ("action", "until", "reason", "scenario", "collector"):
        assert f'for="id_{field}"' in html


def test_bulk_pause_pauses_every_ticked_customer_through_the_action(client, bob, ledger):
    client.force_login(bob)
    ids = [ledger["dupont"].pk, ledger["martin"].pk]
    response = client.post(BULK, {"action": "pause", "ids": ids, "until": "2027-02-01", "reason": "Fermeture annuelle",
                                  "back": "sort=-overdue&q=a"})
    assert response.status_code == 302 and response["Location"] == "/o/abc/clients/?sort=-overdue&q=a"
    paused = Customer.objects.filter(pk__in=ids).values_list("paused_until", "pause_reason")
    assert set(paused) == {(date(2027, 2, 1), "Fermeture annuelle")}
    assert "2 client(s) mis à jour" in client.get(response["Location"]).content.decode()


def test_bulk_pause_needs_a_reason_and_a_future_date_and_changes_nothing_otherwise(client, alice, ledger):
    client.force_login(alice)
    ids = [ledger["dupont"].pk, ledger["martin"].pk]
    no_reason = client.post(BULK, {"action": "pause", "ids": ids, "until": "2027-02-01", "reason": " "}, follow=True)
    assert "Rien n’a changé" in no_reason.content.decode() or "Rien n'a changé" in no_reason.content.decode()
    past = client.post(BULK, {"action": "pause", "ids": ids, "until": "2026-11-01", "reason": "x"}, follow=True)
    assert "est passée" in past.content.decode()
    assert not Customer.objects.filter(pk__in=ids, paused_until__isnull=False).exists()
    nothing = client.post(BULK, {"action": "pause", "until": "2027-02-01", "reason": "x"}, follow=True)
    assert "Cochez au moins un client" in nothing.content.decode()


def test_bulk_resume_ends_the_pause(client, alice, ledger):
    client.force_login(alice)
    client.post(BULK, {"action": "resume", "ids": [ledger["zola"].pk]})
    zola = Customer.objects.get(pk=ledger["zola"].pk)
    assert zola.paused_until is None and zola.pause_reason == ""


def test_bulk_assigns_a_scenario_and_back_to_the_rules(client, alice, org, ledger):
    install_default_scenarios(org)
    scenario = Scenario.objects.filter(organisation=org).first()
    client.force_login(alice)
    ids = [ledger["dupont"].pk, ledger["martin"].pk]
    client.post(BULK, {"action": "scenario", "ids": ids, "scenario": scenario.pk})
    assert set(Customer.objects.filter(pk__in=ids).values_list("scenario_id", flat=True)) == {scenario.pk}
    assert Customer.objects.get(pk=ledger["zola"].pk).scenario_id is None
    client.post(BULK, {"action": "scenario", "ids": ids[:1], "scenario": ""})
    assert Customer.objects.get(pk=ids[0]).scenario_id is None


def test_bulk_refuses_a_scenario_of_another_organisation(client, alice, other_org, ledger):
    foreign = Scenario.objects.create(organisation=other_org, code="x", name="Scénario XYZ")
    client.force_login(alice)
    response = client.post(BULK, {"action": "scenario", "ids": [ledger["dupont"].pk], "scenario": foreign.pk},
                           follow=True)
    assert "Rien n" in response.content.decode()
    assert Customer.objects.get(pk=ledger["dupont"].pk).scenario_id is None


def test_bulk_assigns_a_collector_but_never_a_viewer_or_an_outsider(client, alice, bob, victor, charlie, ledger):
    client.force_login(alice)
    dupont = ledger["dupont"].pk
    client.post(BULK, {"action": "collector", "ids": [dupont], "collector": bob.pk})
    assert Customer.objects.get(pk=dupont).collector_id == bob.pk
    for refused in (victor, charlie):
        client.post(BULK, {"action": "collector", "ids": [dupont], "collector": refused.pk})
        assert Customer.objects.get(pk=dupont).collector_id == bob.pk
    client.post(BULK, {"action": "collector", "ids": [dupont], "collector": ""})
    assert Customer.objects.get(pk=dupont).collector_id is None


def test_bulk_ignores_the_ids_of_another_organisations_customers(client, alice, other_org, ledger):
    theirs = Customer.objects.create(organisation=other_org, external_id="X1", name="Xylophone SAS")
    client.force_login(alice)
    client.post(BULK, {"action": "pause", "ids": [theirs.pk], "until": "2027-02-01", "reason": "x"})
    assert Customer.objects.get(pk=theirs.pk).paused_until is None


def test_bulk_answers_405_to_a_get(client, alice):
    client.force_login(alice)
    assert client.get(BULK).status_code == 405


# The action itself (relance.dunning.actions.assign_customers).

def test_assign_customers_sets_the_scenario_and_collector_of_the_organisations_customers(org, alice, bob, ledger):
    install_default_scenarios(org)
    scenario = Scenario.objects.filter(organisation=org).first()
    ids = [ledger["dupont"].pk, ledger["martin"].pk]
    assert actions.assign_customers(org, ids, scenario=scenario, collector=bob, user=alice) == 2
    assert set(Customer.objects.filter(pk__in=ids).values_list("scenario_id", "collector_id")) == {
        (scenario.pk, bob.pk)}
    # KEEP by default: a collector change leaves the scenario alone.
    actions.assign_customers(org, ids, collector=None, user=alice)
    assert set(Customer.objects.filter(pk__in=ids).values_list("scenario_id", "collector_id")) == {
        (scenario.pk, None)}


def test_assign_customers_refuses_another_organisations_scenario_and_non_collectors(
    org, other_org, alice, victor, charlie, ledger
):
    foreign = Scenario.objects.create(organisation=other_org, code="x", name="XYZ")
    with pytest.raises(actions.DunningError):
        actions.assign_customers(org, [ledger["dupont"].pk], scenario=foreign, user=alice)
    for person in (victor, charlie):
        with pytest.raises(actions.DunningError):
            actions.assign_customers(org, [ledger["dupont"].pk], collector=person, user=alice)
    assert Customer.objects.get(pk=ledger["dupont"].pk).scenario_id is None


def test_assign_customers_needs_the_write_permission(org, victor, charlie, bob, ledger):
    for person in (victor, charlie):
        with pytest.raises(PermissionDenied):
            actions.assign_customers(org, [ledger["dupont"].pk], collector=bob, user=person)
    assert Customer.objects.get(pk=ledger["dupont"].pk).collector_id is None


def test_assign_customers_leaves_another_organisations_customers_alone(org, other_org, alice, bob):
    theirs = Customer.objects.create(organisation=other_org, external_id="X1", name="Xylophone SAS")
    assert actions.assign_customers(org, [theirs.pk], collector=bob, user=alice) == 0
    assert Customer.objects.get(pk=theirs.pk).collector_id is None


def test_an_open_dispute_is_what_the_disputed_status_reads(ledger):
    assert Dispute.objects.filter(is_open=True, invoice__customer=ledger["martin"]).count() == 1
