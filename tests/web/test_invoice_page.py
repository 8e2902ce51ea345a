"""The invoice page: figures, status, schedule, its own history, its document; the walls."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.base import ContentFile

from relance.dunning import actions
from relance.dunning.defaults import install_default_scenarios
from relance.dunning.models import Reminder, ReminderLine
from relance.ledger.balances import allocate
from relance.ledger.models import Invoice, Payment
from relance.portal.models import PortalRequest
from tests.schedule_support import set_schedule

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(datetime(2026, 7, 20, 10, 0, tzinfo=PARIS), tick=False):
        yield


@pytest.fixture
def scenarios(org):
    install_default_scenarios(org)
    return org


def url(invoice, suffix="", slug="abc"):
    return f"/o/{slug}/factures/{invoice.pk}/{suffix}"


def test_the_page_shows_figures_status_and_schedule(client, bob, scenarios, customer, make_invoice):
    inv = make_invoice(number="F1", total="1200.00", due=date(2026, 7, 1))
    set_schedule(inv, "first", date(2026, 7, 6), date(2026, 7, 22))
    payment = Payment.objects.create(organisation=inv.organisation, customer=customer, date=date(2026, 7, 9),
                                     amount=Decimal("200.00"))
    allocate(inv, Decimal("200.00"), payment=payment, user=bob)
    client.force_login(bob)
    response = client.get(url(inv))
    assert response.status_code == 200
    row = response.context["row"]
    assert (row["balance"], row["status_label"], row["days_late"]) == (Decimal("1000.00"), "À relancer", 19)
    assert (row["next_date"], row["next_step"]) == (date(2026, 7, 22), "call")
    page = response.content.decode()
    assert "Appel au service comptable" in page and "Relance structurée" not in page
    assert f'hx-get="/o/abc/factures/{inv.pk}/historique/"' in page


def test_its_history_holds_only_its_own_events(client, bob, customer, make_invoice):
    org = customer.organisation
    inv = make_invoice(number="F1", due=date(2026, 7, 1))
    other = make_invoice(number="F2", due=date(2026, 7, 1))
    with time_machine.travel(datetime(2026, 7, 6, 9, tzinfo=PARIS), tick=False):
        reminder = Reminder.objects.create(organisation=org, customer=customer, channel="email",
                                           run_date=date(2026, 7, 6), scenario_code="standard", step_code="first",
                                           template="first_reminder", state="sent", subject="Votre facture F1")
        ReminderLine.objects.create(reminder=reminder, invoice=inv, step_code="first", balance=Decimal("1200.00"))
    with time_machine.travel(datetime(2026, 7, 7, 9, tzinfo=PARIS), tick=False):
        actions.record_promise(inv, date(2026, 7, 31), user=bob)
        actions.open_dispute(other, "Pas la mienne", user=bob)
    with time_machine.travel(datetime(2026, 7, 8, 9, tzinfo=PARIS), tick=False):
        request = PortalRequest.objects.create(organisation=org, customer=customer, kind="paid", comment="Virement")
        request.invoices.set([inv])
    payment = Payment.objects.create(organisation=org, customer=customer, date=date(2026, 7, 9),
                                     amount=Decimal("100.00"), reference="VIR 9")
    allocate(inv, Decimal("100.00"), payment=payment, user=bob)
    with time_machine.travel(datetime(2026, 7, 10, 9, tzinfo=PARIS), tick=False):
        actions.add_note(customer, "Sur F1", invoice=inv, user=bob)
        actions.add_note(customer, "Sur le client", user=bob)
    client.force_login(bob)
    response = client.get(url(inv, "historique/"), headers={"HX-Request": "true"})
    events = response.context["events"]
    assert [e.kind for e in events] == ["note", "allocation", "request", "promise", "reminder"]
    page = response.content.decode()
    assert "Sur F1" in page and "Sur le client" not in page and "Pas la mienne" not in page
    assert f'href="/o/abc/relances/{reminder.pk}/"' in page and "Votre facture F1" in page


def test_its_document_is_downloaded_through_the_wall(client, bob, charlie, customer, make_invoice, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    inv = make_invoice(number="F1")
    inv.document.save("F1.pdf", ContentFile(b"%PDF-1.4 facture"), save=False)
    Invoice.objects.filter(pk=inv.pk).update(document=inv.document.name)
    client.force_login(bob)
    page = client.get(url(inv)).content.decode()
    assert f"/o/abc/factures/{inv.pk}/document/" in page
    response = client.get(url(inv, "document/"))
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"%PDF-1.4 facture"
    assert "attachment" in response["Content-Disposition"]
    client.force_login(charlie)
    assert client.get(url(inv, "document/")).status_code == 404


def test_an_invoice_without_document_has_no_download(client, bob, make_invoice):
    inv = make_invoice(number="F1")
    client.force_login(bob)
    assert client.get(url(inv, "document/")).status_code == 404


def test_a_viewer_reads_it_without_buttons(client, victor, make_invoice):
    inv = make_invoice(number="F1")
    client.force_login(victor)
    response = client.get(url(inv))
    assert response.status_code == 200 and "/note/" not in response.content.decode()


def test_a_collector_gets_the_invoice_buttons_that_come_back_here(client, bob, customer, make_invoice):
    inv = make_invoice(number="F1")
    client.force_login(bob)
    page = client.get(url(inv)).content.decode()
    for action in ("promise", "dispute", "note"):
        assert f"/clients/{customer.pk}/{action}/" in page
    assert f'name="next" value="/o/abc/factures/{inv.pk}/"' in page


def test_another_organisation_gets_404(client, charlie, make_invoice):
    inv = make_invoice(number="F1")
    client.force_login(charlie)
    for suffix in ("", "historique/", "document/"):
        assert client.get(url(inv, suffix)).status_code == 404
        assert client.get(url(inv, suffix, "xyz")).status_code == 404


def test_the_page_queries_are_bounded(client, bob, scenarios, customer, make_invoice, django_assert_max_num_queries):
    inv = make_invoice(number="F1", due=date(2026, 7, 1))
    for n in range(20):
        actions.add_note(customer, f"note {n}", invoice=inv, user=bob)
    client.force_login(bob)
    client.get(url(inv))
    with django_assert_max_num_queries(25):
        assert client.get(url(inv)).status_code == 200
    with django_assert_max_num_queries(25):
        assert client.get(url(inv, "historique/")).status_code == 200
