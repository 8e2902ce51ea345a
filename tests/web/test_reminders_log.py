"""The reminders log (filters, pages) and one reminder as sent: message (HTML sandboxed), evidence,
lines, attachments found again by their SHA-256, and a person's verdict on an `unknown` reminder."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.base import ContentFile

from relance.dunning.defaults import install_default_scenarios
from relance.dunning.models import Reminder, ReminderLine, ReminderState
from relance.ledger.models import Customer

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.web.urls_with_customer")]

URL = "/o/abc/relances/"
PDF = b"%PDF-1.4\n% facture F00001\n%%EOF\n"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(datetime(2026, 12, 3, 10, 0, tzinfo=ZoneInfo("Europe/Paris")), tick=False):
        yield


def record(name: str, content: bytes, mimetype: str = "application/pdf") -> dict:
    return {"name": name, "sha256": hashlib.sha256(content).hexdigest(), "size": len(content), "mimetype": mimetype}


def make_reminder(customer, run_date=date(2026, 12, 1), channel="email", state=ReminderState.SENT, step="r1",
                  **fields) -> Reminder:
    return Reminder.objects.create(
        organisation=customer.organisation, customer=customer, channel=channel, run_date=run_date,
        scenario_code="standard", step_code=step, template="friendly", state=state, **fields,
    )


@pytest.fixture
def log(org, customer):
    martin = Customer.objects.create(organisation=org, external_id="C002", name="Martin & Fils")
    return {
        "sent": make_reminder(customer, date(2026, 11, 2), recipient="compta@dupont.fr", total_due="1200.00"),
        "failed": make_reminder(customer, date(2026, 11, 20), state=ReminderState.FAILED, step="r2"),
        "letter": make_reminder(martin, date(2026, 11, 25), channel="letter", step="mise-en-demeure"),
        "unknown": make_reminder(martin, date(2026, 12, 1), state=ReminderState.UNKNOWN, step="r2",
                                 recipient="factures@martin.fr", handed_over_at=datetime(2026, 12, 1, 9, 0,
                                                                                          tzinfo=ZoneInfo("UTC"))),
    }


def pks(response) -> list[int]:
    return [row["pk"] for row in response.context["rows"]]


def test_the_log_lists_the_newest_reminders_first(client, bob, log):
    client.force_login(bob)
    response = client.get(URL)
    assert response.status_code == 200
    assert pks(response) == [log[k].pk for k in ("unknown", "letter", "failed", "sent")]
    html = response.content.decode()
    assert "Martin &amp; Fils" in html and "état inconnu" in html and "courrier" in html
    assert f'href="/o/abc/relances/{log["sent"].pk}/"' in html
    assert f'href="/o/abc/clients/{log["sent"].customer_id}/"' in html


@pytest.mark.parametrize("params, expected", [
    ({"state": "failed"}, ["failed"]),
    ({"state": "unknown"}, ["unknown"]),
    ({"channel": "letter"}, ["letter"]),
    ({"step": "r2"}, ["unknown", "failed"]),
    ({"from": "2026-11-20", "to": "2026-11-30"}, ["letter", "failed"]),
    ({"from": "2026-11-21"}, ["unknown", "letter"]),
    ({"to": "2026-11-02"}, ["sent"]),
    ({"channel": "email", "step": "r2", "state": "failed"}, ["failed"]),
    ({"state": "nonsense", "from": "not-a-date"}, ["unknown", "letter", "failed", "sent"]),
])
def test_the_log_filters_by_state_channel_step_and_dates(client, alice, log, params, expected):
    client.force_login(alice)
    assert pks(client.get(URL, params)) == [log[k].pk for k in expected]


def test_the_step_filter_offers_the_scenarios_steps(client, alice, org, log):
    install_default_scenarios(org)
    client.force_login(alice)
    steps = client.get(URL).context["steps"]
    assert steps and steps == sorted(set(steps))


def test_the_log_comes_in_pages_of_fifty_with_the_filters_kept(
    client, alice, customer, django_assert_max_num_queries
):
    for day in range(120):
        make_reminder(customer, date(2026, 1, 1) + timedelta(days=day))
    client.force_login(alice)
    client.get(URL)
    # Ten for every page (session, walls, menu), then the steps, the rows, their customers.
    with django_assert_max_num_queries(13):
        first = client.get(URL, {"channel": "email"})
    assert len(first.context["rows"]) == 50 and first.context["has_next"]
    assert 'href="?channel=email&amp;page=2"' in first.content.decode()
    third = client.get(URL, {"channel": "email", "page": 3})
    assert len(third.context["rows"]) == 20 and not third.context["has_next"]
    assert third.context["rows"][-1]["run_date"] == date(2026, 1, 1)


def test_another_organisation_gets_404_everywhere(client, charlie, log):
    client.force_login(charlie)
    pk = log["unknown"].pk
    for url in (URL, f"{URL}{pk}/", f"{URL}{pk}/pieces/0/"):
        assert client.get(url).status_code == 404
    assert client.post(f"{URL}{pk}/resoudre/", {"was_sent": "1"}).status_code == 404
    assert Reminder.objects.get(pk=pk).state == ReminderState.UNKNOWN


def test_a_reminder_of_another_organisation_is_a_404_for_a_member_too(client, alice, other_org):
    theirs = Customer.objects.create(organisation=other_org, external_id="X1", name="Xylophone SAS")
    reminder = make_reminder(theirs)
    client.force_login(alice)
    assert client.get(f"{URL}{reminder.pk}/").status_code == 404


def test_the_detail_shows_the_message_evidence_history_and_lines(client, victor, customer, make_invoice):
    invoice = make_invoice("1200.00", due=date(2026, 10, 1))
    reminder = make_reminder(
        customer, recipient="Dupont <compta@dupont.fr>", subject="Facture F00001 échue",
        body_text="Bonjour,\nvotre facture est échue.", body_html="<p>Bonjour</p>", message_id="<relance.1.ab@abc.fr>",
        provider_id="250 OK queued as 4XyZ", provider_response="250 2.0.0 Ok: queued", attempts=1,
        sent_at=datetime(2026, 12, 1, 9, 1, tzinfo=ZoneInfo("UTC")), total_due="1200.00",
    )
    ReminderLine.objects.create(reminder=reminder, invoice=invoice, step_code="r1", balance="1200.00")
    client.force_login(victor)
    response = client.get(f"{URL}{reminder.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    for expected in ("Facture F00001 échue", "votre facture est échue.", "&lt;relance.1.ab@abc.fr&gt;",
                     "250 2.0.0 Ok: queued", "compta@dupont.fr", "F00001", "1\u202f200,00\xa0€", "envoyée"):
        assert expected in html, expected
    assert f'href="/o/abc/factures/{invoice.pk}/"' in html
    assert "Pièces jointes" in html and "Aucune pièce jointe." in html


def test_the_html_body_is_shown_in_a_sandbox_where_no_script_runs(client, alice, customer):
    evil = '<p>Bonjour</p><script>alert("x")</script><img src=x onerror="alert(1)">"></iframe><script>bad()</script>'
    reminder = make_reminder(customer, body_html=evil)
    client.force_login(alice)
    html = client.get(f"{URL}{reminder.pk}/").content.decode()
    assert f'<iframe class="message-html" sandbox src="{URL}{reminder.pk}/html/"' in html
    assert "<script>alert" not in html and "<script>bad" not in html and 'onerror="alert' not in html
    # The frame's own address: the body as sent, under a policy that runs no script and fetches nothing,
    # shown only inside a sandboxed frame of this site.
    frame = client.get(f"{URL}{reminder.pk}/html/")
    assert frame.status_code == 200 and frame.content.decode() == evil
    policy = frame["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "sandbox" in policy and "script-src" not in policy
    assert frame["X-Frame-Options"] == "SAMEORIGIN"


def test_a_reminder_without_html_has_no_html_frame(client, alice, customer):
    reminder = make_reminder(customer, body_html="")
    client.force_login(alice)
    assert client.get(f"{URL}{reminder.pk}/html/").status_code == 404


def test_an_invoice_attachment_downloads_exactly_as_sent(client, alice, customer, make_invoice):
    invoice = make_invoice("1200.00")
    invoice.document.save("F00001.pdf", ContentFile(PDF))
    reminder = make_reminder(customer, attachments=[record("facture-F00001.pdf", PDF),
                                                    record("releve.pdf", b"a statement not kept")])
    ReminderLine.objects.create(reminder=reminder, invoice=invoice, step_code="r1", balance="1200.00")
    client.force_login(alice)
    page = client.get(f"{URL}{reminder.pk}/").content.decode()
    assert f'href="/o/abc/relances/{reminder.pk}/pieces/0/" download' in page
    assert "pieces/1/" not in page and "aucune copie identique" in page
    response = client.get(f"{URL}{reminder.pk}/pieces/0/")
    assert response.status_code == 200 and response.content == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="facture-F00001.pdf"'
    assert client.get(f"{URL}{reminder.pk}/pieces/1/").status_code == 404
    assert client.get(f"{URL}{reminder.pk}/pieces/7/").status_code == 404


def test_a_changed_invoice_document_is_not_served_as_the_one_sent(client, alice, customer, make_invoice):
    invoice = make_invoice("1200.00")
    invoice.document.save("F00001.pdf", ContentFile(b"%PDF another version"))
    reminder = make_reminder(customer, attachments=[record("facture-F00001.pdf", PDF)])
    ReminderLine.objects.create(reminder=reminder, invoice=invoice, step_code="r1", balance="1200.00")
    client.force_login(alice)
    assert client.get(f"{URL}{reminder.pk}/pieces/0/").status_code == 404


def test_a_letter_is_found_again_in_the_letter_folder_but_never_outside_it(client, alice, customer, settings,
                                                                            tmp_path):
    letters = tmp_path / "letters"
    (letters / "2026-11-25").mkdir(parents=True)
    (letters / "2026-11-25" / "lettre.pdf").write_bytes(PDF)
    (tmp_path / "secret.pdf").write_bytes(PDF)
    settings.LETTER_URL = f"file://{letters}"
    letter = make_reminder(customer, channel="letter", provider_id="2026-11-25/lettre.pdf",
                           attachments=[record("lettre.pdf", PDF)])
    outside = make_reminder(customer, channel="letter", run_date=date(2026, 11, 26), provider_id="../secret.pdf",
                            attachments=[record("lettre.pdf", PDF)])
    client.force_login(alice)
    assert client.get(f"{URL}{letter.pk}/pieces/0/").content == PDF
    assert client.get(f"{URL}{outside.pk}/pieces/0/").status_code == 404


def test_an_email_attachment_is_found_again_in_the_eml_the_file_backend_wrote(client, alice, org, customer,
                                                                                tmp_path):
    statement = b"%PDF statement"
    message = EmailMessage()
    message["Subject"] = "Relance"
    message.set_content("Bonjour")
    message.add_attachment(statement, maintype="application", subtype="pdf", filename="releve.pdf")
    (tmp_path / "20261201-relance.eml").write_bytes(message.as_bytes())
    org.email_url = f"file://{tmp_path}"
    org.save()
    reminder = make_reminder(customer, provider_id="20261201-relance.eml",
                             attachments=[record("releve.pdf", statement)])
    client.force_login(alice)
    response = client.get(f"{URL}{reminder.pk}/pieces/0/")
    assert response.status_code == 200 and response.content == statement


def test_an_unknown_reminder_marked_sent_becomes_sent(client, bob, log):
    client.force_login(bob)
    page = client.get(f"{URL}{log['unknown'].pk}/").content.decode()
    assert "resoudre/" in page and 'name="was_sent" value="1"' in page and 'name="was_sent" value="0"' in page
    response = client.post(f"{URL}{log['unknown'].pk}/resoudre/", {"was_sent": "1"}, follow=True)
    reminder = Reminder.objects.get(pk=log["unknown"].pk)
    assert reminder.state == ReminderState.SENT and reminder.sent_at == reminder.handed_over_at
    assert "bob" in reminder.error and "Marquée envoyée" in response.content.decode()


def test_an_unknown_reminder_marked_not_sent_goes_back_to_the_queue(client, alice, log):
    client.force_login(alice)
    client.post(f"{URL}{log['unknown'].pk}/resoudre/", {"was_sent": "0"})
    reminder = Reminder.objects.get(pk=log["unknown"].pk)
    assert reminder.state == ReminderState.PLANNED and reminder.handed_over_at is None
    assert "non reçue" in reminder.error


def test_resolving_a_reminder_that_is_not_unknown_changes_nothing(client, alice, log):
    client.force_login(alice)
    response = client.post(f"{URL}{log['sent'].pk}/resoudre/", {"was_sent": "0"}, follow=True)
    assert Reminder.objects.get(pk=log["sent"].pk).state == ReminderState.SENT
    assert "n’est plus en état inconnu : rien n’a changé" in response.content.decode()
    client.post(f"{URL}{log['unknown'].pk}/resoudre/", {"was_sent": "maybe"})
    assert Reminder.objects.get(pk=log["unknown"].pk).state == ReminderState.UNKNOWN


def test_a_viewer_sees_no_verdict_buttons_and_may_not_post_one(client, victor, log):
    client.force_login(victor)
    page = client.get(f"{URL}{log['unknown'].pk}/").content.decode()
    assert "resoudre/" not in page
    assert client.post(f"{URL}{log['unknown'].pk}/resoudre/", {"was_sent": "1"}).status_code == 403
    assert Reminder.objects.get(pk=log["unknown"].pk).state == ReminderState.UNKNOWN


def test_resolving_answers_405_to_a_get(client, alice, log):
    client.force_login(alice)
    assert client.get(f"{URL}{log['unknown'].pk}/resoudre/").status_code == 405
