"""A collector's day across the pages, in a real browser (chromium through Playwright, the app on the live
server), a screenshot of each step into test-artifacts/screenshots/:
  a) bob signs in through the form, reads the dashboard, opens a customer whose overdue invoice has a call
     due today, goes to the Today page and records "reached: promise" with a date and an amount by
     clicking: the promise is on the page and in the database, and the invoice leaves today's plan;
  b) he approves a formal notice waiting for approval from the Today page (he is recorded as approver);
  c) a real reminder e-mail is sent (the delivery code, the e-mail file backend), the customer opens the
     portal link of its text (no login) and declares a dispute through the form (a PortalRequest for a person to
     review); bob sees it on the customer page's timeline."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from tests.browser.conftest import log_in, open_context, screenshot

pytestmark = pytest.mark.django_db(transaction=True)

PORTAL_LINK = re.compile(r"https?://[^\s\"'<>]+/p/[^\s\"'<>]+/")


def _planned_invoices(org, today) -> set[str]:
    from relance.dunning.run import plan_today

    return {number for message in plan_today(org, today, dry_run=True).messages for number in message["invoices"]}


@pytest.fixture
def day(org, customer, alice, bob, settings, live_server, tmp_path):
    from relance.dunning.defaults import install_default_scenarios
    from relance.dunning.models import Reminder, ReminderLine, Task
    from relance.dunning.queries import org_today
    from relance.ledger.models import Contact, Customer, Invoice

    settings.BASE_URL = live_server.url
    outbox = tmp_path / "outbox"
    outbox.mkdir()
    settings.LETTER_URL = f"file://{tmp_path / 'letters'}"
    type(org).objects.filter(pk=org.pk).update(email_url=f"file://{outbox}")
    org.refresh_from_db()
    install_default_scenarios(org)
    today = org_today(org)

    def invoice(cust, number, days_late, amount="1000.00"):
        due = today - timedelta(days_late)
        return Invoice.objects.create(organisation=org, customer=cust, number=number, issue_date=due - timedelta(30),
                                      due_date=due, total=Decimal(amount), open_balance=Decimal(amount),
                                      amount_excl_tax=Decimal(amount), tax=Decimal("0.00"))

    called = invoice(customer, "F-CALL-1", 20)
    task = Task.objects.create(organisation=org, customer=customer, kind="call", title="Appeler Dupont",
                               due_date=today, assignee=bob)
    task.invoices.add(called)
    formal_customer = Customer.objects.create(organisation=org, external_id="C002", name="Durand SA",
                                              address_line1="3 quai Saint-Antoine", postcode="69002", city="Lyon")
    Contact.objects.create(customer=formal_customer, kind="email", value="compta@durand.fr", role="billing")
    notice_invoice = invoice(formal_customer, "F-MED-1", 60, "2400.00")
    step = org.scenarios.order_by("pk").first().steps.get(code="formal-notice")  # a letter, approved by a person
    notice = Reminder.objects.create(organisation=org, customer=formal_customer, channel=step.channel,
                                     run_date=today, scenario_code=step.scenario.code, step_code=step.code,
                                     template=step.template, state="awaiting_approval", tone="formal",
                                     total_due=Decimal("2400.00"))
    ReminderLine.objects.create(reminder=notice, invoice=notice_invoice, step_code=step.code,
                                balance=Decimal("2400.00"))
    mailed_customer = Customer.objects.create(organisation=org, external_id="C003", name="Martin et Fils",
                                              city="Nantes")
    Contact.objects.create(customer=mailed_customer, kind="email", value="compta@martin.fr", role="billing")
    mailed = invoice(mailed_customer, "F-MAIL-1", 10, "480.00")
    return {"today": today, "customer": customer, "called": called, "task": task, "notice": notice,
            "mailed_customer": mailed_customer, "mailed": mailed, "outbox": outbox}


def test_a_collector_s_day_across_the_pages(browser, live_server, desktop, console, org, bob, day):
    from relance.dunning.models import Promise, Reminder
    from relance.dunning.run import plan_today
    from relance.portal.models import PortalRequest

    page = desktop.new_page()
    today = day["today"]

    # a) the dashboard, the customer, the call on the Today page.
    assert "F-CALL-1" in _planned_invoices(org, today)
    log_in(page, "bob", "bob-pw")
    assert urlsplit(page.url).path == reverse("dashboard", args=["abc"])
    assert page.locator("main h1").first.inner_text().strip()
    screenshot(page, "scenario-1-dashboard")
    customer_url = reverse("customer", args=["abc", day["customer"].pk])
    page.goto(customer_url)
    assert "F-CALL-1" in page.locator("main").inner_text()
    screenshot(page, "scenario-2-customer")
    page.locator(f'nav.main-nav a[href="{reverse("today", args=["abc"])}"]').click()
    page.wait_for_url("**/aujourdhui/**")
    call = page.locator(f"#call-{day['task'].pk}")
    assert "Dupont SARL" in call.inner_text()
    call.locator("summary", has_text="promesse").click()
    promise_date = today + timedelta(10)
    call.locator(f"#promise-date-{day['task'].pk}").fill(promise_date.isoformat())
    call.locator(f"#promise-amount-{day['task'].pk}").fill("1000,00")
    screenshot(page, "scenario-3-today-call")
    call.locator("form:has(input[value=reached_promise]) button").click()
    page.wait_for_load_state()
    assert "Dupont SARL" in page.locator(".messages, [role=status], main").first.inner_text()
    screenshot(page, "scenario-4-today-promise-recorded")
    promise = Promise.objects.get(invoice=day["called"])
    assert (promise.promised_date, promise.amount) == (promise_date, Decimal("1000.00"))
    assert "F-CALL-1" not in _planned_invoices(org, today)
    page.goto(customer_url)
    assert re.search(r"[Pp]romesse", page.locator("main").inner_text())
    screenshot(page, "scenario-5-customer-promise")

    # b) the formal notice waiting for approval.
    page.goto(reverse("today", args=["abc"]))
    row = page.locator(f"#approval-{day['notice'].pk}")
    row.get_by_role("button", name="Approuver").click()
    page.wait_for_load_state()
    screenshot(page, "scenario-6-today-approved")
    notice = Reminder.objects.get(pk=day["notice"].pk)
    assert notice.approved_by == bob and notice.state != "awaiting_approval"

    # c) a real e-mail, its portal link, a dispute through the portal, seen by bob on the timeline.
    plan_today(org, today)
    mailed = Reminder.objects.get(customer=day["mailed_customer"], channel="email")
    from relance.channels.delivery import deliver_pending

    deliver_pending(org)
    mailed.refresh_from_db()
    assert mailed.state == "sent", mailed.state
    assert Reminder.objects.get(pk=day["notice"].pk).state == "sent"  # the approved notice went too
    files = [p for p in day["outbox"].rglob("*") if p.is_file() and mailed.provider_id in p.name]
    assert files, list(day["outbox"].rglob("*"))
    text = files[0].read_bytes().decode("utf-8", "replace").replace("=\r\n", "").replace("=\n", "")
    links = set(PORTAL_LINK.findall(text))
    assert links, text[:2000]
    link = urlsplit(sorted(links)[0]).path
    customer_page = open_context(browser, live_server, console)  # the customer's own browser: no session
    try:
        portal = customer_page.new_page()
        portal.goto(link)
        assert "Martin et Fils" in portal.locator("body").inner_text()
        screenshot(portal, "scenario-7-portal")
        portal.locator("summary", has_text="conteste").click()
        form = portal.locator("form[action$='/answer/dispute/']")
        form.locator("input[type=checkbox]").first.check()
        form.locator("select").first.select_option(index=1)
        form.locator("textarea").fill("Marchandise jamais reçue")
        form.locator("button[type=submit]").click()
        portal.wait_for_load_state()
        screenshot(portal, "scenario-8-portal-dispute-sent")
    finally:
        customer_page.close()
    # The portal records the customer's answer for a person to review (relance.portal.models.PortalRequest).
    request = PortalRequest.objects.get(customer=day["mailed_customer"], kind="dispute")
    assert list(request.invoices.all()) == [day["mailed"]]
    page.goto(reverse("customer", args=["abc", day["mailed_customer"].pk]))
    timeline = page.locator("main").inner_text()
    assert re.search(r"[Cc]ontestation|[Ll]itige", timeline), timeline
    screenshot(page, "scenario-9-customer-dispute")
    assert console.problems == []
