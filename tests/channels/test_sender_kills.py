"""SIGKILL the sender at random points, again and again, against a real slow SMTP server.

Whatever the moment of the kill, no message is received twice, every reminder ends sent or
`unknown`, at most one `unknown` per kill (the message being handed over when the process died),
and the ledger is untouched. Each process works on its own copy of the database (a file for
SQLite, a fresh database on the PostgreSQL server of the run), as a cron job would.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from email import message_from_bytes
from pathlib import Path

import pytest
from django.conf import settings

from tests.channels.email_support import Handler, start

ROOT = Path(__file__).resolve().parents[2]
KILLS = int(os.environ.get("RELANCE_KILL_TEST_KILLS", "50"))
RELANCE = [sys.executable, "-m", "relance.cli"]

SEED = """
import django, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relance.settings")
django.setup()
from datetime import date
from decimal import Decimal
from relance.accounts.models import Organisation
from relance.channels.models import OrganisationChannelSettings
from relance.ledger.models import Contact, Customer, Invoice
org = Organisation.objects.get(slug="abc")
org.email_url = sys.argv[1]
org.save()
OrganisationChannelSettings.objects.create(organisation=org, attach_statement="never")
for n in range(int(sys.argv[2])):
    c = Customer.objects.create(organisation=org, external_id=f"C{n:04d}", name=f"Client {n}")
    Contact.objects.create(customer=c, kind="email", value=f"c{n}@example.fr")
    Invoice.objects.create(organisation=org, customer=c, number=f"F{n:04d}", issue_date=date(2026, 5, 31),
                           due_date=date(2026, 6, 30), total=Decimal("1200.00"), open_balance=Decimal("1200.00"))
"""

DUMP = """
import django, json, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relance.settings")
django.setup()
from relance.dunning.models import Reminder
from relance.ledger.models import Allocation, Invoice, Payment
print(json.dumps({
    "reminders": [[r.pk, r.state, r.message_id] for r in Reminder.objects.order_by("pk")],
    "ledger": [[i.number, str(i.open_balance), i.status] for i in Invoice.objects.order_by("number")]
              + [Payment.objects.count(), Allocation.objects.count()],
}))
"""


class SlowHandler(Handler):
    """A provider that takes its time to accept each message: kills land inside the SMTP dialogue."""

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(0.08)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def smtp():
    server = start(SlowHandler())
    yield server
    server.controller.stop()


@pytest.fixture
def env(tmp_path):
    """The environment of the sender processes, with a database of their own."""
    base = {k: v for k, v in os.environ.items() if k not in {"RELANCE_TEST_DB_NAME", "DATABASE_URL"}}
    base.update(RELANCE_DATA_DIR=str(tmp_path), RELANCE_SEND_LEASE_SECONDS="0")
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        import psycopg

        db = settings.DATABASES["default"]
        name = f"relance_kills_{uuid.uuid4().hex[:10]}"
        dsn = f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} user={db['USER']} dbname=postgres"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        base["DATABASE_URL"] = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"
        yield base
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        base["DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"
        yield base


def _run(env, *args, **extra) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=ROOT, env={**env, **extra}, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def _seed(env, smtp, customers: int) -> dict:
    _run(env, *RELANCE, "init", "--org", "abc", "--name", "ABC Consulting")
    _run(env, sys.executable, "-c", SEED, smtp.url, str(customers))
    return json.loads(_run(env, sys.executable, "-c", DUMP).stdout)


def _kill_repeatedly(env, command: list[str], rng: random.Random) -> int:
    """Start `command`, SIGKILL it at a random moment, start it again: KILLS times (fewer if the work
    runs out first). Returns the number of kills."""
    kills = 0
    while kills < KILLS:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(0.5, 1.3))  # start-up takes ~0.7 s: most kills land in the sending loop
        if proc.poll() is not None:
            assert proc.returncode == 0, proc.stderr.read().decode()[-2000:]
            break  # it finished: nothing left to interrupt
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
        kills += 1
    return kills


def _check(env, smtp, before: dict, kills: int, expected: int) -> dict:
    after = json.loads(_run(env, sys.executable, "-c", DUMP).stdout)
    states = Counter(state for _, state, _ in after["reminders"])
    received = Counter(message_from_bytes(m.content)["Message-ID"] for m in smtp.messages)
    duplicates = {mid: n for mid, n in received.items() if n > 1}
    assert duplicates == {}, f"messages received twice: {duplicates}"
    assert len(after["reminders"]) == expected
    assert set(states) <= {"sent", "unknown"}, states
    assert states["unknown"] <= kills
    sent_ids = {mid for _, state, mid in after["reminders"] if state == "sent"}
    assert sent_ids <= set(received), "a reminder recorded as sent never reached the server"
    assert after["ledger"] == before["ledger"]
    print(f"\n{kills} kills, {len(smtp.messages)} messages received, states {dict(states)}")
    return dict(states)


def test_killing_the_sender_at_random_never_sends_twice_nor_strands_a_reminder(env, smtp):
    before = _seed(env, smtp, customers=400)
    _run(env, *RELANCE, "run", "--org", "abc", "--date", "2026-06-29", "--no-send")
    rng = random.Random(20261203)

    kills = _kill_repeatedly(env, [*RELANCE, "send", "--no-bounces"], rng)
    # The next start: what was handed over when a process died is swept to `unknown`, the rest is sent.
    _run(env, *RELANCE, "send", "--no-bounces", RELANCE_SEND_STUCK_MINUTES="0")

    assert kills >= min(KILLS, 50)
    _check(env, smtp, before, kills, expected=400)


def test_killing_the_daily_run_at_random_never_sends_twice_nor_strands_a_reminder(env, smtp):
    before = _seed(env, smtp, customers=500)
    rng = random.Random(20261204)

    kills = _kill_repeatedly(env, [*RELANCE, "run", "--org", "abc", "--date", "2026-06-29"], rng)
    _run(env, *RELANCE, "run", "--org", "abc", "--date", "2026-06-29", RELANCE_SEND_STUCK_MINUTES="0")
    _run(env, *RELANCE, "send", "--no-bounces", RELANCE_SEND_STUCK_MINUTES="0")

    assert kills >= min(KILLS, 50)
    _check(env, smtp, before, kills, expected=500)
