"""Reminders sent through the SMTP backend to a real SMTP server (aiosmtpd) on a free port."""

from __future__ import annotations

import email
import io
from datetime import UTC, datetime, timedelta
from email.policy import default as default_policy

import pytest
from django.core.files.base import ContentFile
from pypdf import PdfReader

from relance.channels.delivery import deliver_pending
from relance.channels.email.backends.smtp import SmtpBackend, parse_url
from relance.channels.models import OrganisationChannelSettings
from relance.dunning.models import Reminder
from tests.channels.email_support import (  # noqa: F401
    PASSWORD,
    USER,
    Handler,
    authenticator,
    make_reminder,
    self_signed_cert,
    server_tls_context,
    smtpd,
    start,
)

NOW = datetime(2026, 7, 10, 8, 0, tzinfo=UTC)


def _pdf(text: str) -> bytes:
    from weasyprint import HTML

    return HTML(string=f"<p>{text}</p>").write_pdf()


def _parse(received) -> email.message.EmailMessage:
    return email.message_from_bytes(received.content, policy=default_policy)


@pytest.fixture
def smtp_org(org, smtpd, bob, customer):  # noqa: F811
    org.email_url = f"{smtpd.url}?return_path=bounces@abc-consulting.fr"
    org.phone = "04 72 00 00 00"
    org.save()
    bob.first_name, bob.last_name = "Bob", "Martin"
    bob.save()
    customer.collector = bob
    customer.save()
    return org


def test_it_sends_a_multipart_reminder_with_its_invoice_and_records_the_receipt(smtp_org, smtpd, customer,  # noqa: F811
                                                                                make_invoice):
    inv = make_invoice(total="1500.00")
    inv.document.save("F00001.pdf", ContentFile(_pdf("Facture F00001")))
    reminder = make_reminder(smtp_org, customer, [inv])

    stats = deliver_pending(now=NOW)

    assert stats.sent == 1
    assert len(smtpd.messages) == 1
    got = smtpd.messages[0]
    assert got.mail_from == "bounces@abc-consulting.fr"
    assert got.rcpt_tos == ["compta@dupont.fr"]
    msg = _parse(got)
    reminder.refresh_from_db()
    assert reminder.state == "sent"
    assert msg["Message-ID"] == reminder.message_id != ""
    assert reminder.provider_id == "Q00001"
    assert reminder.provider_response.startswith("250 ")
    assert msg["Subject"] == "Suivi facture F00001 – 1 500,00 € dû" == reminder.subject
    assert msg["From"] == "ABC Consulting <compta@abc-consulting.fr>"
    assert msg["Reply-To"] == "Bob Martin <bob@abc-consulting.fr>"
    assert msg["To"] == "compta@dupont.fr"
    assert msg["X-Relance-Reminder"] == str(reminder.pk)
    assert "Disposition-Notification-To" not in msg
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "la facture n° F00001 du 31/05/2026, d'un montant de 1 500,00 €" in text
    assert "FR14 2004 1010 0505 0001 3M02 606" in text
    assert text.replace("\r\n", "\n") == reminder.body_text
    assert "<strong>F00001</strong>" not in html and "F00001" in html and "cid:epc-qr@abc-consulting.fr" in html
    attachments = {part.get_filename(): part for part in msg.iter_attachments()}
    assert set(attachments) == {"Facture-F00001.pdf"}
    pdf = attachments["Facture-F00001.pdf"].get_content()
    assert "Facture F00001" in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    # The QR code is an inline image of the HTML part, not an attachment.
    related = [p for p in msg.walk() if p.get("Content-ID") == "<epc-qr@abc-consulting.fr>"]
    assert related and related[0].get_content_type() == "image/png"
    assert related[0].get_content().startswith(b"\x89PNG")
    # The evidence: what was sent, with the hashes of the attachments.
    assert [a["name"] for a in reminder.attachments] == ["virement-sepa.png", "Facture-F00001.pdf"]
    assert reminder.attachments[1]["sha256"] == __import__("hashlib").sha256(pdf).hexdigest()


