"""The `relance` console command: `relance <verb> ...` runs the matching management command."""

from __future__ import annotations

import os
import sys

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
}


HIDDEN_DJANGO_OPTIONS = {
    "--version", "--settings", "--pythonpath", "--no-color", "--force-color", "--skip-checks",
}


def _usage() -> str:
    lines = ["usage: relance <verb> [options]   (relance <verb> --help for details)", "", "verbs:"]
    width = max(len(v) for v in VERBS)
    lines += [f"  {verb.ljust(width)}  {text}" for verb, (_, text) in VERBS.items()]
    return "\n".join(lines)


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
    from django.core.exceptions import ImproperlyConfigured
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
    try:
        cmd.run_from_argv(["relance", verb, *argv[2:]])
    except KeyboardInterrupt:
        print("relance: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
