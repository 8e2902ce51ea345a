"""The customer page: figures, contacts, invoices with their status, the timeline, the walls."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from relance.dunning import actions
from relance.dunning.defaults import install_default_scenarios
from relance.dunning.models import Note, Promise, Reminder, ReminderLine, Task
from relance.ledger.balances import allocate
from relance.ledger.models import Contact, Payment
from relance.portal.models import PortalRequest, PortalVisit
from tests.schedule_support import set_schedule

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
TODAY = datetime(2026, 7, 20, 10, 0, tzinfo=PARIS)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(TODAY, tick=False):
        yield


@pytest.fixture
def scenarios(org):
    install_default_scenarios(org)
    return org


def url(customer, org_slug="abc"):
    return f"/o/{org_slug}/clients/{customer.pk}/"


def test_the_page_shows_the_figures_the_invoices_and_the_contacts(client, bob, scenarios, customer, make_invoice):
    make_invoice(number="F-LATE", total="1000.00", due=date(2026, 6, 30))
    make_invoice(number="F-SOON", total="250.00", due=date(2026, 7, 25), issue=date(2026, 6, 25))
    paid = make_invoice(number="F-PAID", total="100.00", due=date(2026, 5, 1), issue=date(2026, 4, 1))
    payment = Payment.objects.create(organisation=customer.organisation, customer=customer, date=date(2026, 5, 11),
                                     amount=Decimal("100.00"))
    allocate(paid, Decimal("100.00"), payment=payment, user=bob)
    customer.risk_score, customer.risk_reasons = 62, ["2 factures en retard de plus de 30 jours"]
    customer.save()
    client.force_login(bob)
    response = client.get(url(customer))
    assert response.status_code == 200
    page = response.content.decode()
    figures = response.context["figures"]
    assert (figures.total_due, figures.overdue, figures.open_count) == (Decimal("1250.00"), Decimal("1000.00"), 2)
    assert figures.avg_days_late == Decimal("10.0")
    assert "1\u202f250,00\xa0€" in page or "1 250,00" in page.replace("\u202f", " ").replace("\xa0", " ")
    assert "2 factures en retard de plus de 30 jours" in page
    assert "compta@dupont.fr" in page
    statuses = {r["number"]: r["status_label"] for r in response.context["open_rows"]}
    assert statuses == {"F-LATE": "À relancer", "F-SOON": "À prévenir"}
    assert [r["number"] for r in response.context["closed_rows"]] == ["F-PAID"]
    assert response.context["closed_rows"][0]["status_label"] == "Soldée"


def test_the_next_planned_action_comes_from_the_schedule(client, bob, scenarios, customer, make_invoice):
    inv = make_invoice(number="F1", due=date(2026, 7, 10))
    set_schedule(inv, "first", date(2026, 7, 15), date(2026, 7, 22))
    client.force_login(bob)
    response = client.get(url(customer))
    action = response.context["next_action"]
    assert (action["number"], action["next_date"], action["next_step"]) == ("F1", date(2026, 7, 22), "call")
    assert "Appel au service comptable" in response.content.decode()


def test_the_timeline_holds_everything_newest_first(client, bob, scenarios, customer, make_invoice):
    org = customer.organisation
    inv = make_invoice(number="F1", due=date(2026, 6, 30))
    other = make_invoice(number="F2", due=date(2026, 6, 15))
    with time_machine.travel(datetime(2026, 7, 1, 9, tzinfo=PARIS), tick=False):
        reminder = Reminder.objects.create(organisation=org, customer=customer, channel="email",
                                           run_date=date(2026, 7, 1), scenario_code="standard", step_code="first",
                                           template="first_reminder", state="sent", subject="Facture F1 échue",
                                           recipient="compta@dupont.fr", total_due=Decimal("1200.00"),
                                           body_text="Madame, Monsieur,\nla facture F1 est échue.")
        Reminder.objects.filter(pk=reminder.pk).update(sent_at=datetime(2026, 7, 1, 9, 5, tzinfo=PARIS))
        ReminderLine.objects.create(reminder=reminder, invoice=inv, step_code="first", balance=Decimal("1200.00"))
    with time_machine.travel(datetime(2026, 7, 2, 9, tzinfo=PARIS), tick=False):
        PortalVisit.objects.create(organisation=org, customer=customer, reminder=reminder)
    with time_machine.travel(datetime(2026, 7, 3, 9, tzinfo=PARIS), tick=False):
        task = actions.create_task(customer, "call", "Appeler Dupont", invoices=[inv], user=bob)
    with time_machine.travel(datetime(2026, 7, 6, 9, tzinfo=PARIS), tick=False):
        actions.record_promise(inv, date(2026, 7, 31), user=bob)
    with time_machine.travel(datetime(2026, 7, 7, 9, tzinfo=PARIS), tick=False):
        actions.open_dispute(other, "Livraison incomplète", user=bob)
    with time_machine.travel(datetime(2026, 7, 8, 9, tzinfo=PARIS), tick=False):
        request = PortalRequest.objects.create(organisation=org, customer=customer, kind="plan", comment="3 fois")
        request.invoices.set([inv])
    payment = Payment.objects.create(organisation=org, customer=customer, date=date(2026, 7, 9),
                                     amount=Decimal("200.00"), reference="VIR 123")
    allocate(inv, Decimal("200.00"), payment=payment, user=bob)
    with time_machine.travel(datetime(2026, 7, 10, 9, tzinfo=PARIS), tick=False):
        actions.add_note(customer, "Rappeler lundi", user=bob)
    client.force_login(bob)
    assert f'hx-get="/o/abc/clients/{customer.pk}/historique/"' in client.get(url(customer)).content.decode()
    response = client.get(url(customer) + "historique/", headers={"HX-Request": "true"})
    assert "<html" not in response.content.decode()
    events = response.context["events"]
    kinds = [e.kind for e in events]
    assert kinds == ["note", "payment", "request", "dispute", "promise", "task", "visit", "reminder"]
    assert [e.at for e in events] == sorted((e.at for e in events), reverse=True)
    page = response.content.decode()
    assert f'href="/o/abc/relances/{reminder.pk}/"' in page
    assert "Facture F1 échue" in page and "Rappeler lundi" in page and "Livraison incomplète" in page
    assert task.title in page and "VIR 123" in page
    assert "Madame, Monsieur,\nla facture F1 est échue." in page  # the reminder exactly as sent


def test_the_timeline_is_capped_with_more(client, bob, customer):
    for n in range(35):
        Note.objects.create(organisation=customer.organisation, customer=customer, author=bob, text=f"note {n}")
    client.force_login(bob)
    first = client.get(url(customer) + "historique/")
    assert len(first.context["events"]) == 30 and first.context["more_events"]
    assert f"/clients/{customer.pk}/historique/?events=60" in first.content.decode()
    more = client.get(url(customer) + "historique/?events=60")
    assert len(more.context["events"]) == 35 and not more.context["more_events"]


def test_a_viewer_sees_no_buttons(client, victor, customer):
    client.force_login(victor)
    page = client.get(url(customer)).content.decode()
    assert "/send-next/" not in page and "/note/" not in page and "update-contact" not in page


def test_a_collector_sees_the_buttons(client, bob, customer):
    client.force_login(bob)
    page = client.get(url(customer)).content.decode()
    for action in ("payment", "call", "promise", "dispute", "plan", "pause", "send-next", "statement", "note",
                   "add-contact", "update-contact", "remove-contact"):
        assert f"/clients/{customer.pk}/{action}/" in page


def test_another_organisation_gets_404(client, charlie, customer):
    client.force_login(charlie)
    assert client.get(url(customer)).status_code == 404
    assert client.get(url(customer) + "historique/").status_code == 404
    assert client.get(url(customer, "xyz")).status_code == 404


def test_the_page_queries_are_bounded(client, bob, scenarios, customer, make_invoice, django_assert_max_num_queries):
    org = customer.organisation
    for n in range(30):
        inv = make_invoice(number=f"F{n:03d}", due=date(2026, 6, 1) + timedelta(days=n))
        set_schedule(inv, "first", date(2026, 7, 1), date(2026, 7, 25))
        actions.add_note(customer, f"note {n}", invoice=inv, user=bob)
        Task.objects.create(organisation=org, customer=customer, kind="call", title=f"t{n}", due_date=date(2026, 7, 1))
        Promise.objects.create(organisation=org, invoice=inv, promised_date=date(2026, 8, 1))
        payment = Payment.objects.create(organisation=org, customer=customer, date=date(2026, 7, 2), amount=10)
        allocate(inv, Decimal("10"), payment=payment, user=bob)
    for n in range(5):
        Contact.objects.create(customer=customer, kind="phone", value=f"06 12 34 56 7{n}")
    client.force_login(bob)
    client.get(url(customer))
    with django_assert_max_num_queries(25):
        response = client.get(url(customer))
    assert response.status_code == 200
    with django_assert_max_num_queries(25):
        response = client.get(url(customer) + "historique/?events=200")
    assert len(response.context["events"]) == 120  # 30 each of notes, tasks, promises, payments
