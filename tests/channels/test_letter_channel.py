"""Letters from a reminder: the PDF, the file backend and its receipt, the print batch, the registered number."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, date, datetime

import pytest
from django.core.management import CommandError, call_command
from pypdf import PdfReader

from relance.channels.base import DeliveryError
from relance.channels.context import build_context
from relance.channels.letter.batch import NoLetters, build_batch, register_letter, sync_registered_status
from relance.channels.letter.channel import LetterChannel
from relance.channels.registry import get_backend
from relance.dunning.actions import approve_reminder
from relance.dunning.queries import sent_day

TODAY = date(2026, 7, 30)


def flat(pdf: bytes) -> str:
    raw = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return re.sub(r"[\s\u00a0\u202f]+", " ", raw)


@pytest.fixture
def letters_dir(tmp_path, settings):
    settings.LETTER_URL = f"file://{tmp_path / 'letters'}"
    return tmp_path / "letters"


@pytest.fixture
def addressed(customer):
    customer.address_line1 = "3 rue Lafayette"
    customer.postcode = "75009"
    customer.city = "Paris"
    customer.save()
    return customer


def make_reminder(org, customer, invoices, *, template="formal_notice", tone="formal", registered=True,
                  run_date=TODAY, kind="letter", approved=True):
    """A planned reminder; a formal notice already approved, as the scenarios ask (the tables lack the
    ECB rate of July 2026, and an unapproved notice resting on it waits for approval)."""
    from django.contrib.auth import get_user_model

    from relance.dunning.models import Reminder, ReminderLine

    approver = get_user_model().objects.get_or_create(username="approver")[0] if approved else None
    reminder = Reminder.objects.create(
        organisation=org, customer=customer, channel=kind, run_date=run_date, scenario_code="standard",
        step_code="formal-notice", template=template, tone=tone, registered=registered, approved_by=approver,
    )
    for inv in invoices:
        ReminderLine.objects.create(reminder=reminder, invoice=inv, step_code=f"formal-notice-{reminder.pk}",
                                    balance=inv.open_balance)
    return reminder


def test_it_renders_a_registered_formal_notice_with_the_law_figures(org, addressed, make_invoice):
    inv = make_invoice("1200.00", due=date(2026, 6, 30))
    reminder = make_reminder(org, addressed, [inv])
    out = LetterChannel().render(reminder, build_context(reminder, today=TODAY))
    assert out.recipient == "Dupont SARL\n3 rue Lafayette\n75009 Paris"
    [pdf] = out.attachments
    assert pdf.name.endswith(".pdf") and pdf.content.startswith(b"%PDF")
    text = flat(pdf.content)
    # 30 days late at ECB 2.15 % + 10 = 12.15 %: 1200 x 12.15 % x 30/365 = 11.98 ; 40 € for one invoice.
    assert f"{inv.number} 31/05/2026 30/06/2026 30 1 200,00 € 1 200,00 €" in text
    assert "11,98 €" in text
    assert "Total réclamé 1 251,98 €" in text
    assert "LETTRE RECOMMANDÉE AVEC AVIS DE RÉCEPTION" in text
    assert "À Lyon, le 30 juillet 2026" in text
    assert out.body_html.startswith("<!doctype html>")
    assert out.headers["X-Registered"] == "1"


def test_a_customer_without_a_full_address_gets_no_letter(org, customer, make_invoice):
    reminder = make_reminder(org, customer, [make_invoice()])
    assert LetterChannel().recipient(customer) is None
    with pytest.raises(DeliveryError, match="adresse postale incomplète") as info:
        LetterChannel().render(reminder, build_context(reminder, today=TODAY))
    assert info.value.permanent


def test_a_postal_contact_is_used_before_the_customer_address(org, addressed, make_invoice):
    from relance.ledger.models import Contact

    Contact.objects.create(customer=addressed, kind="postal", name="Dupont SARL – Comptabilité",
                           value="BP 42\n75009 Paris Cedex 09")
    reminder = make_reminder(org, addressed, [make_invoice()])
    out = LetterChannel().render(reminder, build_context(reminder, today=TODAY))
    assert out.recipient == "Dupont SARL – Comptabilité\nBP 42\n75009 Paris Cedex 09"
    assert LetterChannel().recipient(addressed).value == "BP 42\n75009 Paris Cedex 09"


def test_a_foreign_address_ends_with_the_country(org, addressed, make_invoice):
    addressed.country = "BE"
    addressed.save()
    reminder = make_reminder(org, addressed, [make_invoice()])
    out = LetterChannel().render(reminder, build_context(reminder, today=TODAY))
    assert out.recipient.endswith("\nBELGIQUE")


def test_the_file_backend_writes_the_pdf_and_a_receipt_that_status_reads(org, addressed, make_invoice, letters_dir):
    reminder = make_reminder(org, addressed, [make_invoice()])
    out = LetterChannel().render(reminder, build_context(reminder, today=TODAY))
    backend = LetterChannel().backend(reminder)
    receipt = backend.send(out)
    pdf = letters_dir / receipt.provider_id
    assert pdf.read_bytes() == out.attachments[0].content
    record = json.loads(pdf.with_suffix(".json").read_text())
    assert record["sha256"] == out.attachments[0].sha256
    assert record["registered"] is True
    assert backend.status(receipt.provider_id).state == "submitted"
    backend.record(receipt.provider_id, "1A 123 456 7890 1", date(2026, 8, 3))
    status = backend.status(receipt.provider_id)
    assert (status.state, status.number, status.acknowledged_on) == ("delivered", "1A 123 456 7890 1", date(2026, 8, 3))
    with pytest.raises(DeliveryError):
        backend.status("../../etc/passwd")


def _send_through_pipeline(reminder, now):
    from relance.channels.delivery import deliver_pending

    return deliver_pending(reminder.organisation, now=now)


def test_the_delivery_pipeline_sends_a_letter_and_the_batch_prints_it(org, addressed, make_invoice, letters_dir,
                                                                      alice):
    from relance.ledger.models import Customer

    other = Customer.objects.create(organisation=org, external_id="C002", name="Martin & Fils",
                                    address_line1="8 quai Saint-Antoine", postcode="69002", city="Lyon")
    first = make_reminder(org, addressed, [make_invoice("1200.00")], approved=False)
    second = make_reminder(org, other, [make_invoice("300.00", cust=other)], template="first_reminder",
                           tone="firm", registered=False)
    now = datetime(2026, 7, 30, 8, 0, tzinfo=UTC)
    # The tables lack the ECB rate of July 2026: the formal notice waits for a person's approval first.
    stats = _send_through_pipeline(first, now)
    assert (stats.sent, stats.held) == (1, 1)
    first.refresh_from_db()
    assert first.state == "awaiting_approval" and "2026-07-01" in first.error
    approve_reminder(first, alice)
    stats = _send_through_pipeline(first, now)
    assert stats.sent == 1
    first.refresh_from_db()
    assert first.state == "sent" and first.body_html and first.attachments[0]["sha256"]
    assert (letters_dir / first.provider_id).exists()

    batch = build_batch(org, sent_day(first))
    reader = PdfReader(io.BytesIO(batch))
    text = flat(batch)
    assert "Courriers à poster" in text
    assert "Recommandé AR" in text and "Lettre simple" in text
    assert "Dupont SARL" in text and "Martin & Fils" in text
    assert "Mise en demeure" in text
    assert len(reader.pages) >= 3  # the cover sheet and one page at least per letter
    second.refresh_from_db()
    assert second.state == "sent"


def test_an_empty_day_has_no_batch(org):
    with pytest.raises(NoLetters):
        build_batch(org, TODAY)


def test_the_letters_command_writes_the_batch_and_registers_numbers(org, addressed, make_invoice, letters_dir,
                                                                    tmp_path):
    from relance.channels.delivery import deliver_pending

    reminder = make_reminder(org, addressed, [make_invoice()])
    deliver_pending(org, now=datetime(2026, 7, 30, 8, 0, tzinfo=UTC))
    reminder.refresh_from_db()
    out = tmp_path / "batch.pdf"
    day = sent_day(reminder).isoformat()
    stdout = io.StringIO()
    call_command("letters", "--org", "abc", "--date", day, "--out", str(out), stdout=stdout)
    assert out.read_bytes().startswith(b"%PDF")
    assert "1 courrier(s)" in stdout.getvalue()

    posted = sent_day(reminder)
    call_command("letters", "register", "--reminder", str(reminder.pk), "--number", "1A 001", "--ack-date",
                 posted.isoformat(), stdout=io.StringIO())
    reminder.refresh_from_db()
    assert reminder.registered_number == "1A 001"
    assert reminder.acknowledged_on == posted
    # The receipt next to the PDF says the same; status() reads it back.
    assert sync_registered_status(reminder).registered_number == "1A 001"
    with pytest.raises(CommandError, match="unknown organisation"):
        call_command("letters", "--org", "nope", "--out", str(out))


def test_an_acknowledgement_before_the_letter_is_refused(org, addressed, make_invoice):
    reminder = make_reminder(org, addressed, [make_invoice()])
    with pytest.raises(ValueError, match="before the letter"):
        register_letter(reminder, "1A 002", date(2026, 7, 1))
    with pytest.raises(ValueError, match="number"):
        register_letter(reminder, "  ")
    email = make_reminder(org, addressed, [make_invoice()], kind="email", run_date=date(2026, 7, 31))
    with pytest.raises(ValueError, match="not a letter"):
        register_letter(email, "1A 003")


def test_a_bad_letter_url_is_refused():
    from relance.channels.registry import ConfigurationError

    with pytest.raises(ConfigurationError, match="LETTER_URL"):
        get_backend("letter", "ar24://key@")


def test_a_letter_sent_after_midnight_in_paris_is_on_the_paris_day(org, addressed, make_invoice, letters_dir):
    """At 23:30 UTC it is already the next day in Paris: the batch, the posting day and the
    acknowledgement check all use the organisation's day (the CI once ran at that hour and failed)."""
    import time_machine

    from relance.channels.delivery import deliver_pending

    late_evening = datetime(2026, 12, 3, 23, 30, tzinfo=UTC)
    with time_machine.travel(late_evening, tick=False):
        reminder = make_reminder(org, addressed, [make_invoice()], run_date=date(2026, 12, 4))
        deliver_pending(org, now=late_evening)
        reminder.refresh_from_db()
        assert reminder.state == "sent"
        assert sent_day(reminder) == date(2026, 12, 4)
        assert build_batch(org, date(2026, 12, 4)).startswith(b"%PDF")
        with pytest.raises(NoLetters):
            build_batch(org, date(2026, 12, 3))
        with pytest.raises(ValueError, match="before the letter"):
            register_letter(reminder, "1A 003", date(2026, 12, 3))
        # Tomorrow in Paris is 5 December: an acknowledgement that day is accepted, the 6th is in the future.
        assert register_letter(reminder, "1A 003", date(2026, 12, 5)).acknowledged_on == date(2026, 12, 5)
        with pytest.raises(ValueError, match="in the future"):
            register_letter(reminder, "1A 003", date(2026, 12, 6))