def test_it_attaches_a_statement_of_account_when_several_invoices_are_due(smtp_org, smtpd, customer,  # noqa: F811
                                                                           make_invoice):
    first, second = make_invoice(total="1500.00"), make_invoice(total="320.50")
    make_reminder(smtp_org, customer, [first, second])

    deliver_pending(now=NOW)

    msg = _parse(smtpd.messages[0])
    attachments = {part.get_filename(): part.get_content() for part in msg.iter_attachments()}
    statement = attachments["Releve-de-compte-C001.pdf"]
    text = PdfReader(io.BytesIO(statement)).pages[0].extract_text()
    assert "Relevé de compte au 10/07/2026" in text
    assert "Dupont SARL" in text and "F00001" in text and "F00002" in text
    assert "1 820,50 €" in text.replace("\u00a0", " ").replace("\u202f", " ")


def test_it_sends_the_blind_copy_and_asks_for_a_read_receipt_when_the_organisation_wants_them(
        smtp_org, smtpd, customer, make_invoice):  # noqa: F811
    OrganisationChannelSettings.objects.create(organisation=smtp_org, read_receipt=True, bcc_organisation=True,
                                               attach_statement="never")
    make_reminder(smtp_org, customer, [make_invoice()])

    deliver_pending(now=NOW)

    got = smtpd.messages[0]
    msg = _parse(got)
    assert got.rcpt_tos == ["compta@dupont.fr", "compta@abc-consulting.fr"]
    assert "Bcc" not in msg and "compta@abc-consulting.fr" not in msg["To"]
    assert msg["Disposition-Notification-To"] == "Bob Martin <bob@abc-consulting.fr>"


def test_one_connection_carries_a_whole_batch(smtp_org, smtpd, customer, make_invoice, org):  # noqa: F811
    from relance.ledger.models import Contact, Customer

    for i in range(5):
        other = Customer.objects.create(organisation=org, external_id=f"B{i}", name=f"Client {i}")
        Contact.objects.create(customer=other, kind="email", value=f"client{i}@example.com")
        make_reminder(smtp_org, other, [make_invoice(cust=other)])

    stats = deliver_pending(now=NOW)

    assert stats.sent == 5
    assert len({m.peer for m in smtpd.messages}) == 1


def test_a_refused_mailbox_is_a_permanent_failure(smtp_org, smtpd, customer, make_invoice):  # noqa: F811
    smtpd.handler.refuse["compta@dupont.fr"] = "550 5.1.1 <compta@dupont.fr>: user unknown"
    reminder = make_reminder(smtp_org, customer, [make_invoice()])

    stats = deliver_pending(now=NOW)

    reminder.refresh_from_db()
    assert stats.failed == 1
    assert reminder.state == "failed" and reminder.next_attempt_at is None
    assert "550 5.1.1" in reminder.error
    assert reminder.subject  # the rendered message is kept even though it never left


def test_a_temporary_refusal_is_retried_later_then_given_up(smtp_org, smtpd, customer, make_invoice):  # noqa: F811
    smtpd.handler.refuse["compta@dupont.fr"] = "451 4.7.1 greylisted, try again later"
    reminder = make_reminder(smtp_org, customer, [make_invoice()])

    deliver_pending(now=NOW)

    reminder.refresh_from_db()
    assert reminder.state == "failed" and reminder.attempts == 1
    assert reminder.next_attempt_at == NOW + timedelta(minutes=5)
    assert deliver_pending(now=NOW + timedelta(minutes=4)).claimed == 0
    when = NOW
    for _ in range(4):
        when = Reminder.objects.get(pk=reminder.pk).next_attempt_at
        deliver_pending(now=when)
    reminder.refresh_from_db()
    assert reminder.attempts == 5
    assert reminder.state == "failed" and reminder.next_attempt_at is None
    assert "abandon après 5 tentatives" in reminder.error
    assert smtpd.messages == []


