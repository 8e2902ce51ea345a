"""Shared argument parsing for the dunning commands: one-line errors naming the option."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from relance.accounts.management.commands.org import get_org  # noqa: F401 (the dunning commands import it here)
from relance.accounts.models import Organisation
from relance.dunning import queries
from relance.ledger.models import Customer, Invoice
from relance.lib.money import cents, parse_amount


def parse_date(text: str, option: str = "--date") -> date:
    """YYYY-MM-DD, or DD/MM/YYYY as French users write it."""
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    raise CommandError(f"{option} {text!r}: expected a date as YYYY-MM-DD")


def parse_money(text: str, option: str = "--amount") -> Decimal:
    try:
        return cents(parse_amount(text))
    except ValueError as exc:
        raise CommandError(f"{option} {text!r}: {exc}")


def get_invoice(org: Organisation, number: str) -> Invoice:
    try:
        return queries.get_invoice(org, number)
    except Invoice.DoesNotExist:
        raise CommandError(f"--invoice {number!r}: no such invoice in {org.slug}")


def get_customer(org: Organisation, external_id: str) -> Customer:
    try:
        return queries.get_customer(org, external_id)
    except Customer.DoesNotExist:
        raise CommandError(f"--customer {external_id!r}: no such customer in {org.slug}")


def get_user(org: Organisation, username: str | None):
    if not username:
        return None
    user = get_user_model().objects.filter(username=username, memberships__organisation=org).first()
    if user is None:
        raise CommandError(f"--user {username!r}: not a member of {org.slug}")
    return user


def money(amount: Decimal | None) -> str:
    return "" if amount is None else f"{amount:.2f}"
