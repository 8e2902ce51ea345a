"""The worker pool: Celery when CELERY_BROKER_URL is set (e.g. redis://127.0.0.1:6379/0),
in-process otherwise, so that a single-machine install needs no broker.

Sending is the only work handed to the pool: the daily run plans in one transaction, then its
callers (`relance run`, the scheduler, the demo through `relance run`) ask for delivery here; the
claim in `relance.channels.delivery` keeps several workers from sending the same reminder.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relance.settings")

app = Celery("relance")
app.config_from_object("django.conf:settings", namespace="CELERY")


# The imports of models and channels are inside the functions: `celery -A relance.worker worker`
# loads this module before Django is set up.


@app.task(name="relance.deliver_pending", acks_late=True)
def deliver_pending_task(organisation_id: int | None = None) -> dict:
    from relance.accounts.models import Organisation
    from relance.channels.delivery import deliver_pending

    org = Organisation.objects.get(pk=organisation_id) if organisation_id else None
    stats = deliver_pending(org)
    return stats.as_dict()


def uses_broker() -> bool:
    from django.conf import settings

    return bool(settings.CELERY_BROKER_URL)


def deliver(org) -> object:
    """Send what is due for `org`: queued to the pool when there is one, else right here."""
    if uses_broker():
        return deliver_pending_task.delay(org.pk if org is not None else None)
    from relance.channels.delivery import deliver_pending

    return deliver_pending(org)
