"""The development backends: .eml files in a folder, and the console."""

from __future__ import annotations

import email
import io
from email.policy import default as default_policy

import pytest

from relance.channels.base import Attachment, DeliveryError, Outgoing
from relance.channels.email.backends.console import ConsoleBackend
from relance.channels.email.backends.file import FileBackend
from relance.channels.registry import get_backend


def outgoing(**fields) -> Outgoing:
    values = {
        "channel": "email", "recipient": "Marie Dupont <compta@dupont.fr>", "subject": "Relance – facture F1",
        "body_text": "Bonjour,\nmerci de régler 1 500,00 €.\n", "body_html": "<p>Bonjour, <b>1 500,00 €</b></p>",
        "attachments": [Attachment("Facture-F1.pdf", b"%PDF-1.4 fake but bytes")],
        "headers": {"Message-ID": "<relance.1.ab@abc-consulting.fr>"},
        "sender": "ABC Consulting <compta@abc-consulting.fr>", "reply_to": "bob@abc-consulting.fr",
        "bcc": ["archive@abc-consulting.fr"],
    }
    return Outgoing(**{**values, **fields})


def test_the_file_backend_writes_an_eml_file_a_mail_client_can_open(tmp_path):
    backend = get_backend("email", f"file://{tmp_path}/outbox")
    assert isinstance(backend, FileBackend)

    receipt = backend.send(outgoing())

    [path] = list((tmp_path / "outbox").glob("*.eml"))
    assert receipt.provider_id == path.name and receipt.message_id == "<relance.1.ab@abc-consulting.fr>"
    assert path.name.endswith("relance.1.ab_abc-consulting.fr.eml")
    msg = email.message_from_bytes(path.read_bytes(), policy=default_policy)
    assert msg["Subject"] == "Relance – facture F1"
    assert msg["To"] == "Marie Dupont <compta@dupont.fr>" and msg["Reply-To"] == "bob@abc-consulting.fr"
    assert "Bcc" not in msg
    assert "1 500,00 €" in msg.get_body(("plain",)).get_content()
    assert "<b>1 500,00 €</b>" in msg.get_body(("html",)).get_content()
    [att] = list(msg.iter_attachments())
    assert (att.get_filename(), att.get_content()) == ("Facture-F1.pdf", b"%PDF-1.4 fake but bytes")


def test_accented_names_are_encoded_and_read_back(tmp_path):
    FileBackend(tmp_path).send(outgoing(sender="Société Générale Éts <compta@sg.fr>",
                                        recipient="Hélène Müller <h@dupont.fr>", subject="Échéance dépassée"))
    [path] = list(tmp_path.glob("*.eml"))
    raw = path.read_bytes()
    assert raw.isascii()
    msg = email.message_from_bytes(raw, policy=default_policy)
    assert msg["From"] == "Société Générale Éts <compta@sg.fr>"
    assert msg["To"] == "Hélène Müller <h@dupont.fr>"
    assert msg["Subject"] == "Échéance dépassée"


def test_the_file_backend_refuses_a_broken_address_as_smtp_would(tmp_path):
    with pytest.raises(DeliveryError) as caught:
        FileBackend(tmp_path).send(outgoing(recipient="not an address"))
    assert caught.value.permanent


def test_a_header_cannot_be_injected(tmp_path):
    with pytest.raises(DeliveryError) as caught:
        FileBackend(tmp_path).send(outgoing(headers={"X-Test": "a\r\nBcc: victim@example.com"}))
    assert caught.value.permanent


def test_the_console_backend_prints_the_message():
    stream = io.StringIO()
    receipt = ConsoleBackend(stream).send(outgoing(attachments=[]))
    assert receipt.response == "console"
    printed = stream.getvalue()
    assert "\nSubject: =?utf-8?" in printed  # the dash makes it RFC 2047
    assert "Message-ID: <relance.1.ab@abc-consulting.fr>\n" in printed


def test_an_unknown_scheme_is_named():
    with pytest.raises(ValueError, match="unknown scheme 'ftp'"):
        get_backend("email", "ftp://example.com")