def test_a_retry_after_a_temporary_refusal_reaches_the_named_contact(smtp_org, smtpd, customer, make_invoice):  # noqa: F811
    customer.contacts.update(name="Marie Dupont")
    smtpd.handler.refuse["compta@dupont.fr"] = "451 4.7.1 greylisted, try again later"
    reminder = make_reminder(smtp_org, customer, [make_invoice()])
    deliver_pending(now=NOW)
    reminder.refresh_from_db()
    assert reminder.recipient == "Marie Dupont <compta@dupont.fr>"
    first_id = reminder.message_id

    del smtpd.handler.refuse["compta@dupont.fr"]
    assert deliver_pending(now=reminder.next_attempt_at).sent == 1

    msg = _parse(smtpd.messages[0])
    assert msg["To"] == "Marie Dupont <compta@dupont.fr>"
    assert msg["Message-ID"] == first_id  # the same message, tried again
    assert msg.get_body(("plain",)).get_content().startswith("Bonjour Marie Dupont,")


def test_a_server_that_does_not_answer_is_a_transient_failure(org, customer, make_invoice, smtpd):  # noqa: F811
    from tests.channels.email_support import free_port

    org.email_url = f"smtp://127.0.0.1:{free_port()}?timeout=2"
    org.save()
    reminders = [make_reminder(org, customer, [make_invoice()])]

    stats = deliver_pending(now=NOW)

    assert stats.retrying == 1
    reminders[0].refresh_from_db()
    assert reminders[0].state == "failed" and reminders[0].next_attempt_at == NOW + timedelta(minutes=5)
    assert "connexion impossible" in reminders[0].error


def test_it_logs_in_over_starttls(self_signed_cert, org, customer, make_invoice):  # noqa: F811
    server = start(Handler(), tls_context=server_tls_context(self_signed_cert), require_starttls=True,
                   authenticator=authenticator)
    try:
        org.email_url = f"smtp://{USER}:{PASSWORD}@127.0.0.1:{server.port}?starttls=1&verify=0"
        org.save()
        make_reminder(org, customer, [make_invoice()])
        assert deliver_pending(now=NOW).sent == 1
        assert server.messages[0].authenticated
    finally:
        server.controller.stop()


def test_it_speaks_implicit_tls_on_smtps(self_signed_cert, org, customer, make_invoice):  # noqa: F811
    # aiosmtpd does not see the TLS of the socket itself: it must be told AUTH is fine here.
    server = start(Handler(), ssl_context=server_tls_context(self_signed_cert), authenticator=authenticator,
                   auth_require_tls=False)
    try:
        org.email_url = f"smtps://{USER}:{PASSWORD}@127.0.0.1:{server.port}?verify=0"
        org.save()
        make_reminder(org, customer, [make_invoice()])
        assert deliver_pending(now=NOW).sent == 1
        assert server.messages[0].authenticated
    finally:
        server.controller.stop()


def test_it_refuses_an_unverified_certificate_unless_told(self_signed_cert, org, customer, make_invoice):  # noqa: F811
    server = start(Handler(), tls_context=server_tls_context(self_signed_cert), require_starttls=True)
    try:
        org.email_url = f"smtp://127.0.0.1:{server.port}?starttls=1"
        org.save()
        reminder = make_reminder(org, customer, [make_invoice()])
        assert deliver_pending(now=NOW).retrying == 1
        reminder.refresh_from_db()
        assert "CERTIFICATE_VERIFY_FAILED" in reminder.error
    finally:
        server.controller.stop()


def test_the_url_gives_host_port_tls_and_login():
    config = parse_url("smtps://me%40x.fr:p%3Ass@mail.example.com?timeout=5&return_path=b@x.fr")
    assert (config.host, config.port, config.implicit_tls, config.starttls) == ("mail.example.com", 465, True, False)
    assert (config.username, config.password, config.timeout, config.return_path) == ("me@x.fr", "p:ss", 5.0, "b@x.fr")
    assert parse_url("smtp://h?starttls=1").port == 587
    assert parse_url("smtp://h").port == 25
    with pytest.raises(ValueError, match="unknown option 'tls'"):
        SmtpBackend.from_url("smtp://h?tls=1")
