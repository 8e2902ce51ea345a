"""Bounces: RFC 3464 delivery status notifications, as mail servers write them."""

from __future__ import annotations

from datetime import UTC, datetime

from relance.channels.delivery import deliver_pending
from relance.channels.email.bounces import apply_bounce, parse_dsn
from relance.dunning.models import Task
from tests.channels.email_support import make_reminder

NOW = datetime(2026, 7, 10, 8, 0, tzinfo=UTC)


def postfix_dsn(message_id: str, reminder_id: int = 0, action: str = "failed", status: str = "5.1.1") -> bytes:
    """A Postfix-style bounce: human text, the machine report, the original headers (RFC 3464)."""
    return f"""\
Return-Path: <>
From: MAILER-DAEMON@mx.dupont.fr (Mail Delivery System)
To: bounces@abc-consulting.fr
Subject: Undelivered Mail Returned to Sender
Date: Fri, 10 Jul 2026 10:00:05 +0200 (CEST)
Message-Id: <20260710080005.4ABC@mx.dupont.fr>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="4ABC.1783670405/mx.dupont.fr"
Auto-Submitted: auto-replied

This is a MIME-encapsulated message.

--4ABC.1783670405/mx.dupont.fr
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.dupont.fr.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<compta@dupont.fr>: host mx2.dupont.fr said: 550 5.1.1 <compta@dupont.fr>:
    Recipient address rejected: User unknown in local recipient table

--4ABC.1783670405/mx.dupont.fr
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.dupont.fr
X-Postfix-Queue-ID: 4ABC
X-Postfix-Sender: rfc822; bounces@abc-consulting.fr
Arrival-Date: Fri, 10 Jul 2026 10:00:01 +0200 (CEST)

Final-Recipient: rfc822; Compta@Dupont.fr
Original-Recipient: rfc822;compta@dupont.fr
Action: {action}
Status: {status}
Remote-MTA: dns; mx2.dupont.fr
Diagnostic-Code: smtp; 550 5.1.1 <compta@dupont.fr>: Recipient address
    rejected: User unknown in local recipient table

--4ABC.1783670405/mx.dupont.fr
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

Return-Path: <bounces@abc-consulting.fr>
From: ABC Consulting <compta@abc-consulting.fr>
To: compta@dupont.fr
Subject: Suivi facture F00001
Message-ID: {message_id}
X-Relance-Reminder: {reminder_id}

--4ABC.1783670405/mx.dupont.fr--
""".replace("\n", "\r\n").encode()


def exchange_dsn(message_id: str) -> bytes:
    """An Exchange-style bounce returning the whole original message (message/rfc822)."""
    return f"""\
From: postmaster@dupont.fr
To: bounces@abc-consulting.fr
Subject: Undeliverable: Relance
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain; charset="utf-8"

Delivery has failed to these recipients or groups: old@dupont.fr

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns;EXCH01.dupont.local
Received-From-MTA: dns;mail.abc-consulting.fr

Final-Recipient: rfc822;old@dupont.fr
Action: failed
Status: 5.1.10
Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup

--b1
Content-Type: message/rfc822

From: compta@abc-consulting.fr
To: old@dupont.fr
Subject: Relance
Message-ID: {message_id}
Content-Type: text/plain; charset="utf-8"

Bonjour,

--b1--
""".encode()


def test_it_reads_the_failed_recipient_and_the_original_message_id():
    bounce = parse_dsn(postfix_dsn("<relance.7.abc@abc-consulting.fr>", 7))
    assert bounce is not None
    assert bounce.message_id == "<relance.7.abc@abc-consulting.fr>"
    assert bounce.reminder_id == 7
    [failed] = bounce.permanent
    assert (failed.address, failed.action, failed.status) == ("compta@dupont.fr", "failed", "5.1.1")
    assert failed.diagnostic.startswith("smtp; 550 5.1.1 <compta@dupont.fr>: Recipient address rejected")


def test_it_reads_a_report_that_returns_the_whole_message():
    bounce = parse_dsn(exchange_dsn("<relance.9.x@abc-consulting.fr>"))
    assert bounce.message_id == "<relance.9.x@abc-consulting.fr>"
    assert [(r.address, r.status) for r in bounce.permanent] == [("old@dupont.fr", "5.1.10")]


def test_a_delay_notice_is_not_a_failure():
    bounce = parse_dsn(postfix_dsn("<x@y>", action="delayed", status="4.4.1"))
    assert bounce.recipients and bounce.permanent == []


def test_a_human_reply_is_not_a_report():
    reply = b"From: compta@dupont.fr\r\nTo: bob@abc-consulting.fr\r\nSubject: Re: Relance\r\n\r\nC'est pay\xc3\xa9.\r\n"
    assert parse_dsn(reply) is None


def test_a_bounce_invalidates_the_contact_records_it_and_opens_a_task(org, customer, make_invoice, bob, tmp_path):
    customer.collector = bob
    customer.save()
    org.email_url = f"file://{tmp_path}"
    org.save()
    reminder = make_reminder(org, customer, [make_invoice()])
    deliver_pending(now=NOW)
    reminder.refresh_from_db()

    invalidated = apply_bounce(parse_dsn(postfix_dsn(reminder.message_id, reminder.pk)))

    contact = customer.contacts.get()
    assert invalidated == [contact]
    assert contact.valid is False and "5.1.1" in contact.invalid_reason
    reminder.refresh_from_db()
    assert reminder.state == "failed" and reminder.next_attempt_at is None
    assert "non distribué à compta@dupont.fr" in reminder.error
    task = Task.objects.get(customer=customer, kind="fix_contact")
    assert task.assignee == bob and task.reminder == reminder and "compta@dupont.fr" in task.title
    # The same report read twice opens no second task.
    apply_bounce(parse_dsn(postfix_dsn(reminder.message_id, reminder.pk)))
    assert Task.objects.filter(customer=customer, kind="fix_contact").count() == 1


def test_a_bounce_for_a_message_we_did_not_send_changes_nothing(org, customer):
    assert apply_bounce(parse_dsn(postfix_dsn("<someone-else@example.com>"))) == []
    assert customer.contacts.get().valid is True
