"""Brevo (ex-Sendinblue) transactional SMS: POST https://api.brevo.com/v3/transactionalSMS/send.

    SMS_URL=brevo://API_KEY@?sender=ABCConsult[&tag=relance][&type=transactional]

Request (developers.brevo.com, "Send SMS message to a mobile number"): headers `api-key`,
`accept: application/json`, `content-type: application/json`; JSON body `sender` (at most 11
alphanumeric or 15 digits), `recipient` (the mobile number with its country code, digits only),
`content`, `type` ("transactional"), `tag`, `unicodeEnabled` (true when the text is not GSM-7).
Answer 201 `{"messageId": 1511882900176220}` (the former /sms endpoint also gave `reference`,
`smsCount`, `usedCredits`, `remainingCredits`); errors `{"code": "...", "message": "..."}`.
A host in the URL replaces api.brevo.com (a sandbox or a local test server, `tls=0` for http).
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from relance.channels.base import Backend, DeliveryError, Outgoing, Receipt
from relance.channels.registry import ConfigurationError
from relance.channels.sms.backends import delivery_error, option_float, split_options
from relance.channels.sms.segments import UCS2, count
from relance.lib import http

API_HOST = "api.brevo.com"
PATH = "/v3/transactionalSMS/send"
OPTIONS = {"sender", "tag", "type", "tls", "timeout", "web_url"}
_SENDER = re.compile(r"^(?:[A-Za-z0-9 ]{1,11}|\+?\d{1,15})$")


class BrevoBackend(Backend):
    kind = "sms"

    def __init__(self, api_key: str, sender: str, endpoint: str, options: dict[str, str]):
        self.api_key = api_key
        self.sender = sender
        self.endpoint = endpoint
        self.options = options
        self.timeout = option_float(options, "timeout", http.DEFAULT_TIMEOUT)

    @classmethod
    def from_url(cls, url: str) -> BrevoBackend:
        parts = urlsplit(url)
        api_key = unquote(parts.username or "")
        if not api_key:
            raise ConfigurationError("SMS_URL=brevo://API_KEY@?sender=NAME: the API key is missing")
        options, _ = split_options(url, OPTIONS)
        sender = options.get("sender", "")
        if not _SENDER.match(sender):
            raise ConfigurationError(
                f"SMS_URL: sender={sender!r}: Brevo needs a sender of at most 11 letters/digits or 15 digits"
            )
        if options.get("type", "transactional") not in ("transactional", "marketing"):
            raise ConfigurationError(f"SMS_URL: type={options['type']!r}; expected transactional or marketing")
        host = parts.hostname or API_HOST
        scheme = "http" if options.get("tls") == "0" else "https"
        endpoint = f"{scheme}://{host}{':' + str(parts.port) if parts.port else ''}{PATH}"
        return cls(api_key, sender, endpoint, options)

    def payload(self, message: Outgoing) -> dict:
        body = {
            "sender": self.sender,
            "recipient": message.recipient.lstrip("+"),
            "content": message.body_text,
            "type": self.options.get("type", "transactional"),
            "tag": self.options.get("tag", "relance"),
            "unicodeEnabled": count(message.body_text).encoding == UCS2,
        }
        if self.options.get("web_url"):
            body["webUrl"] = self.options["web_url"]
        return body

    def send(self, message: Outgoing) -> Receipt:
        if not message.recipient:
            raise DeliveryError("SMS without a recipient number", permanent=True)
        headers = {"api-key": self.api_key, "accept": "application/json", "content-type": "application/json"}
        try:
            response = http.post_json(self.endpoint, self.payload(message), headers, self.timeout)
        except http.HttpError as exc:
            raise delivery_error(exc) from exc
        data = response.json() or {}
        message_id = data.get("messageId") if isinstance(data, dict) else None
        if message_id in (None, ""):
            # Accepted without an id: we cannot prove what happened, so it is not a clean success.
            raise DeliveryError(f"Brevo answered {response.status} without messageId: {response.text[:200]}",
                                permanent=False, response=response.text[:500])
        return Receipt(provider_id=str(message_id), response=f"{response.status} {response.text[:500]}")
