"""relance init --org SLUG --name NAME [--siren ..] [--iban ..]: schema, then the organisation."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from relance.accounts.models import Organisation


class Command(BaseCommand):
    help = "Create the database schema when needed, then create or update an organisation (creditor)."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="short name (slug) used on the command line")
        parser.add_argument("--name", required=True, help="legal name (raison sociale)")
        parser.add_argument("--siren", default="")
        parser.add_argument("--siret", default="")
        parser.add_argument("--vat", default="", help="intra-EU VAT number")
        parser.add_argument("--iban", default="")
        parser.add_argument("--bic", default="")
        parser.add_argument("--email", default="", help="sender e-mail address")
        parser.add_argument("--phone", default="")
        parser.add_argument("--address", default="")
        parser.add_argument("--postcode", default="")
        parser.add_argument("--city", default="")
        parser.add_argument("--currency", default="EUR")
        parser.add_argument("--language", default="fr", choices=["fr", "en"])
        parser.add_argument("--time-zone", default="Europe/Paris")

    def handle(self, *args, **o):
        call_command("migrate", interactive=False, verbosity=0)
        org = Organisation.objects.filter(slug=o["org"]).first() or Organisation(slug=o["org"])
        org.legal_name = o["name"]
        fields = {
            "siren": "siren", "siret": "siret", "vat": "vat_number", "iban": "iban", "bic": "bic",
            "email": "sender_email", "phone": "phone", "address": "address_line1",
            "postcode": "postcode", "city": "city",
        }
        for option, field in fields.items():
            if o[option]:
                setattr(org, field, o[option])
        org.currency, org.language, org.time_zone = o["currency"], o["language"], o["time_zone"]
        try:
            org.full_clean()
        except ValidationError as exc:
            problems = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items())
            raise CommandError(problems)
        created = org.pk is None
        org.save()
        from relance.dunning.defaults import install_default_scenarios

        install_default_scenarios(org)
        self.stdout.write(f"{'created' if created else 'updated'} organisation {org.slug}: {org.legal_name}")
