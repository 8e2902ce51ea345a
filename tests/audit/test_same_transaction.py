"""A change and its audit entry commit together: an audit write that fails takes the change back.

The failure is a real one: a row already holding the seq the next entry takes, so the database's
unique (organisation, seq) refuses the append."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError
from django.utils import timezone

from relance.audit.models import AuditAnchor, AuditEntry
from relance.audit.verify import verify_org
from relance.channels.delivery import resolve_unknown, sweep_stuck
from relance.dunning import actions
from relance.dunning.models import Reminder
from relance.ledger.models import Customer
from tests.audit.conftest import kinds, last
from tests.channels.email_support import make_reminder

NOW = datetime(2026, 7, 10, 8, 0, tzinfo=UTC)


def jam(org) -> None:
    """Take the seq the organisation's next entry would get: its append now fails in the database."""
    count = AuditAnchor.objects.filter(pk=org.pk).values_list("count", flat=True).first() or 0
    AuditEntry.objects.create(organisation=org, seq=count + 1, at=timezone.now(), kind="jam", actor="test",
                              prev_hash="0" * 64, hash="0" * 64)


def stuck(org, customer, invoice, **fields):
    reminder = make_reminder(org, customer, [invoice], **fields)
    Reminder.objects.filter(pk=reminder.pk).update(state="sending", handed_over_at=NOW, attempts=1,
                                                   recipient="compta@dupont.fr", claim_token="t")
    return reminder


def test_the_sweep_records_each_reminder_it_moves_in_its_organisations_log(
        org, other_org, customer, make_invoice):
    first = stuck(org, customer, make_invoice(number="F1"))
    second = stuck(org, customer, make_invoice(number="F2"), channel="letter", template="formal_notice")
    theirs_customer = Customer.objects.create(organisation=other_org, external_id="X1", name="Xeno")
    from relance.ledger.models import Invoice

    theirs_invoice = Invoice.objects.create(
        organisation=other_org, customer=theirs_customer, number="X-1", issue_date=NOW.date(),
        due_date=NOW.date(), total=Decimal("10.00"), open_balance=Decimal("10.00"))
    theirs = stuck(other_org, theirs_customer, theirs_invoice)

    assert sweep_stuck(now=NOW + timedelta(minutes=30)) == 3

    entries = list(AuditEntry.objects.filter(organisation=org).order_by("seq"))
    assert [(e.kind, e.object_id) for e in entries] == [("reminder.unknown", str(first.pk)),
                                                       ("reminder.unknown", str(second.pk))]
    assert entries[0].data["invoices"] == ["F1"] and entries[1].data["invoices"] == ["F2"]
    assert entries[0].data["state"] == "unknown" and "à vérifier" in entries[0].data["error"]
    assert entries[0].data["recipients"] == ["compta@dupont.fr"] and entries[0].actor == "system"
    assert kinds(other_org) == ["reminder.unknown"] and last(other_org, "reminder.unknown").object_id == str(theirs.pk)
    assert verify_org(org).ok and verify_org(other_org).ok
    assert sweep_stuck(now=NOW + timedelta(minutes=60)) == 0 and len(kinds(org)) == 2


def test_a_sweep_whose_entries_cannot_be_written_moves_nothing(org, customer, make_invoice):
    reminder = stuck(org, customer, make_invoice())
    jam(org)
    with pytest.raises(IntegrityError):
        sweep_stuck(now=NOW + timedelta(minutes=30))
    assert Reminder.objects.get(pk=reminder.pk).state == "sending"


@pytest.mark.parametrize("act", [
    lambda r, user: actions.approve_reminder(r, user),
    lambda r, user: actions.skip_reminder(r, user),
    lambda r, user: actions.edit_reminder(r, "Objet revu", "Texte revu.", user),
])
def test_an_approval_whose_entry_cannot_be_written_changes_nothing(org, customer, make_invoice, bob, act):
    reminder = make_reminder(org, customer, [make_invoice()], state="awaiting_approval")
    jam(org)
    with pytest.raises(IntegrityError):
        act(reminder, bob)
    fresh = Reminder.objects.get(pk=reminder.pk)
    assert (fresh.state, fresh.approved_by_id, fresh.edited_by_id, fresh.subject) == (
        "awaiting_approval", None, None, "")


