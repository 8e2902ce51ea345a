"""The `relance` console command, run as a user runs it: a real subprocess."""

from __future__ import annotations

import os
import re
import select
import socket
import sqlite3
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from relance.cli import VERBS

ROOT = Path(__file__).resolve().parents[1]

RELANCE = str(Path(sys.executable).with_name("relance"))


def run(*args: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "RELANCE_DATA_DIR": str(data_dir)}
    env.pop("DATABASE_URL", None)  # a throw-away SQLite file in data_dir
    return subprocess.run([RELANCE, *args], capture_output=True, text=True, env=env, timeout=120)


def test_it_lists_the_verbs_with_help(tmp_path):
    result = run("--help", data_dir=tmp_path)
    assert result.returncode == 0
    for verb in VERBS:
        assert verb in result.stdout


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_every_verb_has_help(verb, tmp_path):
    result = run(verb, "--help", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"relance {verb}" in result.stdout


def test_an_unknown_verb_is_a_usage_error(tmp_path):
    result = run("frobnicate", data_dir=tmp_path)
    assert result.returncode == 2
    assert "unknown verb 'frobnicate'" in result.stderr


def test_bad_arguments_give_one_line_and_no_traceback(tmp_path):
    result = run("init", "--org", "abc", "--name", "ABC", "--siren", "123", data_dir=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert "SIREN" in result.stderr


def test_missing_arguments_are_a_usage_error(tmp_path):
    result = run("init", data_dir=tmp_path)
    assert result.returncode == 2
    assert "--org" in result.stderr


def test_init_creates_the_schema_the_organisation_and_is_idempotent(tmp_path):
    first = run("init", "--org", "abc", "--name", "ABC Consulting", "--siren", "732829320",
                "--iban", "FR14 2004 1010 0505 0001 3M02 606", data_dir=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "created organisation abc" in first.stdout
    assert (tmp_path / "relance.sqlite3").exists()
    again = run("init", "--org", "abc", "--name", "ABC Consulting", data_dir=tmp_path)
    assert again.returncode == 0
    assert "updated organisation abc" in again.stdout
    users = run("user", "add", "alice", "--org", "abc", "--role", "owner", "--password", "correct-horse-battery",
                data_dir=tmp_path)
    assert users.returncode == 0, users.stderr
    listing = run("user", "list", "--org", "abc", data_dir=tmp_path)
    assert "alice\towner" in listing.stdout


def test_the_secret_key_is_generated_once_and_kept(tmp_path):
    run("init", "--org", "abc", "--name", "ABC", data_dir=tmp_path)
    key = (tmp_path / "secret_key").read_text()
    assert len(key) >= 50
    assert oct((tmp_path / "secret_key").stat().st_mode & 0o777) == "0o600"
    run("user", "list", "--org", "abc", data_dir=tmp_path)
    assert (tmp_path / "secret_key").read_text() == key


def test_sqlite_runs_in_wal_mode(tmp_path):
    run("init", "--org", "abc", "--name", "ABC", data_dir=tmp_path)
    con = sqlite3.connect(tmp_path / "relance.sqlite3")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()


def test_a_bad_database_url_is_a_one_line_configuration_error(tmp_path):
    env = {**os.environ, "RELANCE_DATA_DIR": str(tmp_path), "DATABASE_URL": "nosuchdb://x"}
    result = subprocess.run([RELANCE, "user", "list", "--org", "abc"], capture_output=True, text=True, env=env)
    assert result.returncode == 2
    assert "DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


def run_elsewhere(*args: str, cwd: Path, **env_vars: str) -> subprocess.CompletedProcess:
    """`python -m relance.cli ...` from `cwd`, with no data dir nor database configured unless given."""
    env = {k: v for k, v in os.environ.items() if k not in {"RELANCE_DATA_DIR", "DATABASE_URL", "RELANCE_LANGUAGE"}}
    env.update(env_vars)
    return subprocess.run([sys.executable, "-m", "relance.cli", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=120)


def test_run_from_another_directory_says_where_it_looked_and_creates_no_database(tmp_path):
    result = run_elsewhere("run", "--org", "abc", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert str(tmp_path / "var" / "relance.sqlite3") in result.stderr
    assert "relance migrate" in result.stderr and "RELANCE_DATA_DIR" in result.stderr
    assert list(tmp_path.rglob("*.sqlite3*")) == []


def test_it_says_it_in_english_when_asked(tmp_path):
    result = run_elsewhere("promise", "list", "--org", "abc", cwd=tmp_path, RELANCE_LANGUAGE="en")
    assert result.returncode == 2
    assert result.stderr.startswith("relance: no Relance database at ")


def test_an_empty_sqlite_file_is_reported_as_a_missing_schema(tmp_path):
    sqlite3.connect(tmp_path / "relance.sqlite3").close()
    result = run("user", "list", "--org", "abc", data_dir=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == result.stderr.strip().splitlines()[0]
    assert str(tmp_path / "relance.sqlite3") in result.stderr and "relance migrate" in result.stderr


def test_an_unreachable_database_is_one_line_without_its_password(tmp_path):
    url = "postgres://relance:hunter2@127.0.0.1:1/relance"  # port 1: nothing listens there
    result = run_elsewhere("run", "--org", "abc", cwd=tmp_path, RELANCE_DATA_DIR=str(tmp_path),
                           DATABASE_URL=url)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "postgres://relance:•••@127.0.0.1:1/relance" in result.stderr and "hunter2" not in result.stderr


def test_an_unknown_org_is_one_line_listing_the_known_ones(tmp_path):
    for slug in ("abc", "xyz"):
        assert run("init", "--org", slug, "--name", slug.upper(), data_dir=tmp_path).returncode == 0
    result = run("run", "--org", "nope", data_dir=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "'nope'" in result.stderr and "abc, xyz" in result.stderr


def test_usage_errors_come_before_the_database_check(tmp_path):
    result = run_elsewhere("run", cwd=tmp_path)
    assert result.returncode == 2
    assert "--org" in result.stderr and "relance migrate" not in result.stderr


def test_approve_without_an_approver_is_a_usage_error(tmp_path):
    run("init", "--org", "abc", "--name", "ABC", data_dir=tmp_path)
    result = run("approve", "--org", "abc", "--all", data_dir=tmp_path)
    assert result.returncode == 2
    assert "--user" in result.stderr and "Traceback" not in result.stderr


def test_a_promise_for_a_past_date_exits_1_with_the_reason(tmp_path):
    run("init", "--org", "abc", "--name", "ABC", data_dir=tmp_path)
    invoices = tmp_path / "factures.csv"
    invoices.write_text("Numéro de facture;Client;Nom client;Date de facture;Date d'échéance;Montant TTC\n"
                        "F1;C1;Dupont SARL;01/02/2026;03/03/2026;120,00\n", encoding="utf-8")
    assert run("import", "invoices", str(invoices), "--org", "abc", data_dir=tmp_path).returncode == 0
    result = run("promise", "add", "--org", "abc", "--invoice", "F1", "--date", "2020-01-01", data_dir=tmp_path)
    assert result.returncode == 1
    assert "2020-01-01 déjà passée" in result.stderr and result.stderr.count("\n") == 1


def first_line(proc: subprocess.Popen, timeout: float = 90) -> str:
    """The first line the process prints, waiting at most `timeout` seconds (no sleep: select)."""
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    return proc.stdout.readline() if ready else ""


def test_serve_prints_the_address_it_listens_on_once_it_listens(tmp_path):
    env = {**os.environ, "RELANCE_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    proc = subprocess.Popen([RELANCE, "serve", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        line = first_line(proc)
        match = re.match(r"Relance: (http://127\.0\.0\.1:(\d+)/) ", line)
        assert match and match.group(2) != "0", line
        with urllib.request.urlopen(match.group(1) + "login/", timeout=30) as page:  # noqa: S310 (our server)
            assert page.status == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def busy_port():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


def test_serve_on_a_busy_port_is_one_line_suggesting_a_free_one(tmp_path, busy_port):
    result = run("serve", "--port", str(busy_port), data_dir=tmp_path)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert f"port {busy_port} busy on 127.0.0.1: relance serve --port " in result.stderr


def test_the_demo_checks_the_port_before_building_anything(tmp_path, busy_port):
    result = run("demo", "--port", str(busy_port), data_dir=tmp_path)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert f"port {busy_port} busy on 127.0.0.1: make demo PORT=" in result.stderr
    assert not (tmp_path / "relance.sqlite3").exists()  # the demo's first step creates the database


def test_a_viewer_approving_gets_one_line_and_exit_1(tmp_path):
    env = {**os.environ, "RELANCE_DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    env.pop("RELANCE_TEST_DB_NAME", None)
    relance = [sys.executable, "-m", "relance.cli"]
    subprocess.run([*relance, "init", "--org", "abc", "--name", "ABC"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    subprocess.run([*relance, "user", "add", "victor", "--org", "abc", "--role", "viewer",
                    "--password=Tr3s-l0ng-mot-de-passe"], cwd=ROOT, env=env, check=True, capture_output=True)
    result = subprocess.run([*relance, "approve", "--org", "abc", "--all", "--user", "victor"], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 1, result.stderr
    assert result.stderr.count("\n") == 1 and "victor (lecture seule)" in result.stderr
