"""Delivery benchmark: the whole sending pipeline, as `relance send` runs it, to a local SMTP server.

    python -m bench.delivery_bench [--reminders 1000]

Each reminder is claimed (one at a time, with its lease), re-checked with the planner's eligibility
rule on balances read again, rendered (text + HTML + EPC QR code), handed over (the evidence stored
first) and sent over one SMTP connection to an aiosmtpd server in a thread of this process; then
its receipt is stored. Prints messages/s and queries per message.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date
from decimal import Decimal

from bench.common import database_label, measure
from bench.dunning_bench import prepare_database
from bench.smtp_bench import Counter, free_port

RUN_DAY = date(2026, 7, 6)


def build(n: int):
    from relance.accounts.models import Organisation
    from relance.channels.models import OrganisationChannelSettings
    from relance.dunning.defaults import install_default_scenarios
    from relance.ledger.models import Contact, Customer, Invoice

    org = Organisation.objects.create(slug="bench", legal_name="Bench SA", city="Lyon", postcode="69002",
                                      address_line1="1 rue de la Bourse", iban="FR1420041010050500013M02606")
    install_default_scenarios(org)
    OrganisationChannelSettings.objects.create(organisation=org, attach_statement="never")
    customers = Customer.objects.bulk_create(
        Customer(organisation=org, external_id=f"C{i:06d}", name=f"Client {i}") for i in range(n))
    Contact.objects.bulk_create(Contact(customer=c, kind="email", value=f"compta{c.pk}@client.fr") for c in customers)
    Invoice.objects.bulk_create(
        Invoice(organisation=org, customer=c, number=f"F{i:06d}", issue_date=date(2026, 5, 31),
                due_date=date(2026, 6, 30), total=Decimal("1200.00") + i % 97, open_balance=Decimal("1200.00") + i % 97)
        for i, c in enumerate(customers))
    return org


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reminders", type=int, default=1000)
    args = parser.parse_args(argv)
    prepare_database()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "relance.settings")
    import django

    django.setup()
    from aiosmtpd.controller import Controller
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from relance.channels.delivery import deliver_pending
    from relance.dunning.actions import plan_today

    print(f"delivery bench on {database_label()}: {args.reminders:,} e-mail reminders", flush=True)
    call_command("migrate", verbosity=0)
    org = build(args.reminders)
    planned = plan_today(org, RUN_DAY).reminders
    handler, port = Counter(), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    org.email_url = f"smtp://127.0.0.1:{port}"
    org.save()
    try:
        with CaptureQueriesContext(connection) as queries, \
                measure("claim, re-check, render, hand over, send, record", rows=planned) as fig:
            stats = deliver_pending(org)
            fig.extra.update(sent=stats.sent)
    finally:
        controller.stop()
    print(f"messages/s: {stats.sent / fig.seconds:,.1f}  queries per message: {len(queries) / max(stats.sent, 1):.1f}"
          f"  received: {handler.messages:,}")
    return 0 if handler.messages == planned == stats.sent else 1


if __name__ == "__main__":
    sys.exit(main())
