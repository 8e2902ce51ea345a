"""Transport passwords and tokens are write-only: no page, error message or stored error shows them."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from relance.accounts.actions import set_transport
from relance.channels.delivery import deliver_pending
from relance.channels.email.backends.smtp import parse_url
from relance.channels.registry import get_backend
from tests.channels.email_support import make_reminder
from tests.web.admin_support import change_url

pytestmark = pytest.mark.django_db

PASSWORD = "Tr0ub4dor-s3cret"
SMTP = f"smtp://compta:{PASSWORD}@smtp.abc-consulting.fr:587?starttls=1"
SMS = "https://sms.example/send?token=T0K3N-s3cret&to_field=to"


@pytest.fixture
def configured(org):
    org.email_url, org.sms_url = SMTP, SMS
    org.save()
    return org


def _form(org, **changes) -> dict[str, str]:
    """The organisation change form as the browser posts it, no membership inline rows."""
    data = {
        "slug": org.slug, "legal_name": org.legal_name, "siren": org.siren, "iban": org.iban, "bic": org.bic,
        "country": org.country, "currency": org.currency, "time_zone": org.time_zone, "language": org.language,
        "min_reminder_amount": "10.00", "small_amount_threshold": "150.00", "run_hour": "9",
        "email_url": "", "sms_url": "",
        "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0",
    }
    data.update(changes)
    return data


def test_the_admin_page_shows_the_transports_masked_and_never_their_secrets(client, root, configured):
    client.force_login(root)
    for url in (change_url(configured), "/admin/accounts/organisation/"):
        body = client.get(url).content.decode()
        assert PASSWORD not in body and "T0K3N-s3cret" not in body
    body = client.get(change_url(configured)).content.decode()
    assert "smtp://compta:•••@smtp.abc-consulting.fr:587?starttls=1" in body
    assert "token=•••" in body


def test_an_empty_transport_field_keeps_the_stored_url(client, root, configured):
    client.force_login(root)
    response = client.post(change_url(configured), _form(configured, phone="04 72 00 00 00"))
    assert response.status_code == 302
    configured.refresh_from_db()
    assert (configured.email_url, configured.sms_url, configured.phone) == (SMTP, SMS, "04 72 00 00 00")


def test_a_typed_transport_replaces_it_and_clear_goes_back_to_the_instance(client, root, configured):
    client.force_login(root)
    other = "smtps://compta:n0uveau-pw@mail.abc-consulting.fr:465"
    response = client.post(change_url(configured), _form(configured, email_url=other, sms_url_clear="on"))
    assert response.status_code == 302
    configured.refresh_from_db()
    assert (configured.email_url, configured.sms_url) == (other, "")


def test_a_bad_transport_is_refused_without_echoing_its_password(client, root, configured):
    client.force_login(root)
    response = client.post(change_url(configured), _form(configured, email_url=f"ftp://compta:{PASSWORD}@host"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "unknown scheme" in body and PASSWORD not in body
    configured.refresh_from_db()
    assert configured.email_url == SMTP


@pytest.mark.parametrize("url", [f"ftp://compta:{PASSWORD}@host", f"smtp://compta:{PASSWORD}@"])
def test_configuration_errors_do_not_quote_the_password(url):
    with pytest.raises(ValueError) as error:
        get_backend("email", url)
    assert PASSWORD not in str(error.value)
    assert "compta:•••@" in str(error.value)


def test_the_smtp_url_parser_masks_the_password_in_its_errors():
    with pytest.raises(ValueError) as error:
        parse_url(f"smtp://compta:{PASSWORD}@")
    assert str(error.value) == "EMAIL_URL='smtp://compta:•••@': no host"


def test_set_transport_refuses_a_bad_url_without_its_password(org):
    with pytest.raises(ValidationError) as error:
        set_transport(org, "email", f"ftp://compta:{PASSWORD}@host")
    assert PASSWORD not in str(error.value)


def test_a_reminder_failing_on_a_bad_transport_stores_no_password(org, customer, make_invoice):
    org.email_url = f"ftp://compta:{PASSWORD}@smtp.abc-consulting.fr"
    org.save()
    reminder = make_reminder(org, customer, [make_invoice()])
    deliver_pending(org)
    reminder.refresh_from_db()
    assert "configuration email" in reminder.error
    assert PASSWORD not in reminder.error and PASSWORD not in reminder.provider_response
