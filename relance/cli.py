"""The `relance` console command: `relance <verb> ...` runs the matching management command."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection

from relance.lib.secrets import redact_url

# verb -> (management command, one-line help). Verbs are what users type; the commands
# keep names that do not clash with Django's or Python's own (`import`, `run`).
VERBS: dict[str, tuple[str, str]] = {
    "init": ("init_org", "create the database schema when needed and an organisation"),
    "user": ("user", "add, list users and their roles in organisations"),
    "migrate": ("migrate", "apply database migrations"),
    "serve": ("serve", "serve the web app (127.0.0.1:8000 by default)"),
    "import": ("import_ledger", "import customers, invoices or payments from CSV/XLSX"),
    "generate": ("generate", "write generated ledger CSV files (tests, benchmarks)"),
    "demo": ("demo", "build the demo company, run today's dunning and serve the app"),
    "run": ("run_dunning", "run today's dunning for an organisation"),
    "forecast": ("forecast", "messages the engine will send in the coming days"),
    "promise": ("promise", "record and list promises to pay"),
    "dispute": ("dispute", "open, close and list disputes"),
    "plan": ("plan", "payment plans (instalments)"),
    "pause": ("pause", "pause the reminders of a customer"),
    "insolvency": ("insolvency", "insolvency proceedings of a customer: open, close"),
    "approve": ("approve", "list, approve or skip reminders waiting for approval"),
    "scheduler": ("scheduler", "long-running: run each organisation's dunning at its hour"),
    "send": ("send_reminders", "send the reminders that are due"),
    "worker": ("worker", "a Celery worker of the sending pool (when CELERY_BROKER_URL is set)"),
    "letters": ("letters", "print batch of the day's letters; record registered-mail numbers"),
    "org": ("org", "list the organisations, show one's settings and transports, delete one (log archived)"),
    "reminders": ("reminders", "reminders in doubt (state unknown): list the evidence, resolve them"),
    "verify-log": ("verify_log", "recompute an organisation's audit log chain (or an archive's: --file); exit 1 "
                                "naming the first bad entry"),
    "audit": ("audit", "list an organisation's audit log (for a customer, a kind of event)"),
    "match": ("match", "match payments to invoices (run); review, confirm, reject or assign them (review)"),
    "aged-balance": ("aged_balance", "the aged balance per customer on a date: json, csv, xlsx or pdf"),
    "kpi": ("kpi", "collection KPIs over a period: DSO, payment delay, CEI, promises, reminders that work"),
    "interest": ("interest", "late-payment interest of an invoice: periods, rates, indemnity, total claimed"),
    "rates": ("rates", "ECB and legal interest rate tables: check, update --file F"),
    "costs": ("costs", "recovery costs of a customer's debt: add (with a supporting document), list"),
    "dossier": ("dossier", "a customer's evidence dossier (ZIP: summary PDF, documents, SHA-256 manifest)"),
}
# Verbs that create the schema themselves (serve and demo migrate first) or need no database.
NO_SCHEMA_NEEDED = {"init", "migrate", "serve", "demo", "generate", "rates"}
# Verbs that need no database with this option: an archived audit log is verified from its file alone.
OFFLINE = {"verify-log": "file"}
MISSING_SCHEMA = {
    "fr": "relance : pas de base de données Relance à {where} : lancez `relance migrate` ou `make demo`, "
          "ou définissez RELANCE_DATA_DIR",
    "en": "relance: no Relance database at {where}: run `relance migrate` or `make demo`, or set RELANCE_DATA_DIR",
}


HIDDEN_DJANGO_OPTIONS = {
    "--version", "--settings", "--pythonpath", "--no-color", "--force-color", "--skip-checks",
}


def _usage() -> str:
    lines = ["usage: relance <verb> [options]   (relance <verb> --help for details)", "", "verbs:"]
    width = max(len(v) for v in VERBS)
    lines += [f"  {verb.ljust(width)}  {text}" for verb, (_, text) in VERBS.items()]
    return "\n".join(lines)


def database_problem() -> str | None:
    """One line saying why the configured database cannot serve a command, or None.

    Checked before connecting: SQLite creates a missing file on connection, and a command run
    from the wrong directory would leave an empty database there."""
    # Imported here: models need the apps loaded (django.setup() in main).
    from relance.accounts.models import Organisation

    language = settings.LANGUAGE_CODE if settings.LANGUAGE_CODE in MISSING_SCHEMA else "fr"
    if connection.vendor == "sqlite":
        # The connection's name, not the settings': a test run points it at its own database.
        where = str(connection.settings_dict["NAME"])
        if not connection.is_in_memory_db() and not Path(where).exists():
            return MISSING_SCHEMA[language].format(where=where)
    else:
        where = redact_url(settings.DATABASE_URL)
    try:
        tables = connection.introspection.table_names()
    except DatabaseError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"relance: {where}: {reason}"
    if Organisation._meta.db_table not in tables:
        return MISSING_SCHEMA[language].format(where=where)
    return None


def _parse(cmd, verb: str, args: list[str]):
    """The command's own parsing (usage errors exit 2, --help exits 0) before any database check."""
    cmd._called_from_command_line = True  # as run_from_argv: argparse errors exit instead of raising
    return cmd.create_parser("relance", verb).parse_args(args)


def main(argv: list[str] | None = None, raw: bool = False) -> int:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relance.settings")
    if len(argv) < 2 or argv[1] in {"-h", "--help", "help"}:
        print(_usage())
        return 0 if len(argv) >= 2 else 2
    verb = argv[1]
    if verb in VERBS:
        command = VERBS[verb][0]
    elif raw:
        command = verb  # manage.py passes any Django command through
    else:
        print(f"relance: unknown verb {verb!r}; see 'relance --help'", file=sys.stderr)
        return 2

    import django
    from django.core.exceptions import ImproperlyConfigured, PermissionDenied
    from django.core.management import get_commands, load_command_class

    try:
        django.setup()
    except ImproperlyConfigured as exc:
        print(f"relance: configuration error: {exc}", file=sys.stderr)
        return 2
    app = get_commands().get(command)
    if app is None:
        print(f"relance: {verb}: not available in this version", file=sys.stderr)
        return 2
    cmd = load_command_class(app, command) if isinstance(app, str) else app
    # Django's own options (--settings, --pythonpath ...) still work but clutter every --help.
    cmd.suppressed_base_arguments = set(cmd.suppressed_base_arguments) | HIDDEN_DJANGO_OPTIONS
    if verb in VERBS and verb not in NO_SCHEMA_NEEDED:
        options = _parse(cmd, verb, argv[2:])
        offline = verb in OFFLINE and getattr(options, OFFLINE[verb], None)
        problem = None if offline else database_problem() or _unknown_org(getattr(options, "org", None))
        if problem:
            print(problem, file=sys.stderr)
            return 2
    from relance.audit.log import acting_as  # models: after django.setup()

    try:
        with acting_as("cli"):  # the audit log names the command line as the actor without --user
            cmd.run_from_argv(["relance", verb, *argv[2:]])
    except KeyboardInterrupt:
        print("relance: interrupted", file=sys.stderr)
        return 130
    except PermissionDenied as exc:  # a role the user does not have: one line, as a refused input
        print(f"relance: {verb}: {exc}", file=sys.stderr)
        return 1
    return 0


def _unknown_org(slug: str | None) -> str | None:
    # Imported here: the command module needs the apps loaded (django.setup() above).
    from relance.accounts.management.commands.org import unknown_org

    return unknown_org(slug) if slug is not None else None


if __name__ == "__main__":
    sys.exit(main())
