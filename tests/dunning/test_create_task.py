"""create_task(): work for a person, by default the customer's collector."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine

from relance.dunning.actions import DunningError, create_task

pytestmark = pytest.mark.django_db


@time_machine.travel("2026-07-06 10:00 +02:00", tick=False)
def test_a_task_goes_to_the_customers_collector_today_by_default(scenarios, customer, make_invoice, bob):
    customer.collector = bob
    customer.save()
    inv = make_invoice(number="F1")
    task = create_task(customer, "check_payment", "Vérifier le virement annoncé", invoices=[inv])
    assert (task.assignee, task.due_date, task.state) == (bob, date(2026, 7, 6), "open")
    assert list(task.invoices.all()) == [inv]


def test_an_unknown_kind_is_refused(scenarios, customer):
    with pytest.raises(DunningError, match="type de tâche inconnu 'lunch'"):
        create_task(customer, "lunch", "?")
