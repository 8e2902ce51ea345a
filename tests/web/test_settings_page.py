"""The settings page: each form through the actions, owners only (collectors and viewers get 403,
other organisations 404), write-only transport secrets, a real test e-mail over SMTP, and members
(add, invite with a set-password link, change role, remove, the last owner stays)."""

from __future__ import annotations

import email
import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from relance.accounts.models import Membership
from relance.channels.models import OrganisationChannelSettings
from tests.channels.email_support import PASSWORD as SMTP_PASSWORD
from tests.channels.email_support import USER as SMTP_USER
from tests.channels.email_support import (
    free_port,
    smtpd,  # noqa: F401 - a real SMTP server
)

pytestmark = pytest.mark.django_db

URL = "/o/abc/reglages/"
MEMBERS = "/o/abc/reglages/membres/"
SECRET = "Tr0ub4dor-s3cret"
SMTP = f"smtp://compta:{SECRET}@smtp.abc-consulting.fr:587?starttls=1"
SMS = "https://sms.example/send?token=T0K3N-s3cret&to_field=to"


def organisation_data(org, **changes):
    data = {"section": "organisation"}
    for name in ("legal_name", "siren", "siret", "vat_number", "address_line1", "address_line2", "postcode", "city",
                 "country", "sender_email", "phone"):
        data[f"org-{name}"] = getattr(org, name)
    data.update({f"org-{k}": v for k, v in changes.items()})
    return data


def transport_data(**fields):
    data = {"section": "transports", "tr-email_url": "", "tr-email_secret": "", "tr-sms_url": "", "tr-sms_secret": ""}
    data.update({f"tr-{k}": v for k, v in fields.items()})
    return data


@pytest.fixture
def configured(org):
    org.email_url, org.sms_url = SMTP, SMS
    org.save()
    return org


def test_the_owner_sees_every_section_with_labelled_fields(client, alice, org):
    client.force_login(alice)
    response = client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    for section in ("organisation", "bank", "terms", "channels", "transports", "test"):
        assert f'name="section" value="{section}"' in body
    for field_id in ("id_org-legal_name", "id_bank-iban", "id_terms-min_reminder_amount", "id_ch-payment_link_url",
                     "id_tr-email_url", "id_tr-email_secret", "id_test-recipient"):
        assert f'<label for="{field_id}">' in body
    assert "ABC Consulting" in body and "FR1420041010050500013M02606" in body


@pytest.mark.parametrize("who", ["bob", "victor"])
def test_collectors_and_viewers_get_403_on_settings_and_members(client, request, who, org):
    client.force_login(request.getfixturevalue(who))
    assert client.get(URL).status_code == 403
    assert client.post(URL, organisation_data(org, legal_name="Piraté")).status_code == 403
    assert client.get(MEMBERS).status_code == 403
    assert client.post(MEMBERS, {"action": "add", "who": "x@example.com", "role": "owner"}).status_code == 403
    org.refresh_from_db()
    assert org.legal_name == "ABC Consulting"


def test_charlie_gets_404(client, charlie, alice, org):
    client.force_login(charlie)
    assert client.get(URL).status_code == 404
    assert client.post(URL, organisation_data(org, legal_name="Piraté")).status_code == 404
    assert client.get(MEMBERS).status_code == 404
    assert client.post(MEMBERS, {"action": "remove", "member": alice.pk}).status_code == 404
    assert Membership.objects.filter(organisation=org, user=alice).exists()


def test_the_organisation_form_saves_and_validates(client, alice, org):
    client.force_login(alice)
    response = client.post(URL, organisation_data(org, legal_name="ABC Conseil", city="Villeurbanne"))
    assert response.status_code == 302 and response.url == "/o/abc/reglages/#organisation"
    org.refresh_from_db()
    assert (org.legal_name, org.city) == ("ABC Conseil", "Villeurbanne")
    response = client.post(URL, organisation_data(org, siren="123456789"))
    assert response.status_code == 400 and 'id="id_org-siren_error"' in response.content.decode()
    org.refresh_from_db()
    assert org.siren == "732829320"


