"""E-mail backends (SMTP, file, console) and the MIME message they all carry.

As Django's mail backends: one class per transport, chosen by the scheme of `EMAIL_URL`
(`smtp://`, `smtps://`, `file://`, `console:`) or the organisation's own URL.
"""

from __future__ import annotations

import secrets
from email import encoders
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formataddr, formatdate, getaddresses, parseaddr

from django.core.exceptions import ValidationError

from relance.channels.base import DeliveryError, Outgoing
from relance.ledger.contacts import clean_email

# The legacy (compat32) API, as Django's mail does: the modern EmailMessage re-parses every header
# and costs ~7 ms a message, which caps a worker far below the 200 messages/s we need.
# CRLF line endings, headers folded at 78 characters (RFC 2047 encoded words for accented ones).
WIRE = compat32.clone(linesep="\r\n")
# Quoted-printable keeps accented text readable by any relay, 8BITMIME or not.
UTF8_QP = Charset("utf-8")
UTF8_QP.body_encoding = QP
ADDRESS_HEADERS = {"from", "to", "cc", "reply-to", "disposition-notification-to"}


def _header(name: str, value: str) -> str | Header:
    if "\n" in value or "\r" in value:
        raise DeliveryError(f"en-tête invalide : {name} contient un saut de ligne", permanent=True)
    if name.lower() in ADDRESS_HEADERS:
        # Display names may be accented (RFC 2047); the addresses themselves stay ASCII.
        return ", ".join(formataddr((n, a), charset="utf-8") for n, a in getaddresses([value]))
    return value if value.isascii() else Header(value, "utf-8")


def _attachment(att, inline: bool = False) -> MIMEBase:
    maintype, subtype = att.mimetype.split("/", 1)
    part = MIMEBase(maintype, subtype)
    part.set_payload(att.content)
    encoders.encode_base64(part)
    filename = att.name if att.name.isascii() else ("utf-8", "", att.name)
    part.add_header("Content-Disposition", "inline" if inline else "attachment", filename=filename)
    if inline:
        part.add_header("Content-ID", f"<{att.content_id}>")
    return part


def _multipart(subtype: str, parts: list[Message]) -> MIMEMultipart:
    # "=_" never occurs in quoted-printable or base64 text, so the boundary needs no scan of the
    # parts (the generator would otherwise compile a regular expression per boundary).
    return MIMEMultipart(subtype, boundary=f"=_relance_{secrets.token_hex(12)}", _subparts=parts)


def to_mime(out: Outgoing) -> Message:
    """The MIME message of an Outgoing: text + HTML alternatives, inline images, attachments."""
    text = MIMEText(out.body_text or "", "plain", UTF8_QP)
    inline = [a for a in out.attachments if a.content_id] if out.body_html else []
    files = [a for a in out.attachments if a not in inline]
    body: Message = text
    if out.body_html:
        html: Message = MIMEText(out.body_html, "html", UTF8_QP)
        if inline:
            html = _multipart("related", [html, *(_attachment(a, inline=True) for a in inline)])
        body = _multipart("alternative", [text, html])
    msg = _multipart("mixed", [body, *(_attachment(a) for a in files)]) if files else body
    headers = {"Subject": out.subject, "From": out.sender, "To": out.recipient, "Reply-To": out.reply_to,
               "Date": formatdate(localtime=True), **out.headers}
    for name, value in headers.items():
        if value:
            msg[name] = _header(name, value)
    return msg


def as_bytes(msg: Message) -> bytes:
    return msg.as_bytes(policy=WIRE)


def single_address(value: str, ours: bool = False, bare: bool = False) -> str:
    """The one address of `value` ("addr", or "Name <addr>" as the channel writes it), checked by the
    contacts' own rule (relance.ledger.contacts.clean_email): a comma, a semicolon, a comment, extra
    angle brackets or a control character could add or swap a recipient. `bare`: the address alone,
    as a contact field holds it."""
    text = value.strip()
    name, addr = parseaddr(text)
    try:
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in value) or len(getaddresses([text])) != 1:
            raise ValidationError("not one address")
        if "@" in name or not (text == addr or (not bare and text.endswith(f"<{addr}>"))):
            raise ValidationError("not one address")
        clean_email(addr)
    except ValidationError:
        message = f"adresse de destinataire invalide : {value!r} (une seule adresse par contact)"
        raise DeliveryError(message, permanent=True) if ours else DeliveryError(message, unreachable=True)
    return addr


def envelope(out: Outgoing, return_path: str = "") -> tuple[str, list[str]]:
    """MAIL FROM and RCPT TO: the recipient first, then the blind copies (never in the headers)."""
    sender = return_path or parseaddr(out.sender)[1]
    recipients = [single_address(out.recipient), *(single_address(b, ours=True) for b in out.bcc)]
    for addr in (sender, *recipients):
        if not addr.isascii():
            # Without SMTPUTF8 an address must be ASCII; the contact needs fixing, retrying won't help.
            raise DeliveryError(f"adresse non ASCII : {addr!r}", permanent=True)
    return sender, recipients


def message_id(out: Outgoing) -> str:
    return out.headers.get("Message-ID", "")
