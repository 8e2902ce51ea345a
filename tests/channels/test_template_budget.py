"""A template an organisation edits cannot hang the sender or exhaust its memory: a render budget.

Every payload is refused at save time with a clear reason, and fails for good at send time (for a
template saved before the budget existed), quickly, and the worker goes on with the next message.
"""

from __future__ import annotations

import json
import time
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from relance.channels import templates as t
from relance.channels.context import sample_context
from relance.channels.sandbox import RenderBudgetExceeded

SLOW = "rendu trop long"
BIG = "au-delà de la limite"
FLOOD = "rendu trop long|texte produit trop long"  # whichever comes first on this machine
NESTED = ("{% set a = ['x' * 1000000] %}{% set b = [a, a, a, a, a, a, a, a, a, a] %}"
          "{% set c = [b, b, b, b, b, b, b, b, b, b] %}")
# (template, what the refusal says)
HOSTILE = [
    ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", SLOW),
    ("{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}", FLOOD),
    ("{% set x %}{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}{% endset %}",
     SLOW),
    ("{% macro r(n) %}{% if n > 0 %}{{ r(n - 1) }}{{ r(n - 1) }}{% endif %}{% endmacro %}{{ r(40) }}", SLOW),
    ("{% macro r() %}{{ r() }}{% endmacro %}{{ r() }}", "récursion trop profonde"),
    ("{% for x in range(100000) recursive %}{{ loop(range(100000)) }}{% endfor %}", "récursion trop profonde"),
    ("{{ 'a' * 3000000000 }}", BIG),
    ("{{ 3000000000 * 'a' }}", BIG),
    ("{{ [1] * 1000000000 }}", BIG),
    ("{{ (('x' * 1000000,) * 1000)|join }}", BIG),
    ("{{ range(1000000000)|list }}", "Range too big"),
    ("{{ '%s' % 'x' * 1000000000 }}", BIG),
    ("{{ '%999999999s' % 'x' }}", BIG),
    ("{{ '%*s' % (999999999, 'x') }}", "largeur de format « * » refusée"),
    ("{{ '%0999999999d'|format(1) }}", BIG),
    ("{{ '{:>999999999}'.format('x') }}", BIG),
    ("{{ '{:{w}}'.format('x', w=999999999) }}", "format dynamique refusé"),
    ("{{ 'x'|center(3000000000) }}", BIG),
    ("{{ 'x'.center(3000000000) }}", BIG),
    ("{{ 'x'.ljust(3000000000) }}", BIG),
    ("{{ 'a\tb'.expandtabs(1000000000) }}", BIG),
    ("{{ ('x' * 1000)|replace('', 'y' * 1000000) }}", BIG),
    ("{{ ('x' * 1000).replace('x', 'y' * 100000) }}", BIG),
    ("{{ ('x\n' * 1000)|indent(1000000) }}", BIG),
    ("{{ ('x ' * 100000)|wordwrap(1, wrapstring='y' * 100000) }}", BIG),
    ("{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}", BIG),
    ("{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}", BIG),
    ("{% set ns = namespace(n=2) %}{% for i in range(64) %}{% set ns.n = ns.n * ns.n %}{% endfor %}",
     "nombre trop grand"),
    ("{{ 10 ** 100000000 }}", "puissance trop grande"),
    ("{% for i in range(100000) %}{{ 'y' * 1000000 }}{% endfor %}", "texte produit trop long"),
    ("{% filter upper %}{% for i in range(100000) %}{{ 'y' * 100000 }}{% endfor %}{% endfilter %}",
     "texte produit trop long"),
    (NESTED + "{{ c }}", BIG),
    (NESTED + "{{ c|string|length }}", BIG),
    (NESTED + "{{ '%s' % c }}", BIG),
    (NESTED + "{{ '{}'.format(c) }}", BIG),
    (NESTED + "{{ c ~ '' }}", BIG),
    ("{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}", "imbrication trop profonde"),
    ("{% set l = [] %}{% for i in range(100000) %}{{ l.append('x' * 1000000) }}{% endfor %}", "interdite"),
    ("{{ lipsum(100000) }}", "variable inconnue « lipsum »"),
]