def test_bank_details_are_checked_as_the_model_does(client, alice, org):
    client.force_login(alice)
    bad = client.post(URL, {"section": "bank", "bank-iban": "FR14 2004 1010 0505 0001 3M02 607",
                            "bank-bic": "PSSTFRPPPAR"})
    assert bad.status_code == 400 and 'id="id_bank-iban_error"' in bad.content.decode()
    good = client.post(URL, {"section": "bank", "bank-iban": "DE89 3704 0044 0532 0130 00", "bank-bic": "COBADEFFXXX"})
    assert good.status_code == 302
    org.refresh_from_db()
    assert (org.iban, org.bic) == ("DE89370400440532013000", "COBADEFFXXX")


def test_the_dunning_terms(client, alice, org):
    client.force_login(alice)
    data = {"section": "terms", "terms-min_reminder_amount": "25,00", "terms-small_amount_threshold": "200",
            "terms-run_hour": "7", "terms-currency": "eur", "terms-time_zone": "Europe/Paris", "terms-language": "fr"}
    assert client.post(URL, data).status_code == 302
    org.refresh_from_db()
    assert (org.min_reminder_amount, org.run_hour, org.currency) == (Decimal("25.00"), 7, "EUR")
    data["terms-time_zone"] = "Mars/Olympus"
    response = client.post(URL, data)
    assert response.status_code == 400 and 'id="id_terms-time_zone_error"' in response.content.decode()


def test_the_message_settings_and_the_payment_link(client, alice, org):
    client.force_login(alice)
    data = {"section": "channels", "ch-sender_name": "Service recouvrement ABC", "ch-notice_days": "15",
            "ch-attach_statement": "always", "ch-payment_link_url": "https://pay.example/?ref={reference}",
            "ch-bcc_address": "", "ch-read_receipt": "on"}
    assert client.post(URL, data).status_code == 302
    prefs = OrganisationChannelSettings.objects.get(organisation=org)
    assert (prefs.sender_name, prefs.notice_days, prefs.read_receipt, prefs.payment_link_url) == (
        "Service recouvrement ABC", 15, True, "https://pay.example/?ref={reference}")
    data["ch-payment_link_url"] = "https://pay.example/?ref={numero}"
    response = client.post(URL, data)
    assert response.status_code == 400 and "champ inconnu {numero}" in response.content.decode()
    prefs.refresh_from_db()
    assert prefs.payment_link_url == "https://pay.example/?ref={reference}"


def test_transport_secrets_never_appear_in_any_response(client, alice, configured):
    client.force_login(alice)
    body = client.get(URL).content.decode()
    assert SECRET not in body and "T0K3N-s3cret" not in body
    assert "smtp://compta:•••@smtp.abc-consulting.fr:587?starttls=1" in body and "token=•••" in body
    # Saved as shown (the masked URLs) with the password fields empty: the stored secrets stay.
    response = client.post(URL, transport_data(email_url="smtp://compta:•••@smtp.abc-consulting.fr:465?starttls=1",
                                               sms_url="https://sms.example/send?token=•••&to_field=to"))
    assert response.status_code == 302
    configured.refresh_from_db()
    assert configured.email_url == f"smtp://compta:{SECRET}@smtp.abc-consulting.fr:465?starttls=1"
    assert configured.sms_url == SMS
    # A refused URL: the error does not quote the new password either.
    response = client.post(URL, transport_data(email_url="smtq://compta:•••@smtp.abc-consulting.fr",
                                               email_secret="N3w-p4ssw0rd", sms_url="https://sms.example/send?token=•••&to_field=to"))
    body = response.content.decode()
    assert response.status_code == 400 and "N3w-p4ssw0rd" not in body and SECRET not in body
    assert "T0K3N-s3cret" not in body
    configured.refresh_from_db()
    assert configured.email_url.startswith("smtp://compta:Tr0ub4dor")
    # A password typed into a refused URL is not sent back either.
    response = client.post(URL, transport_data(email_url="smtq://compta:Typ3d-1n-url@smtp.abc-consulting.fr",
                                               sms_url="https://sms.example/send?token=•••&to_field=to"))
    body = response.content.decode()
    assert response.status_code == 400 and "Typ3d-1n-url" not in body and "smtq://compta:•••@" in body


