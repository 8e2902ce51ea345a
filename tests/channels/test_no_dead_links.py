"""No dead links: every link a shipped message carries to our own host answers 200.

Each shipped template (both languages, every part, every channel) and the letter are rendered on a
crafted case; every URL found in them is requested from the running Django app with the test client
(relative to RELANCE_BASE_URL). Links to other hosts (the organisation's own payment page) are not ours
to check.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest

from relance.channels.context import build_context
from relance.channels.letter.channel import build_letter
from relance.channels.models import OrganisationChannelSettings
from relance.channels.templates import LANGUAGES, PARTS, list_shipped_codes, render
from tests.channels.email_support import make_reminder

TODAY = date(2026, 7, 10)
BASE_URL = "https://relance.example.com"
URL = re.compile(r"""https?://[^\s"'<>»«)]+""")
CHANNEL_OF = {"sms_reminder": "sms", "call_script": "call"}


def urls_in(text: str) -> set[str]:
    return {url.rstrip(".,;:") for url in URL.findall(text)}


@pytest.fixture
def crafted(org, customer, make_invoice, settings):
    """A customer with an overdue invoice, one not yet due, and an organisation with a payment link."""
    settings.BASE_URL = BASE_URL
    customer.address_line1, customer.postcode, customer.city = "3 rue Lafayette", "75009", "Paris"
    customer.save()
    OrganisationChannelSettings.objects.create(organisation=org, payment_link_url="https://pay.example.com/?r={reference}")
    return [make_invoice(total="1200.00", due=date(2026, 6, 30)), make_invoice(total="90.00", due=date(2026, 12, 5))]


def rendered_everywhere(org, customer, invoices) -> dict[str, str]:
    out = {}
    cases = [(code, language) for code in list_shipped_codes() for language in LANGUAGES]
    for day, (code, language) in enumerate(cases):
        channel = CHANNEL_OF.get(code, "email")
        reminder = make_reminder(org, customer, invoices, template=code, step=f"{code}-{language}",
                                 channel=channel, language=language, run_date=date(2026, 7, 1) + timedelta(days=day))
        context = build_context(reminder, today=TODAY)
        for part in PARTS:
            out[f"{language}/{code}/{part}"] = render(code, language, context, part)
    for day, language in enumerate(LANGUAGES, start=1):
        letter = make_reminder(org, customer, invoices, template="formal_notice", step=f"letter-{language}",
                               channel="letter", tone="formal", language=language, run_date=date(2026, 9, day))
        out[f"{language}/letter"] = build_letter(letter, build_context(letter, today=TODAY))[1]
    return out


@pytest.mark.parametrize("payment_link", ["https://pay.example.com/?r={reference}", ""])
def test_every_link_to_our_host_answers(org, customer, crafted, client, payment_link):
    org.channel_settings.payment_link_url = payment_link
    org.channel_settings.save()
    rendered = rendered_everywhere(org, customer, crafted)
    ours = urlsplit(BASE_URL).netloc
    for where, text in rendered.items():
        for url in urls_in(text):
            parts = urlsplit(url)
            if parts.netloc != ours:
                continue
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            assert client.get(path).status_code == 200, f"{where}: {url}"
    # The organisation's own payment link is there when it has one (and out of our scope).
    assert any("https://pay.example.com/?r=" in text for text in rendered.values()) == bool(payment_link)


def test_without_a_payment_link_the_only_web_link_is_the_customers_portal(org, customer, crafted):
    org.channel_settings.payment_link_url = ""
    org.channel_settings.save()
    ours = urlsplit(BASE_URL).netloc
    for where, text in rendered_everywhere(org, customer, crafted).items():
        for url in urls_in(text):
            parts = urlsplit(url)
            assert parts.netloc == ours and parts.path.startswith("/p/"), f"{where}: {url}"


def test_the_sms_carries_the_customers_portal_link(org, customer, crafted, client):
    for key, text in rendered_everywhere(org, customer, crafted).items():
        if "/sms_reminder/" in key and text.strip():
            portal = [url for url in urls_in(text) if urlsplit(url).path.startswith("/p/")]
            assert portal, f"{key}: {text}"
            assert client.get(urlsplit(portal[0]).path).status_code == 200
