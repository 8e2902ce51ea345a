"""The delivery pipeline: claiming, the balance re-check, retries, the unknown state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command

from relance.channels.delivery import LEASE, backoff, claim_one, deliver_pending, resolve_unknown, sweep_stuck
from relance.channels.models import OrganisationChannelSettings
from relance.dunning.models import Dispute, Promise, Reminder, Task
from relance.ledger.balances import set_external_paid
from tests.channels.email_support import make_reminder

NOW = datetime(2026, 7, 10, 8, 0, tzinfo=UTC)


@pytest.fixture
def outbox(org, tmp_path) -> Path:
    org.email_url = f"file://{tmp_path}"
    org.save()
    return tmp_path


def _emails(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.eml"))


def test_it_claims_planned_reminders_once(org, customer, make_invoice, outbox):
    reminder = make_reminder(org, customer, [make_invoice()])
    assert claim_one(now=NOW).pk == reminder.pk
    assert claim_one(now=NOW) is None
    reminder.refresh_from_db()
    # Claimed, not yet handed over: no attempt counted, and a lease that runs out.
    assert (reminder.state, reminder.attempts, reminder.next_attempt_at) == ("sending", 0, NOW + LEASE)
    assert len(reminder.claim_token) == 32 and reminder.handed_over_at is None


def test_it_does_not_claim_what_is_not_due(org, customer, make_invoice, outbox):
    make_reminder(org, customer, [make_invoice()], state="awaiting_approval")
    make_reminder(org, customer, [make_invoice()], run_date=NOW.date() - timedelta(days=1),
                  not_before=NOW + timedelta(hours=1))
    make_reminder(org, customer, [make_invoice()], run_date=NOW.date() - timedelta(days=2), state="failed",
                  next_attempt_at=NOW + timedelta(minutes=1))
    make_reminder(org, customer, [make_invoice()], run_date=NOW.date() - timedelta(days=3), state="failed")
    make_reminder(org, customer, [make_invoice()], run_date=NOW.date() - timedelta(days=4), state="unknown")
    make_reminder(org, customer, [make_invoice()], run_date=NOW.date() - timedelta(days=5), state="sending",
                  next_attempt_at=NOW - timedelta(hours=1), handed_over_at=NOW - timedelta(hours=1))
    assert claim_one(now=NOW) is None


def test_it_claims_only_the_organisations_reminders_when_asked(org, other_org, customer, make_invoice, outbox):
    from relance.ledger.models import Customer, Invoice

    mine = make_reminder(org, customer, [make_invoice()])
    theirs = Customer.objects.create(organisation=other_org, external_id="X1", name="X")
    inv = Invoice.objects.create(organisation=other_org, customer=theirs, number="X-1", issue_date=NOW.date(),
                                 due_date=NOW.date(), total=Decimal("10"), open_balance=Decimal("10"))
    make_reminder(other_org, theirs, [inv])
    assert claim_one(org=org, now=NOW).pk == mine.pk
    assert claim_one(org=org, now=NOW) is None


def test_it_sends_and_keeps_exactly_what_was_sent(org, customer, make_invoice, outbox):
    reminder = make_reminder(org, customer, [make_invoice(total="1500.00")])

    stats = deliver_pending(now=NOW)

    assert (stats.claimed, stats.sent) == (1, 1)
    reminder.refresh_from_db()
    assert reminder.state == "sent" and reminder.sent_at is not None and reminder.next_attempt_at is None
    assert reminder.recipient == "compta@dupont.fr"
    assert reminder.subject.startswith("Suivi facture F00001")
    assert "1 500,00 €" in reminder.body_text and "<html" in reminder.body_html
    assert [a["name"] for a in reminder.attachments] == ["virement-sepa.png"]
    [eml] = _emails(outbox)
    assert reminder.provider_id == eml.name
    assert reminder.message_id.encode() in eml.read_bytes()


def test_a_second_run_sends_nothing_again(org, customer, make_invoice, outbox):
    make_reminder(org, customer, [make_invoice()])
    deliver_pending(now=NOW)
    assert deliver_pending(now=NOW + timedelta(hours=1)).claimed == 0
    assert len(_emails(outbox)) == 1


def test_an_invoice_paid_since_planning_is_dropped_and_the_others_still_sent(org, customer, make_invoice, outbox):
    paid, unpaid = make_invoice(total="100.00"), make_invoice(total="200.00")
    reminder = make_reminder(org, customer, [paid, unpaid])
    set_external_paid(paid, Decimal("100.00"))

    stats = deliver_pending(now=NOW)

    assert (stats.sent, stats.dropped_lines) == (1, 1)
    reminder.refresh_from_db()
    assert [ln.dropped for ln in reminder.lines.order_by("invoice__number")] == [True, False]
    assert paid.number not in reminder.body_text and unpaid.number in reminder.body_text


def test_a_reminder_left_without_invoices_is_cancelled(org, customer, make_invoice, outbox):
    paid, disputed = make_invoice(), make_invoice()
    reminder = make_reminder(org, customer, [paid, disputed])
    set_external_paid(paid, paid.total)
    Dispute.objects.create(organisation=org, invoice=disputed, reason="livraison incomplète")

    stats = deliver_pending(now=NOW)

    assert (stats.cancelled, stats.sent) == (1, 0)
    reminder.refresh_from_db()
    assert reminder.state == "cancelled" and "annulée avant l'envoi" in reminder.error
    assert _emails(outbox) == []


def test_an_invoice_promised_since_planning_is_not_reminded(org, customer, make_invoice, outbox):
    inv = make_invoice()
    reminder = make_reminder(org, customer, [inv])
    Promise.objects.create(organisation=org, invoice=inv, promised_date=NOW.date() + timedelta(days=3))
    deliver_pending(now=NOW)
    reminder.refresh_from_db()
    assert reminder.state == "cancelled"


def test_a_thank_you_is_sent_although_its_invoice_is_paid(org, customer, make_invoice, outbox):
    inv = make_invoice()
    reminder = make_reminder(org, customer, [inv], template="payment_thanks", step="thanks")
    set_external_paid(inv, inv.total)
    deliver_pending(now=NOW)
    reminder.refresh_from_db()
    assert reminder.state == "sent" and reminder.subject.startswith("Merci pour votre règlement")


def test_a_rendering_problem_is_a_permanent_failure(org, customer, make_invoice, outbox):
    reminder = make_reminder(org, customer, [make_invoice()], template="no_such_template")
    stats = deliver_pending(now=NOW)
    reminder.refresh_from_db()
    assert stats.failed == 1
    assert reminder.state == "failed" and reminder.next_attempt_at is None
    assert "no_such_template" in reminder.error


def test_a_customer_without_a_valid_address_gets_a_fix_contact_task(org, customer, make_invoice, outbox):
    customer.contacts.update(valid=False, invalid_reason="bounce")
    reminder = make_reminder(org, customer, [make_invoice()])
    deliver_pending(now=NOW)
    reminder.refresh_from_db()
    assert reminder.state == "failed" and reminder.next_attempt_at is None
    task = Task.objects.get(customer=customer, kind="fix_contact")
    assert task.reminder == reminder and task.state == "open"


def test_the_message_is_recorded_before_the_backend_is_called(org, customer, make_invoice, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the outbox folder should be")
    org.email_url = f"file://{blocker}"
    org.save()
    reminder = make_reminder(org, customer, [make_invoice()])

    stats = deliver_pending(now=NOW)

    assert stats.retrying == 1
    reminder.refresh_from_db()
    assert reminder.state == "failed" and reminder.next_attempt_at == NOW + backoff(1)
    assert reminder.subject and reminder.body_text and reminder.message_id  # kept although nothing left


def test_backoff_doubles_up_to_a_ceiling():
    assert [backoff(n) for n in (1, 2, 3)] == [timedelta(minutes=5), timedelta(minutes=10), timedelta(minutes=20)]
    assert backoff(30) == timedelta(hours=6)


def test_a_reminder_claimed_by_a_worker_that_died_before_the_hand_over_is_sent_once_its_lease_ends(
        org, customer, make_invoice, outbox):
    reminder = make_reminder(org, customer, [make_invoice()])
    claim_one(now=NOW)  # a worker claimed it, then died before rendering it

    assert deliver_pending(now=NOW + LEASE / 2).claimed == 0  # the lease still holds
    stats = deliver_pending(now=NOW + LEASE + timedelta(seconds=1))

    assert (stats.swept, stats.sent) == (0, 1)
    reminder.refresh_from_db()
    assert reminder.state == "sent" and reminder.attempts == 1
    assert len(_emails(outbox)) == 1


def test_a_reminder_handed_over_by_a_worker_that_died_becomes_unknown_and_is_never_resent(
        org, customer, make_invoice, outbox):
    reminder = make_reminder(org, customer, [make_invoice()])
    claim_one(now=NOW)
    # It died inside the provider call: the evidence and the hand-over time are stored.
    Reminder.objects.filter(pk=reminder.pk).update(handed_over_at=NOW, subject="Suivi", attempts=1)

    assert sweep_stuck(now=NOW + timedelta(minutes=5)) == 0
    assert deliver_pending(now=NOW + timedelta(minutes=10)).claimed == 0  # never taken back by a claim
    stats = deliver_pending(now=NOW + timedelta(minutes=20))

    assert (stats.swept, stats.claimed) == (1, 0)
    reminder.refresh_from_db()
    assert reminder.state == "unknown" and "à vérifier" in reminder.error
    assert deliver_pending(now=NOW + timedelta(days=1)).claimed == 0
    assert _emails(outbox) == []


def test_a_worker_whose_lease_ran_out_does_not_send_what_another_worker_claimed(org, customer, make_invoice, outbox):
    from relance.channels.delivery import DeliveryStats, _Backends, deliver_one

    make_reminder(org, customer, [make_invoice()])
    slow = claim_one(now=NOW)
    fast = claim_one(now=NOW + LEASE + timedelta(seconds=1))  # the slow worker's lease ran out
    assert fast.pk == slow.pk and fast.claim_token != slow.claim_token

    assert deliver_one(fast, _Backends(), DeliveryStats()) == "sent"
    assert deliver_one(slow, _Backends(), DeliveryStats()) == "sending"  # lost its claim: sends nothing

    assert len(_emails(outbox)) == 1
    assert Reminder.objects.get(pk=slow.pk).state == "sent"


def test_a_person_decides_what_an_unknown_reminder_became(org, customer, make_invoice, outbox):
    reminder = make_reminder(org, customer, [make_invoice()], state="unknown")
    resolve_unknown(reminder, was_sent=False)
    assert deliver_pending(now=NOW).sent == 1
    other = make_reminder(org, customer, [make_invoice()], state="unknown", run_date=NOW.date() - timedelta(days=1))
    resolve_unknown(other, was_sent=True)
    assert Reminder.objects.get(pk=other.pk).state == "sent"


def test_the_send_command_delivers_the_organisations_reminders(org, customer, make_invoice, outbox, capsys):
    make_reminder(org, customer, [make_invoice()])
    call_command("send_reminders", "--org", "abc", "--no-bounces")
    assert "sent=1" in capsys.readouterr().out
    assert len(_emails(outbox)) == 1


def test_a_call_reminder_becomes_a_call_task_for_the_collector(org, customer, make_invoice, bob, outbox):
    from relance.ledger.models import Contact

    customer.collector = bob
    customer.save()
    Contact.objects.create(customer=customer, kind="phone", value="04 72 11 22 33")
    reminder = make_reminder(org, customer, [make_invoice()], channel="call", template="call_script", step="call")

    assert deliver_pending(now=NOW).sent == 1

    reminder.refresh_from_db()
    task = Task.objects.get(reminder=reminder, kind="call")
    assert task.assignee == bob and "Je vous appelle au sujet de la facture" in task.script
    assert reminder.state == "sent" and reminder.body_text == task.script


def test_an_sms_in_quiet_hours_waits_for_the_morning_without_counting_an_attempt(org, customer, make_invoice,
                                                                                  tmp_path):
    from relance.ledger.models import Contact

    org.sms_url = f"file://{tmp_path}"
    org.save()
    Contact.objects.create(customer=customer, kind="phone", value="06 12 34 56 78")
    reminder = make_reminder(org, customer, [make_invoice()], channel="sms", template="sms_reminder", step="sms")
    evening = datetime(2026, 7, 10, 19, 30, tzinfo=UTC)  # 21:30 in Paris

    stats = deliver_pending(now=evening)

    reminder.refresh_from_db()
    assert stats.deferred == 1 and stats.sent == 0
    assert (reminder.state, reminder.attempts) == ("planned", 0)
    assert reminder.not_before == datetime(2026, 7, 11, 6, 0, tzinfo=UTC)  # Saturday 08:00 in Paris
    assert deliver_pending(now=reminder.not_before).sent == 1
    reminder.refresh_from_db()
    assert reminder.recipient == "+33612345678" and "F00001" in reminder.body_text


def test_a_statement_message_always_carries_the_statement_pdf(org, customer, make_invoice, outbox):
    import email
    from email.policy import default as default_policy

    OrganisationChannelSettings.objects.create(organisation=org, attach_statement="never")
    make_reminder(org, customer, [make_invoice()], template="statement", step="statement")
    assert deliver_pending(now=NOW).sent == 1
    [eml] = _emails(outbox)
    msg = email.message_from_bytes(eml.read_bytes(), policy=default_policy)
    assert [a.get_filename() for a in msg.iter_attachments()] == ["Releve-de-compte-C001.pdf"]
    assert msg["Subject"] == "Relevé de compte au 10/07/2026 – Dupont SARL"


def test_a_customer_unreachable_by_e_mail_gets_the_same_lines_by_letter_and_a_fix_task(org, customer, make_invoice,
                                                                                        tmp_path):
    customer.contacts.update(valid=False, invalid_reason="bounce")
    customer.address_line1, customer.postcode, customer.city = "3 rue Mercière", "69002", "Lyon"
    customer.save()
    inv = make_invoice()
    failed = make_reminder(org, customer, [inv], template="firm_reminder", step="firm", tone="firm")

    deliver_pending(now=NOW)

    failed.refresh_from_db()
    letter = Reminder.objects.get(customer=customer, channel="letter")
    assert failed.state == "failed" and "relayée par letter" in failed.error and not failed.lines.exists()
    assert (letter.fallback_from, letter.template, letter.tone) == ("email", "firm_reminder", "firm")
    assert list(letter.lines.values_list("invoice__number", flat=True)) == [inv.number]
    assert Task.objects.filter(customer=customer, kind="fix_contact", channel="email", state="open").count() == 1
    # The letter goes with the next round; nothing falls back to e-mail again.
    deliver_pending(now=NOW)
    letter.refresh_from_db()
    assert letter.state == "sent"
    assert Reminder.objects.filter(customer=customer).count() == 2


def test_with_no_channel_left_the_reminder_fails_with_its_fix_task_only(org, customer, make_invoice, outbox):
    customer.contacts.update(valid=False, invalid_reason="bounce")
    reminder = make_reminder(org, customer, [make_invoice()])
    deliver_pending(now=NOW)
    reminder.refresh_from_db()
    assert reminder.state == "failed" and Reminder.objects.filter(customer=customer).count() == 1
    assert Task.objects.filter(customer=customer, kind="fix_contact").count() == 1


def test_a_formal_notice_resting_on_a_rate_missing_from_the_tables_waits_for_approval(
        org, customer, make_invoice, outbox, alice):
    from relance.dunning.actions import approve_reminder

    # The rate tables are checked up to 2026; a notice computed in 2031 carries the last rate forward.
    later = datetime(2031, 3, 10, 8, 0, tzinfo=UTC)
    reminder = make_reminder(org, customer, [make_invoice()], template="formal_notice", step="formal",
                             tone="formal", run_date=later.date())

    stats = deliver_pending(now=later)

    reminder.refresh_from_db()
    assert (stats.held, stats.sent) == (1, 0) and _emails(outbox) == []
    assert reminder.state == "awaiting_approval" and "absent de la table des taux" in reminder.error
    assert "2031" in reminder.error
    approve_reminder(reminder, alice)
    assert deliver_pending(now=later).sent == 1
    reminder.refresh_from_db()
    assert "taux estimé" in reminder.body_text