def test_a_new_password_replaces_the_stored_one_and_empty_urls_go_back_to_the_instance(client, alice, configured):
    client.force_login(alice)
    client.post(URL, transport_data(email_url="smtp://compta:•••@smtp.abc-consulting.fr:587?starttls=1",
                                    email_secret="N3w-p4ss", sms_url=""))
    configured.refresh_from_db()
    assert configured.email_url == "smtp://compta:N3w-p4ss@smtp.abc-consulting.fr:587?starttls=1"
    assert configured.sms_url == ""
    assert "N3w-p4ss" not in client.get(URL).content.decode()


def test_send_a_test_email_through_a_real_smtp_server(client, alice, org, smtpd):  # noqa: F811
    org.email_url = f"smtp://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:{smtpd.port}"
    org.save()
    client.force_login(alice)
    response = client.post(URL, {"section": "test", "test-family": "email", "test-recipient": "moi@abc-consulting.fr"},
                           follow=True)
    assert response.status_code == 200
    body = response.content.decode()
    assert "moi@abc-consulting.fr" in body and SMTP_PASSWORD not in body
    [received] = smtpd.messages
    assert received.rcpt_tos == ["moi@abc-consulting.fr"] and received.authenticated
    message = email.message_from_bytes(received.content)
    assert "test" in str(email.header.make_header(email.header.decode_header(message["Subject"])))
    assert "compta@abc-consulting.fr" in message["From"]


def test_a_failed_test_says_why_without_the_password(client, alice, org):
    org.email_url = f"smtp://{SMTP_USER}:{SECRET}@127.0.0.1:{free_port()}?timeout=5"
    org.save()
    client.force_login(alice)
    response = client.post(URL, {"section": "test", "test-family": "email", "test-recipient": "moi@abc-consulting.fr"})
    body = response.content.decode()
    assert response.status_code == 400 and "connexion impossible" in body and SECRET not in body


def test_send_a_test_sms_to_the_file_transport(client, alice, org, settings, tmp_path):
    org.sms_url = f"file://{tmp_path}"
    org.save()
    client.force_login(alice)
    response = client.post(URL, {"section": "test", "test-family": "sms", "test-recipient": "06 12 34 56 78"})
    assert response.status_code == 302
    written = "".join(p.read_text() for p in tmp_path.rglob("*") if p.is_file())
    assert "+33612345678" in written and "SMS de test" in written
    response = client.post(URL, {"section": "test", "test-family": "sms", "test-recipient": "12"})
    assert response.status_code == 400


def test_members_list_add_change_and_remove(client, alice, bob, org, django_user_model):
    dave = django_user_model.objects.create_user("dave", "dave@example.com", "dave-pw")
    client.force_login(alice)
    body = client.get(MEMBERS).content.decode()
    assert "alice" in body and "bob" in body and f'id="role-{bob.pk}"' in body
    assert client.post(MEMBERS, {"action": "add", "who": "dave@example.com", "role": "viewer"}).status_code == 302
    assert Membership.objects.get(organisation=org, user=dave).role == "viewer"
    assert client.post(MEMBERS, {"action": "role", "member": dave.pk, "role": "collector"}).status_code == 302
    assert Membership.objects.get(organisation=org, user=dave).role == "collector"
    assert client.post(MEMBERS, {"action": "remove", "member": dave.pk}).status_code == 302
    assert not Membership.objects.filter(organisation=org, user=dave).exists()


def test_the_last_owner_cannot_be_removed_or_demoted(client, alice, org):
    client.force_login(alice)
    response = client.post(MEMBERS, {"action": "remove", "member": alice.pk}, follow=True)
    assert "il faut au moins un propriétaire" in response.content.decode()
    response = client.post(MEMBERS, {"action": "role", "member": alice.pk, "role": "viewer"})
    assert response.status_code == 400
    assert Membership.objects.get(organisation=org, user=alice).role == "owner"


def test_a_member_of_another_organisation_cannot_be_touched(client, alice, charlie, org):
    client.force_login(alice)
    assert client.post(MEMBERS, {"action": "role", "member": charlie.pk, "role": "viewer"}).status_code == 404
    assert client.post(MEMBERS, {"action": "remove", "member": charlie.pk}).status_code == 404
    assert Membership.objects.get(user=charlie).role == "owner"


