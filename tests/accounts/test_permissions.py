"""Roles enforced in every action that takes a user: one table, each role against each action."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from relance.accounts import actions as org_actions
from relance.accounts.models import Membership
from relance.accounts.permissions import require
from relance.dunning import actions
from relance.dunning.models import Dispute, PaymentPlan, Reminder, Task
from relance.ledger import balances
from relance.ledger.models import Allocation, Payment

pytestmark = pytest.mark.django_db

LATER = timezone.localdate() + timedelta(days=30)


@pytest.fixture
def world(org, customer, make_invoice, django_user_model):
    """One of everything an action can act on, in alice's organisation."""
    invoice = make_invoice("1200.00")
    disputed = make_invoice("300.00")
    actions.open_dispute(disputed, "prestation contestée")
    planned = make_invoice("600.00")
    plan = actions.add_payment_plan(customer, [planned], [(LATER, Decimal("600.00"))])
    payment = Payment.objects.create(organisation=org, customer=customer, date=date(2026, 7, 1),
                                     amount=Decimal("100.00"))
    allocated = make_invoice("100.00")
    allocation = balances.allocate(allocated, Decimal("40.00"), payment=payment)
    reminder = Reminder.objects.create(
        organisation=org, customer=customer, channel="letter", run_date=date(2026, 7, 30), scenario_code="standard",
        step_code="formal-notice", template="formal_notice", state="awaiting_approval",
    )
    newcomer = django_user_model.objects.create_user("nina", "nina@abc-consulting.fr", "nina-pw")
    return {"org": org, "customer": customer, "invoice": invoice, "disputed": disputed, "plan": plan,
            "payment": payment, "allocation": allocation, "reminder": reminder, "newcomer": newcomer}


def _record_payment(w, user):
    payment = Payment(organisation=w["org"], customer=w["customer"], date=date(2026, 7, 2), amount=Decimal("5"))
    balances.record_payment(payment, user=user)


# name -> (permission, the call)
ACTIONS = {
    "record_promise": ("write", lambda w, u: actions.record_promise(w["invoice"], LATER, user=u)),
    "open_dispute": ("write", lambda w, u: actions.open_dispute(w["invoice"], "contestée", user=u)),
    "close_dispute": ("write", lambda w, u: actions.close_dispute(w["disputed"], "avoir émis", user=u)),
    "add_payment_plan": ("write", lambda w, u: actions.add_payment_plan(
        w["customer"], [w["invoice"]], [(LATER, Decimal("1200.00"))], user=u)),
    "cancel_payment_plan": ("write", lambda w, u: actions.cancel_payment_plan(w["plan"], user=u)),
    "pause_customer": ("write", lambda w, u: actions.pause_customer(w["customer"], LATER, "vacances", user=u)),
    "resume_customer": ("write", lambda w, u: actions.resume_customer(w["customer"], user=u)),
    "approve_reminder": ("write", lambda w, u: actions.approve_reminder(w["reminder"], u)),
    "skip_reminder": ("write", lambda w, u: actions.skip_reminder(w["reminder"], u)),
    "create_task": ("write", lambda w, u: actions.create_task(w["customer"], "call", "Appeler", user=u)),
    "allocate": ("write", lambda w, u: balances.allocate(w["invoice"], Decimal("10.00"), user=u)),
    "unallocate": ("write", lambda w, u: balances.unallocate(w["allocation"], user=u)),
    "record_payment": ("write", _record_payment),
    "delete_payment": ("write", lambda w, u: balances.delete_payment(w["payment"], user=u)),
    "update_organisation": ("settings", lambda w, u: org_actions.update_organisation(
        w["org"], {"phone": "04 72 00 00 00"}, user=u)),
    "set_transport": ("settings", lambda w, u: org_actions.set_transport(
        w["org"], "email", "smtp://abc:motdepasse@smtp.example.fr:587?starttls=1", user=u)),
    "set_member": ("members", lambda w, u: org_actions.set_member(w["org"], w["newcomer"], "viewer", user=u)),
    "remove_member": ("members", lambda w, u: org_actions.remove_member(
        w["org"], Membership.objects.get(organisation=w["org"], role="collector").user, user=u)),
}

# role -> the permissions it holds in alice's organisation
ROLES = {
    "victor": set(),  # viewer
    "bob": {"write"},  # collector
    "alice": {"write", "settings", "members"},  # owner
    "charlie": set(),  # owner of another organisation
}


@pytest.mark.parametrize("action", sorted(ACTIONS))
@pytest.mark.parametrize("person", sorted(ROLES))
def test_each_role_may_do_exactly_what_its_role_grants(request, world, alice, bob, charlie, victor, person, action):
    perm, call = ACTIONS[action]
    user = request.getfixturevalue(person)
    if perm in ROLES[person]:
        call(world, user)
    else:
        with pytest.raises(PermissionDenied, match="pas le droit"):
            call(world, user)


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_the_system_may_do_everything(world, bob, action):
    _, call = ACTIONS[action]
    call(world, None)


def test_a_refused_action_changes_nothing(world, victor):
    with pytest.raises(PermissionDenied):
        actions.open_dispute(world["invoice"], "contestée", user=victor)
    with pytest.raises(PermissionDenied):
        balances.unallocate(world["allocation"], user=victor)
    assert not Dispute.objects.filter(invoice=world["invoice"]).exists()
    assert Allocation.objects.filter(pk=world["allocation"].pk).exists()
    assert PaymentPlan.objects.get(pk=world["plan"].pk).state == "active"
    assert not Task.objects.exists()


def test_the_refusal_names_the_user_the_role_and_the_organisation(org, bob, charlie):
    with pytest.raises(PermissionDenied) as refused:
        require(bob, org, "settings")
    assert str(refused.value) == (
        "bob (chargé de recouvrement) : pas le droit de modifier les réglages, les transports, les modèles "
        "et les scénarios dans l'organisation abc"
    )
    with pytest.raises(PermissionDenied, match="charlie \\(non membre\\)"):
        require(charlie, org, "write")


def test_an_unknown_permission_is_a_programming_error(org, alice):
    with pytest.raises(ValueError, match="permission inconnue 'delete'"):
        require(alice, org, "delete")
