"""A generic HTTP JSON SMS provider: the URL, the token and the JSON field names are configuration.

    SMS_URL=https://provider.example/send?token=T&to_field=to&text_field=text&from_field=sender&sender=ABC

Options (removed from the query before the call; any other parameter stays on the provider's URL):
    token          the API token, sent as "Authorization: Bearer <token>" unless one of:
    token_header   send it in this header instead (e.g. X-Api-Key), raw
    token_field    send it in this JSON field instead
    to_field, text_field, from_field   JSON field names (default to, text, from)
    sender         the sender name or number registered with the provider
    number_format  e164 (+33612345678, default) or digits (33612345678)
    id_field       where the provider's message id is in the answer, dotted (default id; a.b.0.c)
    timeout        seconds (default 10)
A user:password in the URL is sent as HTTP Basic authentication.
"""

from __future__ import annotations

import base64
from urllib.parse import unquote, urlencode, urlsplit, urlunsplit

from relance.channels.base import Backend, DeliveryError, Outgoing, Receipt
from relance.channels.registry import ConfigurationError
from relance.channels.sms.backends import delivery_error, option_float, split_options
from relance.lib import http

OPTIONS = {"token", "token_header", "token_field", "to_field", "text_field", "from_field", "sender",
           "number_format", "id_field", "timeout"}


def dig(data, path: str):
    """data["a"]["b"][0]... for a dotted path; None when any step is missing."""
    for key in path.split(".") if path else []:
        if isinstance(data, dict):
            data = data.get(key)
        elif isinstance(data, list) and key.isdigit() and int(key) < len(data):
            data = data[int(key)]
        else:
            return None
    return data


def format_number(e164: str, style: str) -> str:
    return e164.lstrip("+") if style == "digits" else e164


class HttpJsonBackend(Backend):
    kind = "sms"

    def __init__(self, endpoint: str, options: dict[str, str], basic_auth: tuple[str, str] | None = None):
        self.endpoint = endpoint
        self.options = options
        self.basic_auth = basic_auth
        self.timeout = option_float(options, "timeout", http.DEFAULT_TIMEOUT)
        if options.get("number_format", "e164") not in ("e164", "digits"):
            raise ConfigurationError(f"SMS_URL: number_format={options['number_format']!r}; expected e164 or digits")

    @classmethod
    def from_url(cls, url: str) -> HttpJsonBackend:
        parts = urlsplit(url)
        if not parts.hostname:
            raise ConfigurationError(f"SMS_URL: no host in {parts.scheme}:// URL")
        options, rest = split_options(url, OPTIONS)
        netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
        endpoint = urlunsplit((parts.scheme, netloc, parts.path or "/", urlencode(rest), ""))
        auth = (unquote(parts.username), unquote(parts.password or "")) if parts.username else None
        return cls(endpoint, options, auth)

    def headers(self) -> dict[str, str]:
        token = self.options.get("token", "")
        headers = {}
        if token and not self.options.get("token_field"):
            name = self.options.get("token_header")
            headers[name or "Authorization"] = token if name else f"Bearer {token}"
        if self.basic_auth:
            raw = ":".join(self.basic_auth).encode()
            headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
        return headers

    def payload(self, message: Outgoing) -> dict:
        o = self.options
        body = {
            o.get("to_field") or "to": format_number(message.recipient, o.get("number_format", "e164")),
            o.get("text_field") or "text": message.body_text,
        }
        sender = o.get("sender") or message.sender
        if sender:
            body[o.get("from_field") or "from"] = sender
        if o.get("token_field"):
            body[o["token_field"]] = o.get("token", "")
        return body

    def send(self, message: Outgoing) -> Receipt:
        if not message.recipient:
            raise DeliveryError("SMS without a recipient number", permanent=True)
        try:
            response = http.post_json(self.endpoint, self.payload(message), self.headers(), self.timeout)
        except http.HttpError as exc:
            raise delivery_error(exc) from exc
        provider_id = dig(response.json(), self.options.get("id_field") or "id")
        return Receipt(provider_id="" if provider_id is None else str(provider_id),
                       response=f"{response.status} {response.text[:500]}".strip())
