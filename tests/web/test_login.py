"""Login hardening: lock-out after repeated failures, a Content-Security-Policy, `check --deploy` clean."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
WEB_TEMPLATES = ROOT / "relance" / "web" / "templates"


@pytest.mark.parametrize("login_url", ["/login/", "/admin/login/"])
def test_five_bad_passwords_lock_out_the_sixth_good_one(client, root, login_url):
    answers = [client.post(login_url, {"username": "root", "password": "not-the-password"}).status_code
               for _ in range(5)]
    assert answers == [200, 200, 200, 200, 429]  # the form again with its error, then the lock-out
    locked = client.post(login_url, {"username": "root", "password": "root-pw"})
    assert locked.status_code == 429
    assert "Connexion bloquée" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_four_bad_passwords_do_not_lock_and_a_good_login_resets_the_count(client, alice):
    for _ in range(4):
        client.post("/login/", {"username": "alice", "password": "nope"})
    assert client.post("/login/", {"username": "alice", "password": "alice-pw"}).status_code == 302
    client.logout()
    for _ in range(4):
        client.post("/login/", {"username": "alice", "password": "nope"})
    assert client.post("/login/", {"username": "alice", "password": "alice-pw"}).status_code == 302


def test_the_lock_out_lasts_fifteen_minutes_by_default():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 15 * 60


@pytest.mark.parametrize("path", ["/login/", "/", "/o/abc/", "/admin/login/"])
def test_every_page_carries_a_content_security_policy_without_inline_code(client, alice, path):
    client.force_login(alice)
    response = client.get(path)
    assert response.status_code in (200, 302)
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_the_web_app_templates_hold_no_inline_script_or_style():
    for template in WEB_TEMPLATES.rglob("*.html"):
        text = template.read_text()
        assert "<style" not in text and " style=" not in text, template
        assert "<script>" not in text, template  # scripts come from static/ (<script src=...>)


def test_the_style_sheet_is_served_from_static(client, alice):
    client.force_login(alice)
    assert '<link rel="stylesheet" href="/static/web/relance.css">' in client.get("/o/abc/").content.decode()


def _check_deploy(tmp_path, **env) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "RELANCE_TEST_DB_NAME"}}
    environment.update(RELANCE_DATA_DIR=str(tmp_path), PYTHONPATH=str(ROOT), **env)
    return subprocess.run([sys.executable, str(ROOT / "manage.py"), "check", "--deploy", "--fail-level", "WARNING"],
                          capture_output=True, text=True, env=environment, cwd=tmp_path, timeout=120)


def test_check_deploy_is_clean_with_the_production_environment(tmp_path):
    result = _check_deploy(
        tmp_path, RELANCE_BASE_URL="https://relance.abc-consulting.fr", ALLOWED_HOSTS="relance.abc-consulting.fr",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="true", SECURE_HSTS_PRELOAD="true",
        SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO=https",
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_names_what_a_plain_http_setup_lacks(tmp_path):
    result = _check_deploy(tmp_path, RELANCE_BASE_URL="http://127.0.0.1:8000")
    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr


def test_a_malformed_proxy_header_setting_is_refused_clearly(tmp_path):
    result = _check_deploy(tmp_path, SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto")
    assert result.returncode != 0
    assert "SECURE_PROXY_SSL_HEADER='X-Forwarded-Proto': expected KEY=VALUE" in result.stderr
