"""Django settings, all from the environment (every variable is listed in .env.example)."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from relance.lib.secrets import redact

BASE_DIR = Path(__file__).resolve().parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r}: expected true/false")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r}: expected a whole number")


def env_pair(name: str, default: str = "") -> tuple[str, str] | None:
    """NAME=KEY=VALUE as a (KEY, VALUE) pair, e.g. SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO=https."""
    raw = os.environ.get(name, default).strip()
    if not raw:
        return None
    key, sep, value = raw.partition("=")
    if not sep or not key.strip() or not value.strip():
        raise ImproperlyConfigured(f"{name}={raw!r}: expected KEY=VALUE, e.g. HTTP_X_FORWARDED_PROTO=https")
    return key.strip(), value.strip()


def env_secret(name: str) -> str:
    """A secret from NAME, or from the file named by NAME_FILE (Docker/systemd credentials)."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text().strip()
    return os.environ.get(name, "")


DATA_DIR = Path(env_str("RELANCE_DATA_DIR", "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    # Never a constant: generated once per data dir and kept there (mode 600).
    key = env_secret("SECRET_KEY")
    if key:
        return key
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("RELANCE_DEBUG", False)
ALLOWED_HOSTS = [h for h in env_str("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in env_str("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

TIME_ZONE = env_str("RELANCE_TIME_ZONE", "Europe/Paris")
try:
    ZoneInfo(TIME_ZONE)
except ZoneInfoNotFoundError:
    raise ImproperlyConfigured(f"RELANCE_TIME_ZONE={TIME_ZONE!r}: unknown time zone")
LANGUAGE_CODE = env_str("RELANCE_LANGUAGE", "fr")
if LANGUAGE_CODE not in {"fr", "en"}:
    raise ImproperlyConfigured(f"RELANCE_LANGUAGE={LANGUAGE_CODE!r}: expected fr or en")
LANGUAGES = [("fr", "Français"), ("en", "English")]
# The language chosen on the account page (Django's set_language) is kept a year in its cookie.
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]

INSTALLED_APPS = [
    # The admin site of the instance's operators (superusers only): relance.web.admin_site.
    "relance.web.admin_site.RelanceAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "relance.accounts",
    "relance.ledger",
    "relance.dunning",
    "relance.channels",
    "relance.web",
    "relance.portal",
    "relance.audit",
    "relance.law",
    "axes",
    "relance.reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "relance.web.middleware.LanguageByChoiceMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

# Login: lock-out after repeated failures (web app and admin alike: both go through authenticate()).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
# A pair: guessing from one address locks that address for that name, not the person everywhere.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "web/locked_out.html"
# Behind a reverse proxy, the client address is the first of X-Forwarded-For (set AXES_IPWARE_PROXY_COUNT).
AXES_IPWARE_PROXY_COUNT = env_int("AXES_IPWARE_PROXY_COUNT", 0) or None
AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if AXES_IPWARE_PROXY_COUNT else [
    "REMOTE_ADDR"
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": env_int("PASSWORD_MIN_LENGTH", 8)}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Argon2 first (argon2-cffi); older hashes still verify and are upgraded at the next login.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

ROOT_URLCONF = "relance.urls"
WSGI_APPLICATION = "relance.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "relance.web.orgs.organisation_context",
            ]
        },
    }
]

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'relance.sqlite3'}")
try:
    _db = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 0))
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL: {redact(str(exc), [DATABASE_URL])}")
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web app read while the daily run writes; IMMEDIATE avoids lock upgrades.
    _db["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
        "transaction_mode": "IMMEDIATE",
    }
# Lets several test runs share one PostgreSQL server (each its own test database).
if env_str("RELANCE_TEST_DB_NAME"):
    _db["TEST"] = {"NAME": env_str("RELANCE_TEST_DB_NAME")}
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# HTTPS: each setting on by default when RELANCE_BASE_URL is https://, each overridable.
HTTPS = env_str("RELANCE_BASE_URL", "http://127.0.0.1:8000").startswith("https://")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", HTTPS)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", HTTPS)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", HTTPS)
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Behind a TLS-terminating proxy: which header says the request came over HTTPS. Only set it when
# the proxy always overwrites that header, or anyone could claim HTTPS.
SECURE_PROXY_SSL_HEADER = env_pair("SECURE_PROXY_SSL_HEADER")
SESSION_COOKIE_HTTPONLY = True