def test_an_invitation_creates_an_inactive_user_and_its_link_sets_the_password(client, alice, org, smtpd):  # noqa: F811
    org.email_url = smtpd.url
    org.save()
    client.force_login(alice)
    response = client.post(MEMBERS, {"action": "add", "who": "eve@example.com", "role": "collector"})
    assert response.status_code == 302
    eve = get_user_model().objects.get(email="eve@example.com")
    assert not eve.is_active and not eve.has_usable_password()
    assert Membership.objects.get(organisation=org, user=eve).role == "collector"
    [received] = smtpd.messages
    text = email.message_from_bytes(received.content).get_payload(decode=True).decode()
    link = re.search(r"http://testserver(/o/abc/invitation/\S+/)", text).group(1)
    client.logout()
    page = client.get(link)
    assert page.status_code == 200 and 'type="password"' in page.content.decode()
    response = client.post(link, {"new_password1": "Un-m0t-de-passe-long", "new_password2": "Un-m0t-de-passe-long"})
    assert response.status_code == 302 and response.url == "/login/"
    eve.refresh_from_db()
    assert eve.is_active and eve.check_password("Un-m0t-de-passe-long")
    assert client.get(link).status_code == 404  # used once only
    response = client.post("/login/", {"username": "eve@example.com", "password": "Un-m0t-de-passe-long"})
    assert response.status_code == 302
    assert client.get("/o/abc/").status_code == 200


def test_an_invitation_link_for_another_organisation_is_refused(client, alice, org, other_org):
    client.force_login(alice)
    client.post(MEMBERS, {"action": "add", "who": "eve@example.com", "role": "viewer"})
    eve = get_user_model().objects.get(email="eve@example.com")
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    uid, token = urlsafe_base64_encode(force_bytes(eve.pk)), default_token_generator.make_token(eve)
    client.logout()
    assert client.get(f"/o/xyz/invitation/{uid}/{token}/").status_code == 404
    assert client.get(f"/o/abc/invitation/{uid}/bad-token/").status_code == 404
    assert client.get(f"/o/abc/invitation/{uid}/{token}/").status_code == 200


def test_the_members_page_costs_a_few_queries(client, alice, org, django_user_model, django_assert_max_num_queries):
    django_user_model.objects.bulk_create(
        [django_user_model(username=f"user{i}", email=f"user{i}@example.com") for i in range(30)])
    users = django_user_model.objects.filter(username__startswith="user")
    Membership.objects.bulk_create([Membership(user=u, organisation=org, role="viewer") for u in users])
    client.force_login(alice)
    with django_assert_max_num_queries(12):
        body = client.get(MEMBERS).content.decode()
    assert "user29" in body


def test_the_new_actions_check_the_role(bob, victor, org):
    from django.core.exceptions import PermissionDenied

    from relance.accounts import actions

    for user in (bob, victor):
        with pytest.raises(PermissionDenied):
            actions.update_channel_settings(org, {"notice_days": 3}, user=user)
        with pytest.raises(PermissionDenied):
            actions.send_test_message(org, "email", "x@example.com", user=user)
        with pytest.raises(PermissionDenied):
            actions.invite_member(org, "x@example.com", "owner", user=user)
    assert not OrganisationChannelSettings.objects.exists()
    assert not get_user_model().objects.filter(email="x@example.com").exists()


def test_an_invitation_is_accepted_once_and_a_member_is_not_invited_twice(alice, bob, org):
    from django.core.exceptions import ValidationError

    from relance.accounts import actions

    with pytest.raises(ValidationError):
        actions.accept_invitation(bob, "whatever-long-pw")  # an active account: no invitation to accept
    with pytest.raises(ValidationError):
        actions.invite_member(org, "bob@abc-consulting.fr", "viewer", user=alice)
    assert Membership.objects.get(organisation=org, user=bob).role == "collector"
    with pytest.raises(ValidationError):
        actions.invite_member(org, "not an address", "viewer", user=alice)
