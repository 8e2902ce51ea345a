"""Reads of the escalation tasks of the Today inbox: each with its documents (those of its reminder)."""

from __future__ import annotations

from django.core.paginator import Page, Paginator

from relance.accounts.models import Organisation
from relance.dunning.models import Task, TaskKind

PAGE_SIZE = 20


def list_escalations(org: Organisation, page=1) -> Page:
    """Open escalation tasks, the oldest due first, with their reminder (its documents' records)."""
    tasks = (
        Task.objects.filter(organisation=org, kind=TaskKind.ESCALATION, state=Task.State.OPEN)
        .select_related("customer", "reminder", "assignee")
        .only("id", "title", "due_date", "script", "outcome_data", "customer__id", "customer__name",
              "customer__external_id", "reminder__id", "reminder__attachments", "assignee__username")
        .order_by("due_date", "id")
    )
    found = Paginator(tasks, PAGE_SIZE).get_page(page)
    for task in found.object_list:
        data = task.outcome_data if isinstance(task.outcome_data, dict) else {}
        task.escalation = data.get("escalation", "")
        task.documents = [(i, a.get("name", "")) for i, a in enumerate(task.reminder.attachments or [])
                          if isinstance(a, dict)] if task.reminder else []
    return found


def get_escalation_task(org: Organisation, pk: int) -> Task | None:
    return Task.objects.filter(organisation=org, pk=pk, kind=TaskKind.ESCALATION).first()
