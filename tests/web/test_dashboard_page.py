"""The dashboard /o/<slug>/: every figure, bucket and list on a crafted ledger, frozen on 3 December 2026."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings

from relance.dunning.models import Dispute, Promise, PromiseState, Reminder, ReminderState
from relance.ledger import balances
from relance.ledger.models import Customer, Invoice, Payment
from relance.ledger.queries import get_aged_balance
from relance.web.reads import dashboard as reads

TODAY = date(2026, 12, 3)
NOW = "2026-12-03 11:00 +01:00"  # noon in Paris


def late(days: int) -> date:
    return TODAY - timedelta(days=days)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def ledger(org, other_org, alice, customer, make_invoice):
    """Dupont (the fixture customer), Martin and Zeta; see each line for its bucket."""
    martin = Customer.objects.create(organisation=org, external_id="C002", name="Martin SA")
    zeta = Customer.objects.create(organisation=org, external_id="C003", name="Zeta SAS")
    inv = {
        # not due: due in a week, and due today (0 days past due)
        "A": make_invoice("1250.00", due=TODAY + timedelta(days=7), issue=date(2026, 11, 10)),
        "E": make_invoice("100.00", due=TODAY, issue=date(2026, 11, 3)),
        # 10 days late, partly paid (400 of 1000): 600.00 in 1–30
        "B": make_invoice("1000.00", due=late(10), issue=date(2026, 10, 24)),
        # paid in November: out of the receivables, in the sales
        "C": make_invoice("500.00", due=late(20), issue=date(2026, 10, 1)),
        # 121 days late: 120+
        "D": make_invoice("2400.00", due=late(121), issue=date(2026, 7, 5)),
        "F": make_invoice("3000.00", due=late(45), issue=date(2026, 9, 19), cust=martin),
        "G": make_invoice("333.33", due=late(75), issue=date(2026, 8, 20), cust=martin),
        "H": make_invoice("1234.56", due=late(100), issue=date(2026, 7, 25), cust=zeta),
        # exactly 120 days late: still 91–120
        "I": make_invoice("10.01", due=late(120), issue=date(2026, 7, 5), cust=zeta),
        "X": make_invoice("999.00", due=late(5), issue=date(2026, 11, 15)),
    }
    Invoice.objects.filter(pk=inv["X"].pk).update(status="cancelled")
    # Another organisation's invoice and payment count nowhere here.
    stranger = Customer.objects.create(organisation=other_org, external_id="C001", name="Autre")
    Invoice.objects.create(organisation=other_org, customer=stranger, number="Z1", issue_date=late(30),
                           due_date=late(30), total=Decimal("777.00"), open_balance=Decimal("777.00"))
    Payment.objects.create(organisation=other_org, date=TODAY, amount=Decimal("777.00"))

    def pay(invoice, amount, on):
        payment = balances.record_payment(
            Payment(organisation=org, customer=invoice.customer, date=on, amount=Decimal(amount)), user=alice)
        balances.allocate(invoice, Decimal(amount), payment=payment, user=alice)

    pay(inv["B"], "400.00", date(2026, 12, 1))
    pay(inv["C"], "500.00", date(2026, 11, 20))
    for amount, on in (("0.10", date(2026, 12, 2)), ("0.20", date(2026, 12, 3)), ("50.00", date(2025, 12, 15))):
        balances.record_payment(Payment(organisation=org, date=on, amount=Decimal(amount)), user=alice)

    def remind(cust, channel, state, total, run_date=TODAY, approved_by=None):
        Reminder.objects.create(organisation=org, customer=cust, channel=channel, run_date=run_date, state=state,
                                scenario_code="std", step_code="s1", template="t", total_due=Decimal(total),
                                approved_by=approved_by)

    remind(customer, "email", ReminderState.PLANNED, "600.00")
    remind(martin, "email", ReminderState.PLANNED, "3333.33", approved_by=alice)
    remind(zeta, "letter", ReminderState.AWAITING_APPROVAL, "1244.57")
    remind(martin, "sms", ReminderState.SENT, "3333.33")  # already gone
    remind(customer, "email", ReminderState.PLANNED, "600.00", run_date=late(1))  # yesterday's

    Promise.objects.create(organisation=org, invoice=inv["B"], promised_date=TODAY, amount=Decimal("300.00"))
    Promise.objects.create(organisation=org, invoice=inv["F"], promised_date=TODAY)  # the whole balance
    Promise.objects.create(organisation=org, invoice=inv["G"], promised_date=late(8), amount=Decimal("200.00"),
                           state=PromiseState.BROKEN)
    Promise.objects.create(organisation=org, invoice=inv["G"], promised_date=late(60), amount=Decimal("50.00"),
                           state=PromiseState.BROKEN)  # too old to show
    Promise.objects.create(organisation=org, invoice=inv["H"], promised_date=TODAY + timedelta(days=1))

    Dispute.objects.create(organisation=org, invoice=inv["D"], reason="prix")
    Dispute.objects.create(organisation=org, invoice=inv["H"], reason="livraison")
    Dispute.objects.create(organisation=org, invoice=inv["G"], reason="ancien", is_open=False)
    return {"invoices": inv, "martin": martin, "zeta": zeta}


def test_each_bucket_holds_exactly_its_invoices(ledger, org, frozen):
    aged = reads.get_dashboard_aged_balance(org, TODAY)
    assert [(b.key, b.amount, b.count) for b in aged.buckets] == [
        ("not_due", Decimal("1350.00"), 2),
        ("d1_30", Decimal("600.00"), 1),
        ("d31_60", Decimal("3000.00"), 1),
        ("d61_90", Decimal("333.33"), 1),
        ("d91_120", Decimal("1244.57"), 2),
        ("d120_plus", Decimal("2400.00"), 1),
    ]
    assert aged.total == Decimal("8927.90") and aged.count == 8
    assert aged.overdue == Decimal("7577.90") and aged.overdue_count == 6
    assert aged.overdue_share == Decimal("7577.90") / Decimal("8927.90")


def test_the_figures_are_exact(ledger, org, frozen):
    assert reads.get_sales(org, TODAY) == Decimal("5850.00")  # A B C E F: the paid one counts, the cancelled not
    assert reads.get_counters(org, TODAY)["sales"] == Decimal("5850.00")
    assert reads.dso(Decimal("8927.90"), Decimal("5850.00")) == Decimal("137")  # 8927.90 / 5850 × 90 = 137.35
    assert reads.dso(Decimal("10.00"), Decimal("0.00")) is None
    collected = reads.list_collected_by_month(org, TODAY)
    assert len(collected) == 12 and collected[0] == (date(2026, 1, 1), Decimal("0.00"))
    assert collected[-1] == (date(2026, 12, 1), Decimal("400.30"))
    assert collected[-2] == (date(2026, 11, 1), Decimal("500.00"))
    assert sum(a for _, a in collected) == Decimal("900.30")  # December 2025 is out of the window


def test_todays_actions_count_planned_approved_awaiting_and_sent_per_channel(ledger, org, frozen):
    loads = reads.list_todays_reminders(org, TODAY)
    assert [(c.channel, c.planned, c.approved, c.awaiting, c.sent, c.amount) for c in loads] == [
        ("email", 2, 1, 0, 0, Decimal("3933.33")),
        ("sms", 0, 0, 0, 1, Decimal("0.00")),
        ("letter", 0, 0, 1, 0, Decimal("1244.57")),
    ]


def test_promises_disputes_and_top_customers(ledger, org, frozen):
    counters = reads.get_counters(org, TODAY)
    promises = counters["promises"]
    assert (promises["due_count"], promises["due_amount"]) == (2, Decimal("3300.00"))
    assert (promises["broken_count"], promises["broken_amount"]) == (1, Decimal("200.00"))
    listed = reads.list_promises_to_follow(org, TODAY)
    assert [(p["invoice__number"], p["broken"], p["promised"]) for p in listed] == [
        (ledger["invoices"]["B"].number, False, Decimal("300.00")),
        (ledger["invoices"]["F"].number, False, Decimal("3000.00")),
        (ledger["invoices"]["G"].number, True, Decimal("200.00")),
    ]
    assert counters["disputes"] == {"count": 2, "amount": Decimal("3634.56")}
    top = reads.list_top_overdue_customers(org, TODAY)
    assert [(c["name"], c["overdue"], c["invoices"], c["days_late"]) for c in top] == [
        ("Martin SA", Decimal("3333.33"), 2, 75),
        ("Dupont SARL", Decimal("3000.00"), 2, 121),
        ("Zeta SAS", Decimal("1244.57"), 2, 120),
    ]


def test_the_page_shows_every_block_in_french(client, alice, ledger, frozen, django_assert_max_num_queries):
    client.force_login(alice)
    client.get("/o/abc/")  # the first read of the day builds the ledger's running totals
    with django_assert_max_num_queries(19):
        response = client.get("/o/abc/")
    assert response.status_code == 200
    html = response.content.decode()
    nb, nnb = "\u00a0", "\u202f"
    for amount in ("8" + nnb + "927,90" + nb + "€",  # receivables
                   "7" + nnb + "577,90" + nb + "€",  # overdue
                   "1" + nnb + "350,00" + nb + "€", "600,00" + nb + "€", "3" + nnb + "000,00" + nb + "€",
                   "333,33" + nb + "€", "1" + nnb + "244,57" + nb + "€", "2" + nnb + "400,00" + nb + "€",
                   "400,30" + nb + "€",  # collected this month
                   "3" + nnb + "634,56" + nb + "€",  # disputes
                   "3" + nnb + "933,33" + nb + "€"):  # today's e-mails
        assert amount in html, amount
    assert "85" + nb + "%" in html  # overdue share
    assert "137 jours" in html and "Méthode simple" in html
    assert "Tableau de bord" in html and "Balance âgée" in html
    assert "Plus de 120 jours" in html and "91–120 jours" in html
    assert 'href="/o/abc/aujourdhui/"' in html
    assert "(dont 1 approuvée)" in html and "Envoyés aujourd'hui" in html
    martin = ledger["martin"]
    assert f'href="/o/abc/clients/{martin.pk}/"' in html
    assert html.index("Martin SA") < html.index("Zeta SAS")
    assert "Autre" not in html and "777,00" not in html


def test_the_promises_to_follow_come_as_a_fragment_or_a_page(client, victor, ledger, frozen,
                                                             django_assert_max_num_queries):
    client.force_login(victor)
    page = client.get("/o/abc/").content.decode()
    assert 'hx-get="/o/abc/tableau/promesses/"' in page
    with django_assert_max_num_queries(12):
        fragment = client.get("/o/abc/tableau/promesses/", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in fragment and "non tenue" in fragment and "300,00\u00a0€" in fragment
    b, g = ledger["invoices"]["B"], ledger["invoices"]["G"]
    assert fragment.index(b.number) < fragment.index(g.number)  # due today first, then broken
    assert f'href="/o/abc/factures/{b.pk}/"' in fragment
    full = client.get("/o/abc/tableau/promesses/").content.decode()
    assert "<html" in full and "Promesses à suivre" in full


def test_the_chart_data_goes_to_the_script_as_json(client, alice, ledger, frozen):
    client.force_login(alice)
    response = client.get("/o/abc/")
    html = response.content.decode()
    assert "web/vendor/chart.umd.min.js" in html and "web/js/dashboard.js" in html
    aged = response.context["aged_chart"]
    assert aged["values"] == ["1350.00", "600.00", "3000.00", "333.33", "1244.57", "2400.00"]
    assert aged["labels"][0] == "Non échue" and aged["labels"][-1] == "Plus de 120 jours"
    assert '<script id="aged-chart-data" type="application/json">' in html
    start = html.index('<script id="aged-chart-data" type="application/json">')
    payload = html[html.index(">", start) + 1:html.index("</script>", start)]
    assert json.loads(payload)["values"] == aged["values"]
    collected = response.context["collected_chart"]
    assert len(collected["values"]) == 12 and collected["values"][-2:] == ["500.00", "400.30"]
    assert collected["labels"][-1] == "déc. 2026"


def test_a_viewer_reads_the_dashboard(client, victor, ledger, frozen):
    client.force_login(victor)
    response = client.get("/o/abc/")
    assert response.status_code == 200
    assert "8\u202f927,90\u00a0€" in response.content.decode()


def test_the_dashboard_only_reads(client, victor, alice, frozen):
    for user in (victor, alice):
        client.force_login(user)
        assert client.post("/o/abc/").status_code == 405
        assert client.post("/o/abc/tableau/promesses/").status_code == 405


def test_charlie_gets_a_404(client, charlie, ledger, frozen):
    client.force_login(charlie)
    assert client.get("/o/abc/").status_code == 404
    assert client.get("/o/abc/tableau/promesses/").status_code == 404
    response = client.get("/o/xyz/")
    assert response.status_code == 200
    assert "777,00" in response.content.decode()  # his own invoice, not alice's
    assert "8\u202f927,90" not in response.content.decode()


def test_an_empty_organisation_shows_zeros_and_no_dso(client, alice, frozen):
    client.force_login(alice)
    response = client.get("/o/abc/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "0,00\u00a0€" in html and response.context["dso"] is None
    assert response.context["aged"].overdue_share is None


def test_the_dashboard_reads_in_english_too(client, alice, ledger, frozen):
    client.force_login(alice)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # what the language switch sets
    html = client.get("/o/abc/").content.decode()
    assert "Aged balance" in html and "€8,927.90" in html


def test_the_dashboard_reads_in_french_whatever_the_browser_asks(client, alice, ledger, frozen):
    client.force_login(alice)
    html = client.get("/o/abc/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert "Balance âgée" in html and "8\u202f927,90\u00a0€" in html


def test_the_ledgers_aged_balance_keeps_its_default_buckets(ledger, org, frozen):
    row = get_aged_balance(org, TODAY)
    assert row["total"] == Decimal("8927.90") and row["count"] == 8
    assert row["not_due"] == Decimal("1350.00") and row["d90_plus"] == Decimal("3644.57")
    assert row["d1_30_count"] == 1
