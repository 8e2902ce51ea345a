"""The templates page: shipped texts and the organisation's copies, the editor with its live preview
(the sender's renderer, for a chosen customer), validation at save, reset; the settings role only."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from relance.channels import template_actions as actions
from relance.channels import templates as tpl
from relance.channels.delivery import deliver_pending
from relance.channels.models import MessageTemplate
from relance.ledger.models import Customer
from tests.channels.email_support import make_reminder

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 7, 10, 8, 0, tzinfo=UTC)
EDIT = "/o/abc/modeles/first_reminder/fr/"
PREVIEW = EDIT + "apercu/"
DRAFT = {
    "subject": "Facture {{ invoices[0].number }} : {{ total_due|money }}",
    "body_text": "{{ salutation }}\n\n{% for inv in invoices %}- {{ inv.number }} échue le {{ inv.due_date|date }} : "
                 "{{ inv.balance|money }}\n{% endfor %}\nTotal : {{ total_due|money }}\n{{ collector.name }}",
    "body_html": "<p>{{ salutation }}</p><p>Total : <strong>{{ total_due|money }}</strong></p>",
}
LOOP = "{% for i in range(100000) %}{% for j in range(100000) %}{{ '' }}{% endfor %}{% endfor %}"
HUGE = "{{ 'a' * 3000000000 }}"


def _unescape(html: str) -> str:
    return html.replace("&#x27;", "'").replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">") \
        .replace("&amp;", "&")


# --- list ---------------------------------------------------------------------------------------


def test_the_list_shows_every_shipped_template_per_language_and_the_edited_ones(client, alice, org,
                                                                             django_assert_max_num_queries):
    actions.save_template(org, "first_reminder", "fr", user=alice, **DRAFT)
    client.force_login(alice)
    with django_assert_max_num_queries(12):
        html = client.get("/o/abc/modeles/").content.decode()
    for code in tpl.list_shipped_codes():
        assert f"/o/abc/modeles/{code}/fr/" in html and f"/o/abc/modeles/{code}/en/" in html
    row = re.search(r"<tr>\s*<td><code>first_reminder</code></td>\s*<td>FR</td>.*?</tr>", html, re.S).group(0)
    assert "modifié" in row and "alice" in row
    other = re.search(r"<tr>\s*<td><code>first_reminder</code></td>\s*<td>EN</td>.*?</tr>", html, re.S).group(0)
    assert "d'origine" in _unescape(other)
    assert 'class="table-wrap"' in html


def test_another_organisation_sees_nothing_of_it(client, charlie, alice, org):
    actions.save_template(org, "first_reminder", "fr", user=alice, **DRAFT)
    client.force_login(charlie)
    assert client.get("/o/abc/modeles/").status_code == 404
    assert client.get(EDIT).status_code == 404
    assert client.post(PREVIEW, DRAFT).status_code == 404
    client.force_login(charlie)
    html = client.get("/o/xyz/modeles/first_reminder/fr/").content.decode()
    assert "Facture {{ invoices[0].number }}" not in _unescape(html)  # xyz edits the shipped text


def test_an_unknown_template_or_language_is_a_404(client, alice):
    client.force_login(alice)
    assert client.get("/o/abc/modeles/nope/fr/").status_code == 404
    assert client.get("/o/abc/modeles/first_reminder/de/").status_code == 404


# --- editor -------------------------------------------------------------------------------------


def test_the_editor_shows_the_shipped_text_the_variables_and_a_live_preview(client, alice, customer):
    client.force_login(alice)
    html = client.get(EDIT).content.decode()
    assert _unescape(tpl.shipped_source("first_reminder", "fr", "text")).strip()[:60] in _unescape(html)
    assert 'hx-post="/o/abc/modeles/first_reminder/fr/apercu/"' in html
    assert "input delay:600ms" in html
    assert "<code>total_due</code>" in html and "<code>invoices</code>" in html
    assert '<label for="id_body_text">Texte</label>' in html and '<label for="preview-customer">' in html
    assert f'<option value="{customer.external_id}">' in html


def test_a_viewer_reads_the_editor_without_a_save_button(client, victor):
    client.force_login(victor)
    html = client.get(EDIT).content.decode()
    assert "readonly" in html and ">Enregistrer<" not in html


# --- saving: owner OK, collector 403, viewer 403, charlie 404 ----------------------------------


def test_the_owner_saves_a_copy_used_from_now_on_and_resets_it(client, alice, org):
    client.force_login(alice)
    response = client.post(EDIT, DRAFT)
    assert response.status_code == 302
    edited = MessageTemplate.objects.get(organisation=org, code="first_reminder", language="fr")
    assert (edited.subject, edited.channel, edited.updated_by) == (DRAFT["subject"], "email", alice)
    assert "La version de votre organisation" in client.get(EDIT).content.decode()
    assert client.post(EDIT + "reinitialiser/").status_code == 302
    assert not MessageTemplate.objects.filter(organisation=org).exists()


@pytest.mark.parametrize("who, status", [("bob", 403), ("victor", 403), ("charlie", 404)])
def test_only_the_settings_role_saves_or_resets(client, request, alice, org, who, status):
    actions.save_template(org, "first_reminder", "fr", user=alice, **DRAFT)
    client.force_login(request.getfixturevalue(who))
    assert client.post(EDIT, {**DRAFT, "subject": "Piraté"}).status_code == status
    assert client.post(EDIT + "reinitialiser/").status_code == status
    assert MessageTemplate.objects.get(organisation=org).subject == DRAFT["subject"]


def test_the_actions_check_the_role_themselves(org, bob, victor):
    for user in (bob, victor):
        with pytest.raises(PermissionDenied):
            actions.save_template(org, "first_reminder", "fr", user=user, **DRAFT)
        with pytest.raises(PermissionDenied):
            actions.reset_template(org, "first_reminder", "fr", user=user)


def test_a_bad_template_is_refused_at_save_with_its_line(client, alice, org):
    client.force_login(alice)
    response = client.post(EDIT, {**DRAFT, "body_text": "Bonjour\n{{ total_du|money }}\n{% if %}"})
    assert response.status_code == 400
    html = _unescape(response.content.decode())
    assert "Le modèle n'a pas été enregistré" in html
    assert "ligne 3 : erreur de syntaxe" in html
    assert "{{ total_du|money }}" in html  # the draft is kept in the form
    response = client.post(EDIT, {**DRAFT, "subject": "", "body_text": "Bonjour {{ client }}"})
    html = _unescape(response.content.decode())
    assert "ligne 1 : variable inconnue « client »" in html and "un e-mail a besoin d'un objet" in html
    assert not MessageTemplate.objects.filter(organisation=org).exists()


@pytest.mark.parametrize("hostile, reason", [(LOOP, "rendu trop long"), (HUGE, "au-delà de la limite")])
def test_a_hostile_template_is_refused_at_save(client, alice, org, hostile, reason):
    client.force_login(alice)
    started = time.monotonic()
    response = client.post(EDIT, {**DRAFT, "body_text": hostile})
    assert time.monotonic() - started < 5
    assert response.status_code == 400
    assert reason in response.content.decode()
    assert not MessageTemplate.objects.filter(organisation=org).exists()
    with pytest.raises(ValidationError, match=reason):
        actions.save_template(org, "first_reminder", "fr", user=alice, **{**DRAFT, "body_html": hostile})


# --- preview ------------------------------------------------------------------------------------


def test_the_preview_is_what_the_sender_sends_to_that_customer(client, alice, org, customer, make_invoice, tmp_path):
    org.email_url = f"file://{tmp_path}"
    org.save()
    invoices = [make_invoice(total="1500.00", number="F-77"), make_invoice(total="80.00", number="F-78")]
    client.force_login(alice)
    with time_machine.travel(NOW, tick=False):
        response = client.post(PREVIEW, {**DRAFT, "customer": customer.external_id})
        html = _unescape(response.content.decode())
        actions.save_template(org, "first_reminder", "fr", user=alice, **DRAFT)
        reminder = make_reminder(org, customer, invoices)
        assert deliver_pending(now=NOW).sent == 1
        token = re.search(r'src="/o/abc/modeles/apercu/([^/"]+)/"', html).group(1)
        frame = client.get(f"/o/abc/modeles/apercu/{token}/")
    reminder.refresh_from_db()
    assert reminder.state == "sent"
    assert response.status_code == 200
    assert "Rendu pour Dupont SARL (C001)" in html
    assert f'<span class="preview-subject">{reminder.subject}</span>' in html
    assert reminder.subject == "Facture F-77 : 1 580,00 €"
    assert f'<pre class="message preview-text">{reminder.body_text}</pre>' in html
    assert "- F-78 échue le 30/06/2026 : 80,00 €" in reminder.body_text
    assert frame.content.decode() == reminder.body_html


def test_the_preview_of_a_saved_copy_matches_the_engine_preview(client, alice, org, customer, make_invoice):
    make_invoice(total="1500.00", number="F-77")
    actions.save_template(org, "firm_reminder", "fr", user=alice, subject="Relance {{ reference }}",
                          body_text="{{ salutation }} {{ total_due|money }} {{ overdue_invoices|length }}")
    client.force_login(alice)
    expected = tpl.preview(org, customer, "firm_reminder", "fr")
    html = _unescape(client.post("/o/abc/modeles/firm_reminder/fr/apercu/", {
        "subject": "Relance {{ reference }}", "customer": "C001",
        "body_text": "{{ salutation }} {{ total_due|money }} {{ overdue_invoices|length }}"}).content.decode())
    assert f'<span class="preview-subject">{expected.subject}</span>' in html
    assert f'<pre class="message preview-text">{expected.text}</pre>' in html


def test_without_a_customer_the_preview_uses_the_sample_data(client, victor):
    client.force_login(victor)  # looking is not editing: any member may preview
    html = _unescape(client.post(PREVIEW, {**DRAFT, "customer": ""}).content.decode())
    assert "Rendu avec des données d'exemple" in html
    assert "Facture F2026-0042 : 1 500,00 €" in html


def test_another_organisations_customer_is_not_found_for_the_preview(client, alice, other_org):
    Customer.objects.create(organisation=other_org, external_id="X9", name="Secret SA")
    client.force_login(alice)
    html = _unescape(client.post(PREVIEW, {**DRAFT, "customer": "X9"}).content.decode())
    assert "Aucun client avec le code « X9 »" in html and "Secret SA" not in html


@pytest.mark.parametrize("hostile, reason", [(LOOP, "rendu trop long"), (HUGE, "au-delà de la limite")])
def test_a_hostile_template_gets_a_clear_error_in_the_preview_quickly(client, alice, customer, hostile, reason):
    client.force_login(alice)
    started = time.monotonic()
    response = client.post(PREVIEW, {**DRAFT, "body_text": hostile, "customer": "C001"})
    elapsed = time.monotonic() - started
    html = response.content.decode()
    assert response.status_code == 200
    assert elapsed < 3, elapsed
    assert "Ce modèle serait refusé" in html and reason in html
    assert "Texte — " in html
    assert "preview-text" not in html


def test_a_template_failing_only_on_the_customer_data_shows_the_error(client, alice, customer, make_invoice):
    make_invoice(total="1500.00", number="F-77")
    client.force_login(alice)
    html = _unescape(client.post(PREVIEW, {**DRAFT, "customer": "C001",
                                           "body_text": "{{ invoices[1].number }}"}).content.decode())
    assert "Ce modèle serait refusé" in html and "Texte — " in html


def test_the_html_frame_is_sandboxed_and_only_for_its_session_and_organisation(client, alice, bob, customer):
    client.force_login(alice)
    html = client.post(PREVIEW, DRAFT).content.decode()
    url = re.search(r'src="(/o/abc/modeles/apercu/[^"]+)"', html).group(1)
    assert 'iframe class="preview-html" sandbox' in html
    frame = client.get(url)
    assert frame.status_code == 200
    policy = frame["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "sandbox" in policy and "script-src" not in policy
    assert frame["X-Frame-Options"] == "SAMEORIGIN"
    client.force_login(bob)  # another session
    assert client.get(url).status_code == 404
