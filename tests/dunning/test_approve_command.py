"""relance approve: reminders waiting for approval (formal notices)."""

from __future__ import annotations

from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from relance.dunning.actions import DunningError, approve_reminder, plan_today, skip_reminder
from relance.dunning.models import Reminder
from tests.schedule_support import set_schedule

pytestmark = pytest.mark.django_db


@pytest.fixture
def notice(scenarios, make_customer, make_invoice):
    cust = make_customer("C002", address=True)
    inv = make_invoice(number="F1", cust=cust)
    set_schedule(inv, "sms", date(2026, 7, 20), date(2026, 7, 30))
    plan_today(scenarios, date(2026, 7, 30))
    return Reminder.objects.get()


def approve(*args) -> str:
    out = StringIO()
    call_command("approve", "--org", "abc", *args, stdout=out)
    return out.getvalue()


def test_a_formal_notice_waits_for_approval_and_is_listed(notice):
    assert (notice.state, notice.channel, notice.registered) == ("awaiting_approval", "letter", True)
    assert approve().split("\t")[:5] == [str(notice.pk), "2026-07-30", "C002", "letter", "formal-notice"]


def test_approving_makes_it_planned_and_records_who(notice, alice):
    approve("--approve", str(notice.pk), "--user", "alice")
    notice.refresh_from_db()
    assert (notice.state, notice.approved_by) == ("planned", alice)
    assert approve() == "nothing waiting for approval\n"


def test_skipping_cancels_it(notice, bob):
    skip_reminder(notice, bob)
    notice.refresh_from_db()
    assert notice.state == "cancelled" and "bob" in notice.error


def test_a_reminder_not_waiting_cannot_be_approved_again(notice, alice):
    approve_reminder(notice, alice)
    with pytest.raises(DunningError, match="n'attend pas"):
        approve_reminder(Reminder.objects.get(pk=notice.pk), alice)


def test_all_approves_every_waiting_reminder(notice, alice):
    approve("--all", "--user", "alice")
    assert Reminder.objects.get().state == "planned"


def test_an_unknown_reminder_is_a_one_line_error(notice, alice):
    with pytest.raises(CommandError, match="reminder 999"):
        approve("--approve", "999", "--user", "alice")


@pytest.mark.parametrize("action", [["--all"], ["--approve", "{pk}"], ["--skip", "{pk}"]])
def test_approving_or_skipping_without_an_approver_is_refused(notice, action):
    with pytest.raises(CommandError, match="need --user NAME"):
        approve(*[a.format(pk=notice.pk) for a in action])
    assert Reminder.objects.get().state == "awaiting_approval"


def test_the_approver_must_be_a_member_of_the_organisation(notice, charlie):
    with pytest.raises(CommandError, match="--user 'charlie': not a member of abc"):
        approve("--approve", str(notice.pk), "--user", "charlie")
    assert Reminder.objects.get().state == "awaiting_approval"


def test_listing_needs_no_approver(notice):
    assert approve().startswith(f"{notice.pk}\t")