def test_there_are_at_least_twenty_hostile_payloads():
    assert len(HOSTILE) >= 20


@pytest.mark.parametrize("source, reason", HOSTILE)
def test_a_hostile_template_is_refused_at_save_with_a_clear_reason_in_a_second_or_so(source, reason):
    started = time.monotonic()
    problems = t.validate_template(source)
    assert time.monotonic() - started < 3
    assert any(r in p.message for p in problems for r in reason.split("|")), problems


@pytest.mark.parametrize("source, reason", [(s, r) for s, r in HOSTILE if r in (SLOW, BIG)][::3])
def test_a_hostile_template_fails_for_good_at_send_time(source, reason):
    started = time.monotonic()
    with pytest.raises(RenderBudgetExceeded, match=reason) as caught:
        t.render_source(source, sample_context("fr"), seconds=1.0)
    assert time.monotonic() - started < 3
    assert caught.value.permanent


def test_the_budget_changes_nothing_in_the_shipped_templates():
    # The same loader and filters in Jinja's own sandbox: what the shipped templates rendered before the budget.
    plain = {}
    for language in t.LANGUAGES:
        for html in (False, True):
            env = SandboxedEnvironment(loader=FileSystemLoader(t.MESSAGES_DIR / language), undefined=StrictUndefined,
                                       autoescape=html, keep_trailing_newline=False, trim_blocks=True,
                                       lstrip_blocks=True)
            env.filters.update(dict.items(t.environment("html" if html else "text", language).filters))
            plain[html, language] = env
    rendered = 0
    for language in t.LANGUAGES:
        context = {**sample_context(language), "language": language}
        for code in t.list_shipped_codes():
            for part in t.PARTS:
                source = t.shipped_source(code, language, part)
                if source is None:
                    continue
                before = plain[part == "html", language].from_string(source).render(context)
                if part == "subject":
                    expected = " ".join(before.split())
                elif part == "text":
                    expected = t._BLANK_LINES.sub("\n\n", before).strip() + "\n"
                else:
                    expected = before.strip() + "\n"
                assert t.render_source(source, context, part) == expected, (code, language, part)
                rendered += 1
    assert rendered > 50


def test_a_template_saved_before_the_budget_fails_and_the_worker_sends_the_next_message(
        org, customer, make_invoice, tmp_path):
    from relance.channels.delivery import deliver_pending
    from relance.channels.models import MessageTemplate
    from relance.dunning.models import Reminder, ReminderLine
    from relance.ledger.models import Contact, Customer

    # bulk_create: no validation, as for a row written before validate_template refused such loops.
    MessageTemplate.objects.bulk_create([MessageTemplate(
        organisation=org, code="sms_reminder", language="en",
        body_text="{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}Hello",
    )])
    org.sms_url = f"file://{tmp_path}"
    org.save()
    english = Customer.objects.create(organisation=org, external_id="C002", name="Smith Ltd", language="en")
    reminders = []
    for cust, language in ((english, "en"), (customer, "fr")):
        Contact.objects.create(customer=cust, kind="phone", value="06 12 34 56 78", role="billing")
        reminder = Reminder.objects.create(organisation=org, customer=cust, channel="sms", run_date=date(2026, 7, 30),
                                           scenario_code="standard", step_code="sms", template="sms_reminder",
                                           tone="firm", language=language)
        invoice = make_invoice("1200.00", cust=cust)
        ReminderLine.objects.create(reminder=reminder, invoice=invoice, step_code="sms", balance=invoice.open_balance)
        reminders.append(reminder)
    started = time.monotonic()
    stats = deliver_pending(org, now=datetime(2026, 7, 30, 10, 0, tzinfo=ZoneInfo("Europe/Paris")))
    assert time.monotonic() - started < 10
    assert (stats.failed, stats.sent, stats.retrying) == (1, 1, 0)
    hostile, shipped = reminders
    hostile.refresh_from_db()
    shipped.refresh_from_db()
    assert hostile.state == "failed" and hostile.next_attempt_at is None
    assert hostile.error == "modèle refusé : rendu trop long (plus de 2 s)"
    assert shipped.state == "sent"
    assert json.loads((tmp_path / shipped.provider_id).read_text())["text"].startswith("Bonjour")
