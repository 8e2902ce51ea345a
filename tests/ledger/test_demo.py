"""`relance demo --no-serve`: the demo company ABC Consulting, built with a smaller ledger."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from stdnum.fr import siren

from relance.accounts.models import Membership, Organisation
from relance.dunning.models import Dispute, Reminder, Task
from relance.ledger.models import Customer, Invoice, InvoiceStatus, Payment

pytestmark = pytest.mark.django_db

TODAY = date(2025, 6, 15)
SIZE = {"customers": 30, "invoices": 500}


def run_demo(**options) -> str:
    # --no-send: today's reminders are planned, not delivered (rendering is the channels' tests' business).
    out = io.StringIO()
    call_command("demo", "--no-serve", "--no-send", today=TODAY.isoformat(), verbosity=0, stdout=out,
                 **{**SIZE, **options})
    return out.getvalue()


def credentials() -> dict[str, str]:
    text = (Path(settings.DATA_DIR) / "demo_credentials.txt").read_text(encoding="utf-8")
    return dict(line.split(":", 1) for line in text.splitlines())


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker, tmp_path_factory):
    """One build for the module (a build takes seconds), with another organisation that must survive it;
    removed afterwards, since it is committed outside the tests' transactions."""
    from relance.ledger.management.commands.demo import delete_organisation

    User = get_user_model()
    # The credentials file goes to a data dir of the module's own, not to the developer's var/.
    data_dir = tmp_path_factory.mktemp("data")
    with django_db_blocker.unblock(), override_settings(DATA_DIR=data_dir):
        other = Organisation.objects.create(slug="xyz", legal_name="XYZ Industrie")
        charlie = User.objects.create_user("charlie", "charlie@xyz.example", "pw")
        Membership.objects.create(user=charlie, organisation=other, role="owner")
        Customer.objects.create(organisation=other, external_id="C000001", name="Client de XYZ")
        try:
            yield run_demo()
        finally:
            for slug in ("abc", "xyz"):
                delete_organisation(slug)
            User.objects.filter(username__in=["alice", "bob", "charlie"]).delete()


def test_it_builds_abc_consulting_through_relance_init(demo):
    org = Organisation.objects.get(slug="abc")
    assert org.legal_name == "ABC Consulting" and org.city == "Lyon" and org.postcode.startswith("69")
    assert siren.is_valid(org.siren) and org.iban.startswith("FR") and org.sender_email
    org.full_clean()  # SIREN, SIRET, VAT, IBAN and BIC pass the organisation's own validation
    assert org.scenarios.exists(), "init installs the default scenarios"


def test_alice_owns_it_and_may_open_the_admin_and_bob_collects(demo):
    users = {u.username: u for u in get_user_model().objects.filter(username__in=["alice", "bob"])}
    roles = dict(Membership.objects.filter(organisation__slug="abc").values_list("user__username", "role"))
    assert roles == {"alice": "owner", "bob": "collector"}
    assert users["alice"].is_staff and not users["bob"].is_staff
    passwords = credentials()
    assert users["alice"].check_password(passwords["alice"]) and users["bob"].check_password(passwords["bob"])


def test_it_prints_alices_login_and_no_address_it_does_not_serve(demo):
    password = credentials()["alice"]
    assert f"Relance demo: login: alice / {password}" in demo
    assert "http://" not in demo  # --no-serve: `relance serve` prints the address it listens on


def test_the_ledger_is_the_generated_one_loaded_by_the_importer(demo):
    org = Organisation.objects.get(slug="abc")
    assert Customer.objects.filter(organisation=org).count() == 30
    assert Invoice.objects.filter(organisation=org).count() == 500
    assert Payment.objects.filter(organisation=org).count() > 350
    statuses = set(Invoice.objects.filter(organisation=org).values_list("status", flat=True))
    assert {InvoiceStatus.PAID, InvoiceStatus.OPEN, InvoiceStatus.PARTLY_PAID} <= statuses
    assert Invoice.objects.filter(organisation=org, issue_date__gt=TODAY).count() == 0


def test_some_invoices_are_disputed(demo):
    open_disputes = Dispute.objects.filter(organisation__slug="abc", is_open=True).select_related("invoice")
    assert open_disputes.exists()
    assert all(d.invoice.status == InvoiceStatus.DISPUTED and d.reason for d in open_disputes)
    closed = Dispute.objects.filter(organisation__slug="abc", is_open=False)
    assert closed.exists() and all(d.resolution and d.closed_at >= d.opened_at for d in closed)


def test_one_customer_is_in_insolvency_with_several_unpaid_invoices(demo):
    insolvent = Customer.objects.get(organisation__slug="abc", in_insolvency=True)
    assert insolvent.invoices.filter(open_balance__gt=0).count() >= 3
    assert "mandataire" in insolvent.notes
    task = Task.objects.get(customer=insolvent, kind="declare_claim")
    assert task.assignee.username == "bob" and task.invoices.exists() and "BODACC" in task.script
    assert insolvent.status_label == "Procédure collective"


def test_the_insolvent_customer_is_sent_nothing_and_has_nothing_scheduled(demo):
    from relance.dunning.models import InvoiceSchedule

    insolvent = Customer.objects.get(organisation__slug="abc", in_insolvency=True)
    assert not Reminder.objects.filter(customer=insolvent).exists()
    assert not InvoiceSchedule.objects.filter(invoice__customer=insolvent, next_date__isnull=False).exists()


def test_bob_collects_for_some_customers_and_alice_for_the_key_accounts(demo):
    customers = Customer.objects.filter(organisation__slug="abc")
    assert 0 < customers.filter(collector__username="bob").count() < customers.count()
    assert all(c.collector.username == "alice" for c in customers.filter(strategic=True))


def test_it_runs_todays_dunning(demo):
    assert Reminder.objects.filter(organisation__slug="abc", run_date=TODAY).exists()
    assert "planned" in demo  # the run's own summary line


def test_the_invoices_reminded_today_have_their_pdf_and_no_other(demo):
    reminded = Invoice.objects.filter(reminder_lines__reminder__run_date=TODAY, organisation__slug="abc").distinct()
    assert reminded.exists()
    assert not reminded.filter(document="").exists()
    assert not Invoice.objects.exclude(pk__in=reminded.values("pk")).exclude(document="").exists()


def ledger_counts() -> tuple[int, ...]:
    org = Organisation.objects.get(slug="abc")
    return tuple(m.objects.filter(organisation=org).count() for m in (Customer, Invoice, Payment, Dispute, Reminder))


def test_running_it_again_rebuilds_the_same_demo_with_the_same_passwords(demo):
    before = credentials()
    counts = ledger_counts()
    second = run_demo()
    assert credentials() == before
    assert f"login: alice / {before['alice']}" in second
    assert ledger_counts() == counts
    assert Organisation.objects.filter(slug="abc").count() == 1
    assert get_user_model().objects.filter(username__in=["alice", "bob"]).count() == 2
    assert Membership.objects.filter(organisation__slug="abc").count() == 2
    assert get_user_model().objects.get(username="alice").check_password(before["alice"])


def test_it_leaves_the_other_organisations_alone(demo):
    charlie = get_user_model().objects.get(username="charlie")
    assert Customer.objects.filter(organisation__slug="xyz", external_id="C000001").exists()
    assert list(Membership.objects.filter(user=charlie).values_list("organisation__slug", flat=True)) == ["xyz"]


def test_it_refuses_a_bad_day():
    with pytest.raises(CommandError, match="--today"):
        call_command("demo", "--no-serve", today="15/06/2025", verbosity=0, stdout=io.StringIO())
