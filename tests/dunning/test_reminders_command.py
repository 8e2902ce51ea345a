"""relance reminders unknown|resolve: the reminders whose sending is in doubt, and a person's decision."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from relance.dunning.models import Reminder
from tests.channels.email_support import make_reminder

pytestmark = pytest.mark.django_db

HANDED_OVER = datetime(2026, 7, 10, 7, 30, 5, tzinfo=UTC)  # 09:30:05 in Paris
BODY = "Bonjour,\n\nSauf erreur de notre part, la facture F1 reste impayée.\nMontant : 1 200,00 €\n" \
       "Échéance : 30/06/2026\nMerci de régulariser.\nLigne six\nLigne sept\n"


@pytest.fixture
def in_doubt(org, customer, make_invoice):
    """A reminder handed to the SMTP server, whose answer was never recorded (the worker died)."""
    return make_reminder(
        org, customer, [make_invoice(number="F1")], state="unknown", recipient="compta@dupont.fr",
        subject="Facture F1 : rappel", body_text=BODY, message_id="<r1.abc@relance>", attempts=1,
        error="envoi interrompu : à vérifier", handed_over_at=HANDED_OVER, provider_response="",
    )


def reminders(*args) -> str:
    out = StringIO()
    call_command("reminders", *args, stdout=out)
    return out.getvalue()


def test_it_lists_the_unknown_reminders_with_their_evidence(in_doubt, make_invoice):
    make_reminder(in_doubt.organisation, in_doubt.customer, [make_invoice(number="F2")], state="sent",
                  run_date=in_doubt.run_date.replace(day=11))
    [row] = json.loads(reminders("unknown", "--org", "abc", "--json"))
    assert row["id"] == in_doubt.pk and row["invoices"] == ["F1"] and row["customer"] == "C001"
    assert (row["recipient"], row["subject"], row["message_id"]) == (
        "compta@dupont.fr", "Facture F1 : rappel", "<r1.abc@relance>")
    assert row["body_start"] == ["Bonjour,", "Sauf erreur de notre part, la facture F1 reste impayée.",
                                 "Montant : 1 200,00 €", "Échéance : 30/06/2026", "Merci de régulariser."]
    assert (row["attempts"], row["error"]) == (1, "envoi interrompu : à vérifier")
    assert row["handed_over_at"] == "2026-07-10T09:30:05+02:00"


def test_the_text_listing_shows_the_message_and_when_it_left(in_doubt):
    text = reminders("unknown", "--org", "abc")
    assert text.startswith(f"#{in_doubt.pk}  2026-07-10  email  C001 Dupont SARL")
    assert "  objet : Facture F1 : rappel\n" in text and "    | Merci de régulariser.\n" in text
    assert "Ligne six" not in text
    assert "  Message-ID : <r1.abc@relance>\n" in text and "2026-07-10T09:30:05+02:00" in text


def test_it_shows_nothing_of_another_organisation(in_doubt, other_org):
    assert reminders("unknown", "--org", "xyz") == "aucune relance en état inconnu\n"


def test_not_sent_puts_it_back_in_the_sending_queue(in_doubt, bob):
    assert reminders("resolve", str(in_doubt.pk), "--not-sent", "--user", "bob") == (
        f"reminder {in_doubt.pk}: remise dans la file d'envoi (par bob)\n")
    in_doubt.refresh_from_db()
    assert (in_doubt.state, in_doubt.next_attempt_at, in_doubt.sent_at) == ("planned", None, None)
    assert "non reçue, remise dans la file d'envoi selon bob le " in in_doubt.error


def test_sent_marks_it_sent(in_doubt):
    reminders("resolve", str(in_doubt.pk), "--sent")
    in_doubt.refresh_from_db()
    assert in_doubt.state == "sent" and in_doubt.sent_at is not None
    assert reminders("unknown", "--org", "abc") == "aucune relance en état inconnu\n"


def test_a_reminder_not_in_doubt_cannot_be_resolved(in_doubt):
    Reminder.objects.filter(pk=in_doubt.pk).update(state="sent")
    with pytest.raises(CommandError, match="not unknown"):
        reminders("resolve", str(in_doubt.pk), "--not-sent")
    assert Reminder.objects.get(pk=in_doubt.pk).state == "sent"


def test_only_a_member_of_its_organisation_may_resolve_it(in_doubt, charlie):
    with pytest.raises(CommandError, match="--user 'charlie'"):
        reminders("resolve", str(in_doubt.pk), "--sent", "--user", "charlie")
    assert Reminder.objects.get(pk=in_doubt.pk).state == "unknown"


def test_the_outcome_is_required_and_only_one(in_doubt):
    with pytest.raises(CommandError, match="--sent --not-sent"):
        reminders("resolve", str(in_doubt.pk))
    with pytest.raises(CommandError, match="not allowed with"):
        reminders("resolve", str(in_doubt.pk), "--sent", "--not-sent")
