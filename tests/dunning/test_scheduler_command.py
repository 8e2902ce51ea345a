"""relance scheduler: each organisation's run at its hour, in its time zone; clean exit on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command

from relance.dunning.management.commands.scheduler import due_organisations
from relance.dunning.models import DunningRun

pytestmark = pytest.mark.django_db


def test_an_organisation_is_due_once_its_local_hour_has_come(scenarios, other_org):
    other_org.time_zone, other_org.run_hour = "America/New_York", 9
    other_org.save()
    # 08:30 in Paris, 02:30 in New York.
    now = datetime(2026, 7, 6, 6, 30, tzinfo=UTC)
    assert due_organisations(now, {}, timedelta(minutes=15)) == []
    now = datetime(2026, 7, 6, 7, 0, tzinfo=UTC)  # 09:00 in Paris
    assert [(o.slug, str(d)) for o, d in due_organisations(now, {}, timedelta(minutes=15))] == [("abc", "2026-07-06")]
    now = datetime(2026, 7, 6, 13, 0, tzinfo=UTC)  # 09:00 in New York
    assert [o.slug for o, _ in due_organisations(now, {}, timedelta(minutes=15))] == ["abc", "xyz"]


def test_a_done_run_is_not_due_again_and_a_failed_one_waits_before_retrying(scenarios):
    now = datetime(2026, 7, 6, 8, 0, tzinfo=UTC)
    failed = {(scenarios.pk, "2026-07-06"): now - timedelta(minutes=5)}
    assert due_organisations(now, failed, timedelta(minutes=15)) == []
    assert len(due_organisations(now + timedelta(minutes=11), failed, timedelta(minutes=15))) == 1
    DunningRun.objects.create(organisation=scenarios, run_date="2026-07-06", state="done")
    assert due_organisations(now + timedelta(minutes=11), {}, timedelta(minutes=15)) == []


@time_machine.travel("2026-07-06 09:30 +02:00", tick=False)
def test_once_runs_what_is_due_and_exits(scenarios, customer, make_invoice):
    make_invoice(number="F1")
    out = StringIO()
    call_command("scheduler", "--once", stdout=out)
    assert "abc 2026-07-06: 1 message(s)" in out.getvalue()
    assert DunningRun.objects.get().state == "done"


@pytest.mark.django_db(transaction=True)
def test_sigterm_stops_the_scheduler_cleanly(tmp_path):
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "RELANCE_DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    env.pop("RELANCE_TEST_DB_NAME", None)
    subprocess.run([sys.executable, "-m", "relance.cli", "migrate"], cwd=root, env=env, check=True,
                   capture_output=True)
    proc = subprocess.Popen([sys.executable, "-m", "relance.cli", "scheduler", "--interval", "0.2"], cwd=root,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Wait for its first line (its signal handlers are in place), however slow the machine, then let it loop.
    assert "scheduler started" in proc.stdout.readline()
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "scheduler stopped" in out
