"""relance demo: the demo company "ABC Consulting", rebuilt from scratch, then today's dunning and the web app.

Everything goes through the real paths: `relance init` for the organisation, `relance user add` for
the people, the generator's CSV files through the importer, the dunning actions for disputes and
tasks, `relance run` for today's dunning and `relance serve` for the app.
"""

from __future__ import annotations

import argparse
import io
import os
import secrets
import tempfile
from datetime import date, datetime, time, timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from relance.accounts import actions as accounts_actions
from relance.accounts.models import Organisation
from relance.dunning.models import ReminderLine
from relance.ledger.generator import INSOLVENT, LedgerGenerator, write_ledger_csv
from relance.ledger.importers import import_file
from relance.ledger.importers.documents import attach_documents
from relance.ledger.invoice_pdf import write_invoice_pdfs
from relance.ledger.management.commands.generate import parse_day, positive
from relance.ledger.models import Customer, Invoice
from relance.web.management.commands.serve import busy_message, port_is_free
from relance.worker import deliver

SLUG = "abc"
ORGANISATION = {
    "name": "ABC Consulting", "siren": "732829320", "siret": "73282932000074", "vat": "FR44732829320",
    "iban": "FR1420041010050500013M02606", "bic": "PSSTFRPPPAR", "email": "compta@abc-consulting.fr",
    "phone": "04 65 71 00 00", "address": "12 rue de la République", "postcode": "69002", "city": "Lyon",
}
# username -> (role, full name, e-mail, staff: may open /admin)
PEOPLE = {
    "alice": ("owner", "Alice Martin", "alice@abc-consulting.fr", True),
    "bob": ("collector", "Bob Durand", "bob@abc-consulting.fr", False),
}
CREDENTIALS_FILE = "demo_credentials.txt"
DISPUTE_REASONS = [
    "Le client conteste le nombre de jours facturés",
    "Livrable jugé incomplet par le client",
    "Montant différent du devis signé",
    "Bon de commande manquant côté client",
    "Frais de déplacement non prévus au contrat",
]
RESOLUTIONS = ["Justificatifs envoyés, facture confirmée", "Accord trouvé en réunion", "Bon de commande reçu"]
# Customers bob collects for: the difficult ones, plus every third of the others.
BOB_BEHAVIOURS = {"late", "disputer", "partial", INSOLVENT}
STEPS = ["base", "organisation", "people", "ledger", "customers", "invoices", "payments", "facts", "dunning",
         "documents"]


def load_credentials(path: Path) -> dict[str, str]:
    """username -> password, from the data dir file of an earlier run, with new ones for the missing."""
    found: dict[str, str] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            name, sep, password = line.partition(":")
            if sep and name.strip() in PEOPLE and password.strip():
                found[name.strip()] = password.strip()
    if set(found) != set(PEOPLE):
        for name in PEOPLE:
            found.setdefault(name, secrets.token_urlsafe(9))
        path.write_text("".join(f"{n}:{found[n]}\n" for n in PEOPLE), encoding="utf-8")
        path.chmod(0o600)
    return found


def delete_organisation(slug: str) -> None:
    """Remove an organisation and its whole ledger (its audit log archived under the data dir first)."""
    org = Organisation.objects.filter(slug=slug).first()
    if org is not None:
        accounts_actions.delete_organisation(org)


