"""Today: the next send's messages with their real text, the approval queue, the calls and the contacts to fix."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
import time_machine

from relance.dunning.models import Reminder, ReminderLine, Task
from relance.ledger.models import Contact

NOW = "2026-07-30 09:00 +02:00"  # Thursday
TODAY = date(2026, 7, 30)
URL = "/o/abc/aujourdhui/"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def scenarios(org):
    from relance.dunning.defaults import install_default_scenarios

    install_default_scenarios(org)
    return org


@pytest.fixture
def customer(customer):
    customer.address_line1, customer.postcode, customer.city = "3 rue Neuve", "75002", "Paris"
    customer.save()
    return customer


def reminder(customer, invoices, channel="email", state="planned", template="first_reminder", tone="friendly",
             run_date=TODAY, **kw):
    r = Reminder.objects.create(
        organisation=customer.organisation, customer=customer, channel=channel, run_date=run_date,
        scenario_code="standard", step_code=template.replace("_", "-"), template=template, tone=tone, state=state,
        total_due=sum((i.open_balance for i in invoices), Decimal(0)), **kw,
    )
    ReminderLine.objects.bulk_create([ReminderLine(reminder=r, invoice=i, step_code=r.step_code,
                                                   balance=i.open_balance) for i in invoices])
    return r


@pytest.fixture
def planned(customer, make_invoice):
    return reminder(customer, [make_invoice("1200.00", number="F-PLAN")])


@pytest.fixture
def notice(customer, make_invoice):
    return reminder(customer, [make_invoice("2400.00", number="F-NOTICE")], channel="letter",
                    state="awaiting_approval", template="formal_notice", tone="formal", registered=True)


@pytest.fixture
def phone(customer):
    return Contact.objects.create(customer=customer, kind="phone", value="04 72 12 34 56", name="Marie Dupont")


def call_task(customer, invoices, title="Appeler", due=TODAY, **kw):
    task = Task.objects.create(organisation=customer.organisation, customer=customer, kind="call", title=title,
                               due_date=due, script="Bonjour, je vous appelle au sujet de…", step_code="call", **kw)
    task.invoices.set(invoices)
    return task


@pytest.fixture
def call(customer, phone, make_invoice, bob):
    return call_task(customer, [make_invoice("1000.00", due=date(2026, 6, 15), number="F-CALL1"),
                                make_invoice("500.00", due=date(2026, 6, 30), number="F-CALL2")], assignee=bob)


@pytest.fixture
def fix(customer, bob):
    from relance.dunning.actions import create_task

    return create_task(customer, "fix_contact", "Corriger l'e-mail de Dupont SARL", due_date=TODAY, channel="email",
                       user=bob)


# --- 1. the next send -------------------------------------------------------------------------


def test_the_next_send_lists_what_the_sender_would_take_and_nothing_else(client, bob, customer, make_invoice,
                                                                           planned):
    later = reminder(customer, [make_invoice("10.00")], channel="sms", run_date=date(2026, 7, 31))
    sent = reminder(customer, [make_invoice("20.00")], channel="letter", state="sent")
    client.force_login(bob)
    page = client.get(URL)
    outbox = list(page.context["outbox"].object_list)
    assert [r.pk for r in outbox] == [planned.pk]
    assert later.pk not in [r.pk for r in outbox] and sent.pk not in [r.pk for r in outbox]
    html = page.content.decode()
    assert "compta@dupont.fr" in html and "1\u202f200,00\u00a0€" in html
    assert f'hx-get="/o/abc/aujourdhui/relances/{planned.pk}/apercu/"' in html


def test_the_preview_is_the_text_the_channel_renders(client, bob, planned):
    from relance.channels.context import build_context
    from relance.channels.registry import get_channel

    client.force_login(bob)
    response = client.get(f"{URL}relances/{planned.pk}/apercu/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    expected = get_channel("email").render(planned, build_context(planned, today=TODAY))
    html = response.content.decode()
    assert "F-PLAN" in expected.body_text
    assert expected.subject.replace("'", "&#x27;") in html
    assert "<html" not in html  # a fragment for htmx
    assert "F-PLAN" in client.get(f"{URL}relances/{planned.pk}/apercu/").content.decode()  # a page without htmx


def test_a_preview_says_why_a_message_cannot_go(client, bob, customer, make_invoice):
    customer.contacts.all().delete()
    r = reminder(customer, [make_invoice("50.00")])
    client.force_login(bob)
    html = client.get(f"{URL}relances/{r.pk}/apercu/", HTTP_HX_REQUEST="true").content.decode()
    assert "aucune adresse e-mail valide" in html


def test_the_next_send_is_paginated(client, bob, org, make_invoice, django_user_model):
    from relance.ledger.models import Customer

    for n in range(25):
        c = Customer.objects.create(organisation=org, external_id=f"P{n}", name=f"Client {n}")
        reminder(c, [make_invoice("10.00", cust=c)])
    client.force_login(bob)
    first = client.get(URL).context["outbox"]
    assert (first.paginator.count, len(first.object_list), first.has_next()) == (25, 20, True)
    second = client.get(URL, {"only": "outbox", "outbox": 2}, HTTP_HX_REQUEST="true")
    assert len(second.context["page"].object_list) == 5
    assert b"<html" not in second.content


# --- 2. approvals -----------------------------------------------------------------------------


def test_the_approval_queue_links_the_letter_pdf_and_shows_buttons_to_writers(client, bob, victor, notice):
    client.force_login(bob)
    html = client.get(URL).content.decode()
    assert f"/o/abc/aujourdhui/relances/{notice.pk}/lettre.pdf" in html
    assert f"/o/abc/aujourdhui/relances/{notice.pk}/approuver/" in html
    client.force_login(victor)
    html = client.get(URL).content.decode()
    assert f"/o/abc/aujourdhui/relances/{notice.pk}/lettre.pdf" in html
    assert "approuver/" not in html and "ecarter/" not in html and "modifier/" not in html


def test_the_letter_is_a_real_pdf_rendered_by_the_letter_channel(client, victor, notice):
    from pypdf import PdfReader

    client.force_login(victor)
    response = client.get(f"{URL}relances/{notice.pk}/lettre.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "F-NOTICE" in text and "Dupont SARL" in text


def test_a_collector_approves_and_is_recorded(client, bob, notice):
    client.force_login(bob)
    response = client.post(f"{URL}relances/{notice.pk}/approuver/")
    assert response.status_code == 302
    notice.refresh_from_db()
    assert (notice.state, notice.approved_by) == ("planned", bob)
    assert notice.pk in [r.pk for r in client.get(URL).context["outbox"].object_list]


def test_a_collector_skips(client, bob, notice):
    client.force_login(bob)
    client.post(f"{URL}relances/{notice.pk}/ecarter/")
    notice.refresh_from_db()
    assert (notice.state, notice.approved_by) == ("cancelled", bob) and "bob" in notice.error


def test_approving_twice_says_so_and_changes_nothing(client, bob, notice):
    client.force_login(bob)
    client.post(f"{URL}relances/{notice.pk}/ecarter/")
    response = client.post(f"{URL}relances/{notice.pk}/approuver/", follow=True)
    assert "attend pas" in response.content.decode()
    notice.refresh_from_db()
    assert notice.state == "cancelled"


def test_the_edit_form_starts_from_the_rendered_text(client, bob, notice):
    client.force_login(bob)
    response = client.get(f"{URL}relances/{notice.pk}/modifier/")
    assert response.status_code == 200
    assert response.context["body_text"] and "F-NOTICE" in response.context["body_text"]
    assert 'for="id_body_text"' in response.content.decode()


def test_an_edited_letter_is_recorded_and_the_sender_prints_the_new_text(client, bob, notice):
    from pypdf import PdfReader

    client.force_login(bob)
    response = client.post(f"{URL}relances/{notice.pk}/modifier/",
                           {"subject": "Mise en demeure révisée", "body_text": "Texte revu par Bob.\nCordialement."})
    assert response.status_code == 302
    notice.refresh_from_db()
    assert (notice.state, notice.edited_by, notice.subject) == ("awaiting_approval", bob, "Mise en demeure révisée")
    assert notice.edited_at is not None and notice.body_text == "Texte revu par Bob.\nCordialement."
    pdf = client.get(f"{URL}relances/{notice.pk}/lettre.pdf").content
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Texte revu par Bob." in text and "Mise en demeure révisée" in text
    assert "edited by bob" in client.get(URL).content.decode() or "modifiée par bob" in client.get(URL).content.decode()


def test_an_edited_email_is_what_delivery_sends(bob, org, customer, make_invoice, tmp_path):
    from relance.channels.delivery import deliver_pending
    from relance.dunning.actions import approve_reminder, edit_reminder

    org.email_url = f"file://{tmp_path}"
    org.save()
    r = reminder(customer, [make_invoice("300.00")], state="awaiting_approval", template="call_recap")
    edit_reminder(r, "Suite à notre appel", "Bonjour,\nComme convenu : virement vendredi.", user=bob)
    approve_reminder(r, user=bob)
    stats = deliver_pending(org)
    r.refresh_from_db()
    assert r.state == "sent", (stats, r.error)
    assert (r.subject, r.body_text) == ("Suite à notre appel", "Bonjour,\nComme convenu : virement vendredi.")
    assert "virement vendredi" in r.body_html and (r.edited_by, r.approved_by) == (bob, bob)
    written = b"".join(f.read_bytes() for f in tmp_path.rglob("*") if f.is_file())
    assert b"Suite" in written


def test_an_edited_sms_is_what_the_sms_channel_sends(bob, customer, make_invoice):
    from relance.channels.context import build_context
    from relance.channels.registry import get_channel
    from relance.dunning.actions import edit_reminder

    Contact.objects.create(customer=customer, kind="phone", value="06 12 34 56 78")
    r = reminder(customer, [make_invoice("80.00")], channel="sms", state="awaiting_approval", template="sms_reminder")
    edit_reminder(r, "", "Bonjour, merci de régler\r\nF00001 avant vendredi.", user=bob)
    sent = get_channel("sms").render(r, build_context(r, today=TODAY))
    assert sent.body_text == "Bonjour, merci de régler F00001 avant vendredi."


def test_a_call_reminder_cannot_be_edited(bob, customer, make_invoice):
    from relance.dunning.actions import DunningError, edit_reminder

    r = reminder(customer, [make_invoice("80.00")], channel="call", state="awaiting_approval",
                 template="call_script")
    with pytest.raises(DunningError):
        edit_reminder(r, "x", "y", user=bob)


def test_an_empty_text_is_refused(client, bob, notice):
    client.force_login(bob)
    response = client.post(f"{URL}relances/{notice.pk}/modifier/", {"subject": "x", "body_text": "  "})
    assert response.status_code == 400 and "vide" in response.content.decode()
    notice.refresh_from_db()
    assert notice.edited_at is None


def test_a_viewer_gets_403_on_every_write(client, victor, notice, call, fix):
    client.force_login(victor)
    for url in (f"relances/{notice.pk}/approuver/", f"relances/{notice.pk}/ecarter/",
                f"relances/{notice.pk}/modifier/", f"appels/{call.pk}/resultat/", f"taches/{fix.pk}/faite/"):
        assert client.post(URL + url, {"outcome": "no_answer", "body_text": "x"}).status_code == 403, url
    assert client.get(f"{URL}relances/{notice.pk}/modifier/").status_code == 403
    notice.refresh_from_db()
    call.refresh_from_db()
    fix.refresh_from_db()
    assert (notice.state, notice.edited_at, call.state, fix.state) == ("awaiting_approval", None, "open", "open")


# --- 3. calls ---------------------------------------------------------------------------------


def test_calls_are_ranked_by_the_amount_at_risk(client, bob, customer, phone, make_invoice, call):
    from relance.ledger.balances import record_payment  # noqa: F401 - the balance is set directly below

    big = call_task(customer, [make_invoice("9000.00", number="F-BIG")], title="Gros dossier")
    paid = make_invoice("50000.00", number="F-PAID")
    paid.open_balance = Decimal("0.00")
    paid.save()
    small = call_task(customer, [paid, make_invoice("100.00")], title="Petit dossier")
    later = call_task(customer, [make_invoice("99999.00")], due=date(2026, 8, 3))
    client.force_login(bob)
    page = client.get(URL)
    calls = list(page.context["calls"].object_list)
    assert [c.task.pk for c in calls] == [big.pk, call.pk, small.pk]
    assert [c.at_risk for c in calls] == [Decimal("9000.00"), Decimal("1500.00"), Decimal("100.00")]
    assert later.pk not in [c.task.pk for c in calls]
    html = page.content.decode()
    assert 'href="tel:04 72 12 34 56"' in html and "Bonjour, je vous appelle" in html and "F-CALL1" in html


def test_a_call_shows_the_last_reminders_sent(client, bob, customer, make_invoice, call):
    from django.utils import timezone

    old = reminder(customer, [make_invoice("10.00")], channel="sms", state="sent", run_date=date(2026, 7, 1),
                   sent_at=timezone.now())
    client.force_login(bob)
    (shown,) = client.get(URL).context["calls"].object_list
    assert [r.pk for r in shown.last_reminders] == [old.pk]


def test_a_promise_by_phone_takes_the_invoices_out_of_todays_plan_and_plans_the_recap(
        client, bob, scenarios, customer, phone, make_invoice):
    from relance.dunning.models import Promise
    from relance.dunning.run import plan_today

    inv = make_invoice("1500.00", due=date(2026, 6, 15), number="F-PROM")
    task = call_task(customer, [inv], assignee=bob)

    def planned_numbers():
        return {n for m in plan_today(scenarios, TODAY, dry_run=True).messages for n in m["invoices"]}

    assert "F-PROM" in planned_numbers()
    client.force_login(bob)
    response = client.post(f"{URL}appels/{task.pk}/resultat/",
                           {"outcome": "reached_promise", "date": "2026-08-05", "amount": "1 500,00"}, follow=True)
    assert response.status_code == 200
    promise = Promise.objects.get(invoice=inv)
    assert (promise.promised_date, promise.amount, promise.state, promise.created_by) == (
        date(2026, 8, 5), Decimal("1500.00"), "open", bob)
    assert "F-PROM" not in planned_numbers()
    recap = Reminder.objects.get(customer=customer, template="call_recap")
    assert (recap.channel, recap.state, recap.recipient) == ("email", "awaiting_approval", "compta@dupont.fr")
    task.refresh_from_db()
    assert (task.state, task.outcome) == ("done", "reached_promise")
    assert recap.pk in [r.pk for r in response.context["approvals"].object_list]


def test_a_dispute_by_phone_opens_it(client, bob, call):
    from relance.ledger.models import Invoice

    client.force_login(bob)
    client.post(f"{URL}appels/{call.pk}/resultat/", {"outcome": "reached_dispute", "reason": "Livraison incomplète"})
    assert set(Invoice.objects.filter(disputes__is_open=True).values_list("number", flat=True)) == {
        "F-CALL1", "F-CALL2"}


def test_a_plan_request_opens_a_review_task(client, bob, call):
    client.force_login(bob)
    client.post(f"{URL}appels/{call.pk}/resultat/", {"outcome": "plan_requested", "note": "3 mensualités"})
    follow = Task.objects.get(kind="review")
    assert "échéancier" in follow.title and follow.script == "3 mensualités"


def test_no_answer_and_voicemail_plan_the_call_again_the_next_business_day(client, bob, call, customer,
                                                                           make_invoice):
    client.force_login(bob)
    client.post(f"{URL}appels/{call.pk}/resultat/", {"outcome": "no_answer"})
    again = Task.objects.get(kind="call", state="open")
    assert (again.due_date, again.outcome_data["attempt"]) == (date(2026, 7, 31), 2)
    client.post(f"{URL}appels/{again.pk}/resultat/", {"outcome": "voicemail"})
    again.refresh_from_db()
    assert (again.outcome, again.outcome_data["note"]) == ("no_answer", "messagerie vocale")
    assert Task.objects.filter(kind="call", state="open").count() == 1


def test_a_wrong_number_is_marked_invalid_and_a_fix_task_opened(client, bob, call, phone):
    client.force_login(bob)
    client.post(f"{URL}appels/{call.pk}/resultat/", {"outcome": "wrong_number", "contact_id": phone.pk})
    phone.refresh_from_db()
    assert not phone.valid
    fix = Task.objects.get(kind="fix_contact")
    assert fix.pk in [t.pk for t in client.get(URL).context["fixes"].object_list]


def test_a_bad_promise_date_is_explained_and_the_call_stays_open(client, bob, call):
    client.force_login(bob)
    response = client.post(f"{URL}appels/{call.pk}/resultat/", {"outcome": "reached_promise", "date": "2026-07-01"},
                           follow=True)
    assert "date" in response.content.decode()
    call.refresh_from_db()
    assert call.state == "open"


# --- 4. contacts to fix -----------------------------------------------------------------------


def test_a_fix_contact_task_links_the_customer_and_is_done_in_one_click(client, bob, customer, fix):
    client.force_login(bob)
    html = client.get(URL).content.decode()
    assert f"/o/abc/clients/{customer.pk}/" in html and "Corriger l&#x27;e-mail" in html
    assert client.post(f"{URL}taches/{fix.pk}/faite/").status_code == 302
    fix.refresh_from_db()
    assert (fix.state, fix.outcome, fix.outcome_data["closed_by"]) == ("done", "done", "bob")
    assert fix.done_at is not None
    assert not client.get(URL).context["fixes"].object_list


def test_close_task_refuses_a_call_and_a_closed_task(bob, call, fix):
    from relance.dunning.actions import DunningError, close_task

    with pytest.raises(DunningError):
        close_task(call, user=bob)
    close_task(fix, user=bob)
    with pytest.raises(DunningError):
        close_task(fix, user=bob)


# --- walls and speed --------------------------------------------------------------------------


def test_charlie_gets_404_on_every_url(client, charlie, notice, planned, call, fix):
    client.force_login(charlie)
    gets = ["", "?only=calls", f"relances/{planned.pk}/apercu/", f"relances/{notice.pk}/lettre.pdf",
            f"relances/{notice.pk}/modifier/"]
    posts = [f"relances/{notice.pk}/approuver/", f"relances/{notice.pk}/ecarter/", f"relances/{notice.pk}/modifier/",
             f"appels/{call.pk}/resultat/", f"taches/{fix.pk}/faite/"]
    for url in gets:
        assert client.get(URL + url).status_code == 404, url
    for url in posts:
        assert client.post(URL + url, {"outcome": "no_answer"}).status_code == 404, url
    # Nor through his own organisation's URLs.
    for url in gets[2:]:
        assert client.get("/o/xyz/aujourdhui/" + url).status_code == 404, url
    for url in posts:
        assert client.post("/o/xyz/aujourdhui/" + url, {"outcome": "no_answer"}).status_code == 404, url
    notice.refresh_from_db()
    call.refresh_from_db()
    assert (notice.state, call.state) == ("awaiting_approval", "open")


def test_the_page_takes_a_bounded_number_of_queries(client, bob, org, make_invoice, django_assert_max_num_queries):
    from relance.ledger.models import Customer

    def fill(n0, n1):
        for n in range(n0, n1):
            c = Customer.objects.create(organisation=org, external_id=f"Q{n}", name=f"Client {n}")
            Contact.objects.create(customer=c, kind="phone", value=f"06 12 34 56 {n:02d}")
            Contact.objects.create(customer=c, kind="email", value=f"c{n}@example.fr")
            invoices = [make_invoice("100.00", cust=c), make_invoice("200.00", cust=c)]
            reminder(c, invoices[:1])
            reminder(c, invoices[1:], channel="letter", state="awaiting_approval", template="formal_notice",
                     tone="formal")
            reminder(c, invoices[1:], channel="sms", state="sent", run_date=date(2026, 7, 1))
            call_task(c, invoices)
            Task.objects.create(organisation=org, customer=c, kind="fix_contact", title="Corriger", due_date=TODAY)

    fill(0, 2)
    client.force_login(bob)
    with django_assert_max_num_queries(25) as few:
        client.get(URL)
    fill(2, 30)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(URL).status_code == 200
