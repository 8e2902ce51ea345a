"""relance org list|show: the organisations, their settings and transports with the secrets masked."""

from __future__ import annotations

import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from relance.ledger.balances import allocate

pytestmark = pytest.mark.django_db


def org_command(*args) -> str:
    out = StringIO()
    call_command("org", *args, stdout=out)
    return out.getvalue()


def test_the_list_counts_customers_open_invoices_and_names_the_members(org, alice, bob, charlie, make_invoice):
    make_invoice(number="F1")
    allocate(make_invoice(number="F2"), Decimal("1200.00"))  # paid: not open
    rows = json.loads(org_command("list", "--json"))
    assert rows == [
        {"slug": "abc", "name": "ABC Consulting", "customers": 1, "open_invoices": 1,
         "members": [{"username": "alice", "role": "owner"}, {"username": "bob", "role": "collector"}]},
        {"slug": "xyz", "name": "XYZ Industrie", "customers": 0, "open_invoices": 0,
         "members": [{"username": "charlie", "role": "owner"}]},
    ]


def test_the_list_as_text_has_one_line_per_organisation(org, alice, customer):
    lines = org_command("list").splitlines()
    assert lines == ["slug\tname\tcustomers\topen_invoices\tmembers", "abc\tABC Consulting\t1\t0\talice (owner)"]


def test_show_masks_the_password_of_the_organisations_smtp_transport(org):
    org.email_url = "smtp://relance:s3cret@smtp.abc-consulting.fr:587?starttls=1"
    org.save()
    text = org_command("show", "abc")
    assert "smtp://relance:•••@smtp.abc-consulting.fr:587?starttls=1  (organisation)" in text
    assert "s3cret" not in text
    assert "legal_name" in text and "ABC Consulting" in text and "Europe/Paris" in text


@override_settings(SMS_URL="https://sms.example/send?token=T0KEN&sender=ABC")
def test_show_masks_the_instance_transports_the_organisation_falls_back_to(org):
    info = json.loads(org_command("show", "abc", "--json"))
    assert info["transports"]["sms"] == {"url": "https://sms.example/send?token=•••&sender=ABC", "source": "instance"}
    assert "T0KEN" not in json.dumps(info)
    assert info["settings"]["min_reminder_amount"] == "10.00"


def test_show_of_an_unknown_slug_exits_2_naming_the_known_ones(org, other_org):
    with pytest.raises(CommandError, match=r"'nope'.*abc, xyz") as error:
        org_command("show", "nope")
    assert error.value.returncode == 2