def at(day: date, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


class Command(BaseCommand):
    help = (
        "Build (or rebuild) the demo organisation ABC Consulting: about 300 customers and 6,000 invoices over "
        "18 months, users alice and bob; run today's dunning, then serve the web app."
    )

    def add_arguments(self, parser):
        parser.add_argument("--no-serve", action="store_true", help="build the demo and exit")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--seed", type=int, default=1, help="random seed of the generated ledger (default 1)")
        # For tests: a smaller ledger, a fixed day.
        parser.add_argument("--customers", type=int, default=300, help=argparse.SUPPRESS)
        parser.add_argument("--invoices", type=int, default=6000, help=argparse.SUPPRESS)
        parser.add_argument("--today", default=None, help=argparse.SUPPRESS)
        parser.add_argument("--no-send", action="store_true", help=argparse.SUPPRESS)  # plan, do not deliver

    def handle(self, *args, **o):
        # Before a minute of building: a busy port would only show at the very end.
        if not o["no_serve"] and o["port"] and not port_is_free(o["host"], o["port"]):
            raise CommandError(busy_message(o["host"], o["port"], "make demo PORT={port} (relance demo --port {port})"))
        if not o["no_serve"] and o["port"] and "RELANCE_BASE_URL" not in os.environ:
            # The portal links the demo's messages carry must open on the server it starts.
            settings.BASE_URL = f"http://{o['host']}:{o['port']}"
        today = parse_day(o["today"]) if o["today"] else timezone.localdate()
        gen = LedgerGenerator(
            seed=o["seed"], customers=positive("customers", o["customers"], 1),
            invoices=positive("invoices", o["invoices"]), today=today,
        )
        quiet = o["verbosity"] == 0
        columns = [TextColumn("{task.description:<34}"), BarColumn(), TimeElapsedColumn()]
        progress = Progress(*columns, console=Console(stderr=True), disable=quiet, transient=True)
        with progress:
            self.progress = progress
            self.overall = progress.add_task("Relance demo", total=len(STEPS))
            passwords = self._build(gen, today, send=not o["no_send"])
        self._finish(o, passwords)

    def _step(self, text: str) -> None:
        self.progress.update(self.overall, description=text)

    def _done(self) -> None:
        self.progress.advance(self.overall)

    def _build(self, gen: LedgerGenerator, today: date, send: bool = True) -> dict[str, str]:
        self._step("Base de données")
        call_command("migrate", interactive=False, verbosity=0)
        self._done()
        self._step("Organisation ABC Consulting")
        delete_organisation(SLUG)
        o = ORGANISATION
        call_command(
            "init_org", org=SLUG, name=o["name"], siren=o["siren"], siret=o["siret"], vat=o["vat"], iban=o["iban"],
            bic=o["bic"], email=o["email"], phone=o["phone"], address=o["address"], postcode=o["postcode"],
            city=o["city"], stdout=io.StringIO(),
        )
        org = Organisation.objects.get(slug=SLUG)
        self._done()
        self._step("Utilisateurs alice et bob")
        passwords = load_credentials(Path(settings.DATA_DIR) / CREDENTIALS_FILE)
        for username, (role, name, email, staff) in PEOPLE.items():
            args = ["add", username, "--org", SLUG, "--role", role, "--name", name, "--email", email,
                    f"--password={passwords[username]}"]  # "=": a generated password may start with "-"
            call_command("user", *args, *(["--superuser"] if staff else []), stdout=io.StringIO())
        self._done()
        with tempfile.TemporaryDirectory(prefix="relance-demo-") as folder:
            self._step(f"Génération ({gen.n_customers} clients, {gen.n_invoices} factures)")
            written = write_ledger_csv(gen, Path(folder))
            self._done()
            for kind, label in (("customers", "clients"), ("invoices", "factures"), ("payments", "paiements")):
                self._import(org, kind, written.paths[kind], label)
        self._step("Litiges, procédure collective")
        self._apply_facts(org, gen, today)
        self._done()
        self._step("Relances du jour")
        self.dunning_summary = ""
        out = io.StringIO()
        try:
            # `relance run` plans the day; delivery waits for the invoices' PDFs (below).
            call_command("run_dunning", org=SLUG, date=today.isoformat(), stdout=out, no_send=True)
        except CommandError as exc:
            # The demo is still worth opening without today's reminders.
            self.stderr.write(f"relance demo: les relances du jour ont échoué : {exc}")
        self.dunning_summary = out.getvalue().strip()
        self._done()
        self._step("Factures PDF des relances du jour")
        self._invoice_documents(org, today)
        self._done()
        if send:
            deliver(org)
        return passwords

    def _invoice_documents(self, org: Organisation, today: date) -> None:
        """A PDF for each invoice today's reminders carry, attached by `relance import documents`'s own path.

        Only those: a PDF for each of the 6,000 invoices would take minutes."""
        lines = ReminderLine.objects.filter(reminder__organisation=org, reminder__run_date=today, dropped=False)
        invoices = list(Invoice.objects.filter(pk__in=lines.values("invoice_id")).select_related(
            "customer", "organisation").order_by("number"))
        if not invoices:
            return
        with tempfile.TemporaryDirectory(prefix="relance-demo-pdf-") as folder:
            write_invoice_pdfs(invoices, Path(folder))
            report = attach_documents(org, folder)
        if not report.ok:
            raise CommandError("\n".join(f"{name}: {message}" for name, message in report.errors))

    def _import(self, org: Organisation, kind: str, path: Path, label: str) -> None:
        self._step(f"Import des {label}")
        sub = self.progress.add_task(f"  {path.name}", total=None)

        def advance(done: int, total: int) -> None:
            self.progress.update(sub, completed=done, total=total)

        result = import_file(org, kind, path, progress=advance)
        if result.errors:
            raise CommandError("\n".join(result.error_lines()))
        self.progress.remove_task(sub)
        self._done()

    def _apply_facts(self, org: Organisation, gen: LedgerGenerator, today: date) -> None:
        """What a CSV file cannot say: disputes, the insolvency, who collects for whom."""
        from relance.dunning.actions import close_dispute, open_dispute, open_insolvency

        users = {u.username: u for u in get_user_model().objects.filter(username__in=list(PEOPLE))}
        alice, bob = users["alice"], users["bob"]
        bob_codes, alice_codes, insolvent = [], [], []
        for n, c in enumerate(gen.customers()):
            if c.behaviour == INSOLVENT:
                insolvent.append(c.code)
            if c.strategic:
                alice_codes.append(c.code)  # the owner keeps the key accounts
            elif c.behaviour in BOB_BEHAVIOURS or n % 3 == 0:
                bob_codes.append(c.code)
        disputes = [(inv, payments) for inv, payments in gen.invoices() if inv.dispute]
        customers = Customer.objects.filter(organisation=org)
        with transaction.atomic():
            customers.filter(external_id__in=bob_codes).update(collector=bob)
            customers.filter(external_id__in=alice_codes).update(collector=alice)
            invoices = {i.number: i for i in Invoice.objects.filter(organisation=org,
                                                                   number__in=[d.number for d, _ in disputes])}
            for n, (row, payments) in enumerate(disputes):
                invoice = invoices[row.number]
                dispute = open_dispute(invoice, DISPUTE_REASONS[n % len(DISPUTE_REASONS)], user=bob)
                opened = min(row.due_date + timedelta(days=7), today)
                if row.dispute == "resolved":
                    close_dispute(dispute, RESOLUTIONS[n % len(RESOLUTIONS)], user=bob)
                    closed = max(payments[-1].date - timedelta(days=3), opened)
                    type(dispute).objects.filter(pk=dispute.pk).update(opened_at=at(opened), closed_at=at(closed))
                else:
                    type(dispute).objects.filter(pk=dispute.pk).update(opened_at=at(opened))
            judgment = today - timedelta(days=30)
            for customer in customers.filter(external_id__in=insolvent):
                customer.notes = (
                    f"Redressement judiciaire ouvert le {judgment:%d/%m/%Y} (tribunal de commerce). "
                    "Relances amiables interdites : déclarer la créance au mandataire judiciaire."
                )
                customer.save(update_fields=["notes", "updated_at"])
                open_insolvency(customer, judgment, "redressement")

    def _finish(self, o: dict, passwords: dict[str, str]) -> None:
        org = Organisation.objects.get(slug=SLUG)
        counts = (org.customers.count(), org.invoices.count(), org.payments.count())
        self.stdout.write(f"ABC Consulting : {counts[0]} clients, {counts[1]} factures, {counts[2]} paiements")
        if self.dunning_summary:
            self.stdout.write(self.dunning_summary)
        # No URL here: `serve` prints the one it listens on, once it does.
        self.stdout.write(f"Relance demo: login: alice / {passwords['alice']}  (bob / {passwords['bob']}, "
                          "chargé de recouvrement)")
        if o["no_serve"]:
            self.stdout.write("Pour ouvrir l'application : relance serve")
        else:
            call_command("serve", host=o["host"], port=o["port"])