def test_an_approval_and_its_entry_land_together(org, customer, make_invoice, bob):
    reminder = make_reminder(org, customer, [make_invoice()], state="awaiting_approval")
    actions.edit_reminder(reminder, "Objet revu", "Texte revu.", bob)
    actions.approve_reminder(reminder, bob)
    assert Reminder.objects.get(pk=reminder.pk).state == "planned"
    assert kinds(org) == ["reminder.edited", "reminder.approved"]
    assert last(org, "reminder.approved").actor == "bob" and verify_org(org).ok


def test_a_resolution_whose_entry_cannot_be_written_changes_nothing(org, customer, make_invoice):
    reminder = make_reminder(org, customer, [make_invoice()], state="unknown")
    jam(org)
    with pytest.raises(IntegrityError):
        resolve_unknown(reminder, was_sent=True)
    assert Reminder.objects.get(pk=reminder.pk).state == "unknown"


def test_a_contract_rate_is_recorded_with_its_change(org, customer, bob):
    actions.set_contract_rate(customer, "percent", Decimal("12.50"), user=bob)
    entry = last(org, "customer.late_rate")
    assert entry.data["late_rate_mode"] == "percent" and entry.data["late_rate_value"] == "12.50"
    jam(org)
    with pytest.raises(IntegrityError):
        actions.set_contract_rate(customer, "", None, user=bob)
    assert Customer.objects.get(pk=customer.pk).late_rate_mode == "percent"


def test_scenario_edits_are_recorded_with_their_change(org, alice):
    from relance.dunning import scenario_actions
    from relance.dunning.defaults import install_default_scenarios
    from relance.dunning.models import Scenario, Step

    install_default_scenarios(org)
    standard = Scenario.objects.get(organisation=org, code="standard")
    step = scenario_actions.add_step(standard, user=alice, name="Dernier rappel", offset_days=60, channel="email",
                                     template="firm_reminder", tone="firm")
    scenario_actions.edit_step(step, user=alice, offset_days=61)
    scenario_actions.copy_scenario(standard, user=alice, name="Standard bis")
    assert kinds(org) == ["scenario.step_added", "scenario.step_changed", "scenario.copied"]
    changed = last(org, "scenario.step_changed")
    assert (changed.object_label, changed.data["offset_days"], changed.data["changed"]) == (
        f"standard/{step.code}", 61, ["offset_days"])
    assert changed.actor == "alice" and verify_org(org).ok
    jam(org)
    with pytest.raises(IntegrityError):
        scenario_actions.remove_step(step, user=alice)
    assert Step.objects.filter(pk=step.pk).exists()


def test_template_edits_are_recorded_with_their_change(org, alice):
    from relance.channels.models import MessageTemplate
    from relance.channels.template_actions import reset_template, save_template

    save_template(org, "first_reminder", "fr", user=alice, subject="Votre facture",
                  body_text="Bonjour, merci de régler.")
    assert reset_template(org, "first_reminder", "fr", user=alice)
    assert kinds(org) == ["template.saved", "template.reset"]
    saved = last(org, "template.saved")
    assert saved.object_label == "first_reminder/fr" and saved.data["body_text"] == "Bonjour, merci de régler."
    jam(org)
    with pytest.raises(IntegrityError):
        save_template(org, "first_reminder", "fr", user=alice, subject="Objet", body_text="Autre texte.")
    assert not MessageTemplate.objects.filter(organisation=org).exists()


def test_a_match_decision_is_recorded_with_it(org, customer, alice):
    from datetime import date

    from relance.ledger.match_actions import reject_proposal
    from relance.ledger.models import MatchProposal, Payment

    payment = Payment.objects.create(organisation=org, customer=customer, date=date(2026, 7, 9),
                                     amount=Decimal("100.00"), reference="VIR 1")
    proposal = MatchProposal.objects.create(organisation=org, payment=payment, rule="none", reason="?")
    jam(org)
    with pytest.raises(IntegrityError):
        reject_proposal(proposal, user=alice)
    assert MatchProposal.objects.get(pk=proposal.pk).state == "proposed"
    # The head moved past the jam row: the next append goes through.
    AuditAnchor.objects.update_or_create(organisation=org, defaults={"count": 1, "last_hash": "0" * 64})
    reject_proposal(proposal, user=alice)
    entry = last(org, "match.rejected")
    assert entry.actor == "alice" and entry.data["payment"] == payment.pk
    assert MatchProposal.objects.get(pk=proposal.pk).state == "rejected"
