"""Sending through the Celery pool, with a real Redis broker and a real worker (thread)."""

from __future__ import annotations

import time

import pytest
import redis
from celery.contrib.testing.worker import start_worker

from relance import worker
from tests.channels.email_support import make_reminder

BROKER = "redis://127.0.0.1:6379/15"


def redis_answers() -> bool:
    try:
        return redis.Redis.from_url(BROKER, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False


def test_without_a_broker_it_sends_in_process(org, customer, make_invoice, tmp_path, settings):
    settings.CELERY_BROKER_URL = ""
    org.email_url = f"file://{tmp_path}"
    org.save()
    reminder = make_reminder(org, customer, [make_invoice()])
    stats = worker.deliver(org)
    assert stats.sent == 1
    reminder.refresh_from_db()
    assert reminder.state == "sent"
    assert len(list(tmp_path.glob("*.eml"))) == 1


@pytest.mark.skipif(not redis_answers(), reason="no Redis at 127.0.0.1:6379")
@pytest.mark.django_db(transaction=True)
def test_with_a_broker_a_worker_of_the_pool_sends_it(org, customer, make_invoice, tmp_path, settings):
    settings.CELERY_BROKER_URL = BROKER
    redis.Redis.from_url(BROKER).flushdb()
    worker.app.conf.update(broker_url=BROKER, task_always_eager=False, result_backend=None)
    org.email_url = f"file://{tmp_path}"
    org.save()
    reminder = make_reminder(org, customer, [make_invoice()])
    with start_worker(worker.app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        result = worker.deliver(org)
        assert result.id  # queued, not run here
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            reminder.refresh_from_db()
            if reminder.state == "sent":
                break
            time.sleep(0.1)  # waiting for another process's work, not for time to pass
    assert reminder.state == "sent"
    assert len(list(tmp_path.glob("*.eml"))) == 1
