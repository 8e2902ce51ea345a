"""Two runs started at once for the same organisation and date never create duplicates."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import date
from pathlib import Path

import pytest
from django.db import connection

from relance.dunning.actions import plan_today
from relance.dunning.models import DunningRun, Reminder, ReminderLine

ROOT = Path(__file__).resolve().parents[2]

SEED = """
import django, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relance.settings")
django.setup()
from datetime import date
from decimal import Decimal
from relance.accounts.models import Organisation
from relance.ledger.models import Contact, Customer, Invoice
org = Organisation.objects.get(slug="abc")
for n in range(50):
    c = Customer.objects.create(organisation=org, external_id=f"C{n:03d}", name=f"Client {n}")
    Contact.objects.create(customer=c, kind="email", value=f"c{n}@example.fr")
    for k in range(3):
        Invoice.objects.create(organisation=org, customer=c, number=f"F{n:03d}-{k}", issue_date=date(2026, 5, 31),
                               due_date=date(2026, 6, 30), total=Decimal("100.00") * (k + 2),
                               open_balance=Decimal("100.00") * (k + 2))
"""


def test_two_processes_running_at_once_on_sqlite_plan_each_message_once(tmp_path):
    env = {**os.environ, "RELANCE_DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    env.pop("RELANCE_TEST_DB_NAME", None)
    relance = [sys.executable, "-m", "relance.cli"]
    subprocess.run([*relance, "init", "--org", "abc", "--name", "ABC"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    subprocess.run([sys.executable, "-c", SEED], cwd=ROOT, env=env, check=True, capture_output=True)
    command = [*relance, "run", "--org", "abc", "--date", "2026-06-29", "--no-send", "--json"]
    procs = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in outputs]
    sizes = sorted(len(json.loads(out)) for out, _ in outputs)
    assert sizes == [0, 50]  # one run planned everything, the other found nothing new


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="threads sharing a test database: PostgreSQL only")
def test_two_threads_running_at_once_on_postgresql_plan_each_message_once(scenarios, make_customer, make_invoice):
    for n in range(30):
        cust = make_customer(f"K{n:03d}")
        for k in range(2):
            make_invoice(number=f"F{n:03d}-{k}", cust=cust)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def go():
        try:
            barrier.wait()
            results.append(plan_today(scenarios, date(2026, 6, 29)))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=go) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sorted(r.reminders for r in results) == [0, 30]
    assert Reminder.objects.count() == 30 and ReminderLine.objects.count() == 60
    assert DunningRun.objects.get().passes == 2
