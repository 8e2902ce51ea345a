"""relance user add|list: people and their role in each organisation."""

from __future__ import annotations

import argparse

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from relance.accounts.models import Membership, Organisation, Role


class Command(BaseCommand):
    help = "Add users to organisations with a role (owner, collector, viewer), or list them."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="create a user (or update one) and give a role in an organisation")
        add.add_argument("username")
        add.add_argument("--org", required=True)
        add.add_argument("--role", choices=[r.value for r in Role], default=Role.COLLECTOR.value)
        add.add_argument("--email", default="")
        add.add_argument("--password", default=None, help="omitted: the user cannot log in until set")
        add.add_argument("--name", default="", help="full name, shown in messages")
        add.add_argument("--phone", default="")
        add.add_argument("--superuser", action="store_true",
                         help="an operator of the whole instance: opens the admin site, sees every organisation")
        # Gone: it made organisation owners superusers, who then saw every other organisation.
        add.add_argument("--staff", action="store_true", help=argparse.SUPPRESS)
        lst = sub.add_parser("list", help="list the users of an organisation")
        lst.add_argument("--org", required=True)

    def handle(self, *args, **o):
        if o.get("staff"):
            raise CommandError(
                "--staff is gone: use --superuser for an instance operator; organisation members manage "
                "their organisation with the CLI/web app"
            )
        org = Organisation.objects.filter(slug=o["org"]).first()
        if org is None:
            raise CommandError(f"no organisation {o['org']!r}; create it with 'relance init'")
        if o["action"] == "add":
            self._add(org, o)
        else:
            for m in Membership.objects.filter(organisation=org).select_related("user").order_by("user__username"):
                self.stdout.write(f"{m.user.username}\t{m.role}\t{m.user.email}")

    def _add(self, org, o):
        User = get_user_model()
        # Built and checked first, saved last: a refused password leaves no half-made user behind.
        user = User.objects.filter(username=o["username"]).first()
        created = user is None
        if created:
            user = User(username=o["username"])
        if o["email"]:
            user.email = o["email"]
        if o["name"]:
            first, _, last = o["name"].partition(" ")
            user.first_name, user.last_name = first, last
        if o["password"]:
            try:
                validate_password(o["password"], user)
            except ValidationError as exc:
                raise CommandError(f"password refused for {o['username']}: {' '.join(exc.messages)}")
            user.set_password(o["password"])
        elif created:
            user.set_unusable_password()
        if o["superuser"]:
            user.is_staff = user.is_superuser = True
        user.save()
        Membership.objects.update_or_create(user=user, organisation=org, defaults={"role": o["role"]})
        self.stdout.write(f"{'created' if created else 'updated'} {user.username} ({o['role']}) in {org.slug}")