# Content-Security-Policy: our own files only; no inline script or style (htmx and the chart library
# are served from static/).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/media/"
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"  # not the admin's "logged out" page

# Outbound transports (see relance/channels): URLs, overridable per organisation.
EMAIL_URL = env_str("EMAIL_URL", f"file://{DATA_DIR / 'outbox' / 'email'}")
SMS_URL = env_str("SMS_URL", f"file://{DATA_DIR / 'outbox' / 'sms'}")
LETTER_URL = env_str("LETTER_URL", f"file://{DATA_DIR / 'outbox' / 'letters'}")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "relance@localhost")
# Django's own mail (the password reset e-mail) leaves through EMAIL_URL too.
EMAIL_BACKEND = "relance.web.pages.account.InstanceMailBackend"
BOUNCE_IMAP_URL = env_str("BOUNCE_IMAP_URL", "")
SMS_MAX_SEGMENTS = env_int("SMS_MAX_SEGMENTS", 3)
# Delivery: attempts before a transient failure becomes final; minutes before a reminder
# stuck in "sending" (crash after the provider accepted it?) is marked "unknown".
RELANCE_SEND_MAX_ATTEMPTS = env_int("RELANCE_SEND_MAX_ATTEMPTS", 5)
RELANCE_SEND_STUCK_MINUTES = env_int("RELANCE_SEND_STUCK_MINUTES", 15)
# A claimed reminder not handed to the provider within this many seconds goes back to the queue.
RELANCE_SEND_LEASE_SECONDS = env_int("RELANCE_SEND_LEASE_SECONDS", 120)
# Daily run on PostgreSQL: from this many invoice steps, half of the customers are written over a
# second connection at the same time (0: never).
RELANCE_RUN_SPLIT_FROM = env_int("RELANCE_RUN_SPLIT_FROM", 5000)
# Ledger imports: the largest file accepted, in bytes, and the most cells read from an XLSX sheet.
RELANCE_IMPORT_MAX_BYTES = env_int("RELANCE_IMPORT_MAX_BYTES", 200 * 1024 * 1024)
RELANCE_IMPORT_MAX_CELLS = env_int("RELANCE_IMPORT_MAX_CELLS", 20_000_000)

# Worker pool: Celery when a broker is configured, in-process otherwise.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL

BASE_URL = env_str("RELANCE_BASE_URL", "http://127.0.0.1:8000")

# Customer portal (/p/<token>/, relance.portal): how long a link sent in a reminder stays valid, how
# many answers a customer may send per hour, the largest proof of payment accepted (bytes).
RELANCE_PORTAL_TOKEN_DAYS = env_int("RELANCE_PORTAL_TOKEN_DAYS", 90)
RELANCE_PORTAL_ANSWERS_PER_HOUR = env_int("RELANCE_PORTAL_ANSWERS_PER_HOUR", 5)
RELANCE_PORTAL_PROOF_MAX_BYTES = env_int("RELANCE_PORTAL_PROOF_MAX_BYTES", 5 * 1024 * 1024)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Transport URLs carry passwords: every log line goes through redaction first.
    "filters": {"redact_secrets": {"()": "relance.lib.secrets.RedactingFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact_secrets"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
}

# Payment matching (relance.ledger.reconcile): proposals at or above this confidence (0-100) are applied,
# the others wait in the review queue. An organisation may set its own (ledger.MatchSettings).
RELANCE_MATCH_THRESHOLD = env_int("RELANCE_MATCH_THRESHOLD", 80)
if not 0 <= RELANCE_MATCH_THRESHOLD <= 101:
    raise ImproperlyConfigured(f"RELANCE_MATCH_THRESHOLD={RELANCE_MATCH_THRESHOLD}: expected 0 to 101 (101: never)")
