"""Every e-mail and letter carries the customer's portal link (RELANCE_BASE_URL/p/<token>/), and it
answers: a real reminder is rendered, its link extracted and followed."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
import time_machine

from relance.channels.context import build_context, sample_context
from relance.channels.letter.channel import build_letter
from relance.channels.registry import get_channel
from relance.channels.templates import render
from relance.dunning.actions import plan_today
from relance.dunning.models import Reminder
from relance.portal.models import PortalVisit
from relance.portal.tokens import read_token
from tests.channels.email_support import make_reminder
from tests.portal.conftest import NOW, RUN

pytestmark = pytest.mark.django_db

BASE_URL = "https://relance.example.com"
PORTAL = re.compile(r"https://relance\.example\.com/p/[^\s\"'<>]+/")


def _follow(client, text: str):
    urls = set(PORTAL.findall(text))
    assert len(urls) == 1, urls
    url = urls.pop()
    response = client.get(urlsplit(url).path)
    return url, response


@pytest.mark.parametrize("language", ["fr", "en"])
@time_machine.travel(NOW, tick=False)
def test_a_planned_email_reminder_carries_a_link_that_answers(client, dupuis, org, settings, language):
    settings.BASE_URL = BASE_URL
    cust, _ = dupuis
    cust.language = language
    cust.save()
    plan_today(org, RUN)
    reminder = Reminder.objects.get(customer=cust, channel="email")
    message = get_channel("email").render(reminder, build_context(reminder))
    for text in (message.body_text, message.body_html):
        url, response = _follow(client, text)
        assert response.status_code == 200 and "Dupuis SA" in response.content.decode()
        key = read_token(urlsplit(url).path.split("/")[2])
        assert (key.organisation_id, key.customer_id, key.reminder_id) == (org.pk, cust.pk, reminder.pk)
    assert PortalVisit.objects.filter(customer=cust, reminder=reminder).count() == 2


@time_machine.travel(NOW, tick=False)
def test_a_letter_carries_the_link(client, dupuis, org, settings):
    settings.BASE_URL = BASE_URL
    cust, invoices = dupuis
    cust.address_line1, cust.postcode, cust.city = "1 rue du Port", "13002", "Marseille"
    cust.save()
    letter = make_reminder(org, cust, invoices, template="formal_notice", step="formal", channel="letter",
                           tone="formal", run_date=RUN)
    _, html = build_letter(letter, build_context(letter))
    _, response = _follow(client, html)
    assert response.status_code == 200


@pytest.mark.parametrize("code", ["first_reminder", "friendly_reminder", "firm_reminder", "formal_notice",
                                  "broken_promise"])
@pytest.mark.parametrize("part", ["html", "text"])
@time_machine.travel(NOW, tick=False)
def test_every_shipped_reminder_template_shows_the_link(dupuis, org, settings, code, part):
    settings.BASE_URL = BASE_URL
    cust, invoices = dupuis
    for language in ("fr", "en"):
        reminder = make_reminder(org, cust, invoices, template=code, step=f"{code}-{language}", language=language,
                                 run_date=RUN)
        context = build_context(reminder)
        assert context["portal_url"].startswith(f"{BASE_URL}/p/")
        assert context["portal_url"] in render(code, language, context, part)
        reminder.delete()


def test_the_sample_context_documents_the_link():
    assert sample_context()["portal_url"].startswith("https://")
