from __future__ import annotations

import logging

import pytest

from relance.lib.secrets import RedactingFilter, redact, redact_url


@pytest.mark.parametrize(("url", "shown"), [
    ("smtp://user:s3cret-pw@smtp.example.fr:587?starttls=1", "smtp://user:•••@smtp.example.fr:587?starttls=1"),
    ("smtps://compta%40abc.fr:p%40ss:word@mail.abc.fr:465", "smtps://compta%40abc.fr:•••@mail.abc.fr:465"),
    ("brevo://xkeysib-0123456789abcdef@?sender=ABC", "brevo://•••@?sender=ABC"),
    ("https://sms.example/send?token=T0K3N&to_field=to&api_key=K3Y", "https://sms.example/send?token=•••&to_field=to&api_key=•••"),
    ("imaps://bounces:imap-pw@imap.example.fr/INBOX", "imaps://bounces:•••@imap.example.fr/INBOX"),
    ("file:///var/relance/outbox", "file:///var/relance/outbox"),
    ("console:", "console:"),
    ("", ""),
])
def test_it_masks_the_credentials_of_a_transport_url(url, shown):
    assert redact_url(url) == shown


def test_it_masks_every_url_quoted_in_a_message():
    message = "EMAIL_URL='smtp://user:s3cret-pw@host:25': unknown scheme; SMS_URL=brevo://xkeysib-999@?sender=A"
    assert redact(message) == "EMAIL_URL='smtp://user:•••@host:25': unknown scheme; SMS_URL=brevo://•••@?sender=A"


def test_it_masks_the_secrets_of_given_urls_even_outside_a_url():
    message = "535 authentication failed for password s3cret-pw (decoded: p@ss:word)"
    url = "smtp://user:s3cret-pw@host:25 smtps://u:p%40ss%3Aword@host"
    assert redact(message, url.split()) == "535 authentication failed for password ••• (decoded: •••)"


def test_log_lines_and_tracebacks_are_redacted(caplog):
    logger = logging.getLogger("relance.test_secrets")
    logger.addFilter(RedactingFilter())
    try:
        with caplog.at_level(logging.WARNING, logger="relance.test_secrets"):
            logger.warning("cannot open %s", "smtp://user:s3cret-pw@host:25")
            try:
                raise ValueError("EMAIL_URL='smtps://user:s3cret-pw@host'")
            except ValueError:
                logger.exception("sending")
    finally:
        logger.filters.clear()
    text = caplog.text
    assert "s3cret-pw" not in text
    assert "cannot open smtp://user:•••@host:25" in text and "smtps://user:•••@host" in text
