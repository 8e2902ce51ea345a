"""The `relance` console command, run as a user runs it: a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from relance.cli import VERBS

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
    import sqlite3

    con = sqlite3.connect(tmp_path / "relance.sqlite3")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()


def test_a_bad_database_url_is_a_one_line_configuration_error(tmp_path):
    env = {**os.environ, "RELANCE_DATA_DIR": str(tmp_path), "DATABASE_URL": "nosuchdb://x"}
    result = subprocess.run([RELANCE, "user", "list", "--org", "abc"], capture_output=True, text=True, env=env)
    assert result.returncode == 2
    assert "DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr
