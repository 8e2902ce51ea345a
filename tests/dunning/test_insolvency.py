"""Insolvency proceedings (procédure collective): no reminder for the claims born before the opening
judgment, a task to declare them to the mandataire judiciaire, and the customer's status says so."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

from relance.dunning.actions import DunningError, add_payment_plan, close_insolvency, open_insolvency, plan_today
from relance.dunning.models import Reminder, Task

TODAY = date(2026, 7, 6)
JUDGMENT = date(2026, 6, 20)

pytestmark = pytest.mark.usefixtures("frozen")


@pytest.fixture
def frozen():
    with time_machine.travel("2026-07-06 09:00 +0200", tick=False):
        yield


@pytest.fixture
def insolvent(scenarios, make_customer, make_invoice):
    cust = make_customer("C200", name="Maçonnerie Royer")
    before = [make_invoice(number="F-OLD1", cust=cust, issue=date(2026, 5, 2), due=date(2026, 6, 1)),
              make_invoice(number="F-OLD2", cust=cust, total="300.00", issue=date(2026, 5, 20),
                           due=date(2026, 6, 19))]
    after = make_invoice(number="F-NEW", cust=cust, total="480.00", issue=JUDGMENT, due=date(2026, 6, 30))
    return cust, before, after


def test_opening_creates_one_task_to_declare_the_earlier_claims_two_months_after_the_judgment(insolvent):
    cust, before, _ = insolvent
    task = open_insolvency(cust, JUDGMENT, "redressement")
    assert (task.kind, task.title, task.due_date) == (
        "declare_claim", "Déclarer la créance au mandataire judiciaire", date(2026, 8, 20))
    assert sorted(task.invoices.values_list("number", flat=True)) == ["F-OLD1", "F-OLD2"]
    assert "BODACC" in task.script and "redressement judiciaire" in task.script
    assert "1\u202f500,00\xa0€" in task.script  # 1,200 + 300: what to declare
    cust.refresh_from_db()
    assert (cust.in_insolvency, cust.insolvency_date, cust.insolvency_kind) == (True, JUDGMENT, "redressement")
    assert cust.status_label == "Procédure collective"


def test_recording_the_same_proceedings_twice_keeps_one_task(insolvent):
    cust, _, _ = insolvent
    first = open_insolvency(cust, JUDGMENT)
    assert open_insolvency(cust, JUDGMENT) == first
    assert Task.objects.filter(customer=cust, kind="declare_claim").count() == 1


def test_the_run_never_reminds_an_invoice_issued_before_the_judgment(insolvent):
    cust, _, after = insolvent
    open_insolvency(cust, JUDGMENT, "sauvegarde")
    plan_today(cust.organisation, TODAY)
    lines = list(Reminder.objects.filter(customer=cust).values_list("lines__invoice__number", flat=True))
    assert lines == ["F-NEW"]  # the later claim is reminded as any other: it is paid at maturity


def test_no_reminder_of_any_kind_goes_to_the_insolvent_customer_for_earlier_claims(insolvent):
    cust, before, _ = insolvent
    open_insolvency(cust, date(2026, 7, 1), "liquidation")  # every invoice is an earlier claim
    for day in (TODAY, date(2026, 7, 20), date(2026, 8, 10), date(2026, 9, 15)):
        plan_today(cust.organisation, day)
    assert not Reminder.objects.filter(customer=cust).exists()
    assert not Task.objects.filter(customer=cust).exclude(kind="declare_claim").exists()


def test_instalments_of_a_plan_are_not_reminded_either(insolvent):
    cust, before, _ = insolvent
    add_payment_plan(cust, before, [(date(2026, 7, 8), before[0].total), (date(2026, 8, 8), before[1].total)])
    open_insolvency(cust, JUDGMENT)
    plan_today(cust.organisation, date(2026, 7, 14))
    assert not Reminder.objects.filter(customer=cust, scenario_code="payment_plan").exists()


def test_a_judgment_in_the_future_or_an_unknown_kind_is_refused(insolvent):
    cust, _, _ = insolvent
    with pytest.raises(DunningError, match="dans le futur"):
        open_insolvency(cust, date(2026, 7, 7))
    with pytest.raises(DunningError, match="type de procédure"):
        open_insolvency(cust, JUDGMENT, "faillite")


def test_closing_the_proceedings_lets_the_scenario_resume(insolvent):
    cust, _, _ = insolvent
    open_insolvency(cust, JUDGMENT)
    close_insolvency(cust)
    cust.refresh_from_db()
    assert (cust.in_insolvency, cust.insolvency_date, cust.status_label) == (False, None, "")
    plan_today(cust.organisation, TODAY)
    assert Reminder.objects.filter(customer=cust, lines__invoice__number="F-OLD1").exists()
    with pytest.raises(DunningError, match="aucune procédure"):
        close_insolvency(cust)


def test_a_customer_flagged_insolvent_without_a_judgment_date_is_never_reminded(insolvent):
    cust, _, _ = insolvent
    cust.in_insolvency = True
    cust.save()
    plan_today(cust.organisation, TODAY)
    assert not Reminder.objects.filter(customer=cust).exists()


def test_the_command_opens_and_closes_proceedings(insolvent, capsys):
    cust, _, _ = insolvent
    call_command("insolvency", "open", "--org", "abc", "--customer", "C200", "--date", "2026-06-20",
                 "--kind", "redressement")
    out = capsys.readouterr().out
    assert "2026-08-20" in out and "BODACC" in out and "2 invoice(s)" in out
    call_command("insolvency", "close", "--org", "abc", "--customer", "C200")
    cust.refresh_from_db()
    assert not cust.in_insolvency
    with pytest.raises(CommandError, match="--date is required"):
        call_command("insolvency", "open", "--org", "abc", "--customer", "C200")


def test_imported_proceedings_get_their_task_and_the_invoices_imported_next_fill_it(scenarios, tmp_path):
    from relance.ledger.importers import import_file
    from relance.ledger.models import Customer
    from tests.ledger.data import write_csv

    customers = write_csv(tmp_path, "clients.csv", "Code client;Raison sociale;E-mail;Procédure collective;"
                          "Date du jugement;Type de procédure\nC9;Royer SARL;compta@royer.fr;oui;20/06/2026;"
                          "liquidation\n")
    assert import_file(scenarios, "customers", customers).ok
    task = Task.objects.get(customer__external_id="C9", kind="declare_claim")
    assert task.due_date == date(2026, 8, 20) and not task.invoices.exists()
    invoices = write_csv(tmp_path, "factures.csv", "Numéro de facture;Client;Date de facture;Date d'échéance;"
                         "Montant TTC\nF-A;C9;02/05/2026;01/06/2026;1200,00\nF-B;C9;25/06/2026;25/07/2026;300,00\n")
    assert import_file(scenarios, "invoices", invoices).ok
    task.refresh_from_db()
    assert list(task.invoices.values_list("number", flat=True)) == ["F-A"]  # F-B is a later claim
    # The same files again: one task still, and only the later claim is ever reminded.
    import_file(scenarios, "customers", customers)
    assert Task.objects.filter(customer__external_id="C9", kind="declare_claim").count() == 1
    plan_today(scenarios, date(2026, 7, 30))
    reminded = set(Reminder.objects.filter(customer=Customer.objects.get(external_id="C9"))
                   .values_list("lines__invoice__number", flat=True))
    assert reminded == {"F-B"}


def test_a_file_cannot_end_proceedings_behind_the_engine(scenarios, tmp_path):
    from relance.ledger.importers import import_file
    from tests.ledger.data import write_csv

    header = "Code client;Raison sociale;Procédure collective;Date du jugement\n"
    assert import_file(scenarios, "customers", write_csv(tmp_path, "a.csv", header + "C9;Royer;oui;20/06/2026\n")).ok
    refused = import_file(scenarios, "customers", write_csv(tmp_path, "b.csv", header + "C9;Royer;non;\n"))
    assert [(p.line, p.field) for p in refused.errors] == [(2, "Procédure collective")]
    assert "relance insolvency close" in refused.errors[0].message


def test_a_later_claims_reminder_never_lists_the_earlier_claims_as_owed(insolvent, tmp_path):
    from relance.channels.delivery import deliver_pending
    from relance.dunning.models import ReminderLine

    cust, before, after = insolvent
    cust.organisation.email_url = f"file://{tmp_path}"
    cust.organisation.save()
    open_insolvency(cust, JUDGMENT)
    # As a large run plans it: the customer's other overdue invoices computed by the database.
    reminder = Reminder.objects.create(organisation=cust.organisation, customer=cust, channel="email",
                                       run_date=TODAY, scenario_code="standard", step_code="first",
                                       template="first_reminder", other_invoice_ids=[inv.pk for inv in before])
    ReminderLine.objects.create(reminder=reminder, invoice=after, step_code="first", balance=after.open_balance)
    assert deliver_pending(cust.organisation).sent == 1
    reminder.refresh_from_db()
    assert "F-NEW" in reminder.body_text and "F-OLD" not in reminder.body_text
    assert reminder.other_invoice_ids == []
