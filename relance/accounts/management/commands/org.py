"""relance org list|show|delete: the organisations, their settings and their transports (secrets masked);
deleting one archives its audit log first (relance.accounts.actions.delete_organisation)."""

from __future__ import annotations

import json

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count
from django.utils.translation import pgettext

from relance.accounts.actions import delete_organisation
from relance.accounts.models import Membership, Organisation
from relance.ledger.models import Customer, Invoice
from relance.lib.secrets import redact_url

SETTINGS = [
    "slug", "legal_name", "siren", "siret", "vat_number", "address_line1", "address_line2", "postcode", "city",
    "country", "iban", "bic", "sender_email", "phone", "currency", "time_zone", "language",
    "min_reminder_amount", "small_amount_threshold", "run_hour",
]


def unknown_org(slug: str) -> str | None:
    """None when the organisation exists, else one line naming the known ones (what `relance` prints)."""
    if Organisation.objects.filter(slug=slug).exists():
        return None
    return pgettext("cli", "relance: %(problem)s") % {"problem": no_such_org(slug)}


def get_org(slug: str) -> Organisation:
    """The organisation an --org names, or a one-line CommandError naming the known ones."""
    org = Organisation.objects.filter(slug=slug).first()
    if org is None:
        raise CommandError(no_such_org(slug))
    return org


def no_such_org(slug: str) -> str:
    """The one message for an --org that names no organisation: the known ones, or how to create one."""
    known = ", ".join(Organisation.objects.order_by("slug").values_list("slug", flat=True))
    hint = (pgettext("cli", "known: %(slugs)s") % {"slugs": known} if known
            else pgettext("cli", "none yet: create one with `relance init`"))
    return pgettext("cli", "--org %(slug)s: no such organisation (%(hint)s)") % {"slug": repr(slug), "hint": hint}


def list_organisations() -> list[dict]:
    """Each organisation with its number of customers, of open invoices, and its members."""
    # One grouped query per count: a join of customers, invoices and members would multiply rows.
    customers = dict(Customer.objects.values_list("organisation").annotate(n=Count("pk")).order_by())
    open_invoices = dict(
        Invoice.objects.filter(open_balance__gt=0).values_list("organisation").annotate(n=Count("pk")).order_by()
    )
    members: dict[int, list[dict]] = {}
    for m in Membership.objects.select_related("user").order_by("user__username"):
        members.setdefault(m.organisation_id, []).append({"username": m.user.username, "role": m.role})
    return [
        {"slug": org.slug, "name": org.legal_name, "customers": customers.get(org.pk, 0),
         "open_invoices": open_invoices.get(org.pk, 0), "members": members.get(org.pk, [])}
        for org in Organisation.objects.order_by("slug")
    ]


def transports(org: Organisation) -> dict[str, dict]:
    """The URL each channel sends through, masked, and whether the organisation or the instance set it."""
    chosen = {
        "email": (org.email_url, settings.EMAIL_URL),
        "sms": (org.sms_url, settings.SMS_URL),
        "letter": ("", settings.LETTER_URL),  # letters have no per-organisation transport
    }
    return {
        channel: {"url": redact_url(own or default), "source": "organisation" if own else "instance"}
        for channel, (own, default) in chosen.items()
    }


def describe(org: Organisation) -> dict:
    return {
        "settings": {field: str(getattr(org, field)) for field in SETTINGS},
        "transports": transports(org),
        "members": [
            {"username": m.user.username, "role": m.role}
            for m in org.memberships.select_related("user").order_by("user__username")
        ],
    }


class Command(BaseCommand):
    help = "List the organisations (customers, open invoices, members), or show one's settings and transports."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        lst = sub.add_parser("list", help="slug, name, customers, open invoices, members")
        lst.add_argument("--json", action="store_true")
        show = sub.add_parser("show", help="settings and transports (secrets masked) of one organisation")
        show.add_argument("slug")
        show.add_argument("--json", action="store_true")
        delete = sub.add_parser("delete", help="delete an organisation and all its data; its audit log is "
                                "archived first under the data dir (check it: relance verify-log --file)")
        delete.add_argument("slug")
        delete.add_argument("--yes", action="store_true", help="confirm: nothing is deleted without it")

    def handle(self, *args, **o):
        if o["action"] == "list":
            self._list(o["json"])
            return
        problem = unknown_org(o["slug"])
        if problem:
            raise CommandError(problem, returncode=2)
        if o["action"] == "delete":
            self._delete(o["slug"], o["yes"])
            return
        info = describe(Organisation.objects.get(slug=o["slug"]))
        if o["json"]:
            self.stdout.write(json.dumps(info, ensure_ascii=False, indent=2))
            return
        width = max(len(field) for field in SETTINGS)
        for field, value in info["settings"].items():
            self.stdout.write(f"{field.ljust(width)}  {value}")
        self.stdout.write("transports:")
        for channel, transport in info["transports"].items():
            self.stdout.write(f"  {channel.ljust(6)}  {transport['url']}  ({transport['source']})")
        self.stdout.write("members: " + _members(info["members"]))

    def _delete(self, slug: str, yes: bool) -> None:
        org = Organisation.objects.get(slug=slug)
        if not yes:
            customers = Customer.objects.filter(organisation=org).count()
            invoices = Invoice.objects.filter(organisation=org).count()
            raise CommandError(f"{slug} : {customers} clients et {invoices} factures seraient supprimés, avec "
                               "tout le reste de l'organisation ; relancez avec --yes pour confirmer", returncode=2)
        try:
            path = delete_organisation(org)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages), returncode=1) from exc
        self.stdout.write(f"{slug} supprimée ; journal d'audit archivé : {path}")
        self.stdout.write(f"vérifier l'archive : relance verify-log --file {path}")

    def _list(self, as_json: bool) -> None:
        rows = list_organisations()
        if as_json:
            self.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2))
            return
        if not rows:
            self.stdout.write("no organisation yet: create one with `relance init`")
            return
        self.stdout.write("slug\tname\tcustomers\topen_invoices\tmembers")
        for row in rows:
            self.stdout.write(f"{row['slug']}\t{row['name']}\t{row['customers']}\t{row['open_invoices']}\t"
                              f"{_members(row['members'])}")


def _members(members: list[dict]) -> str:
    return ", ".join(f"{m['username']} ({m['role']})" for m in members) or "-"
