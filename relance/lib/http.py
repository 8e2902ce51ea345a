"""The only outbound HTTP path (SMS providers, registered-mail providers, webhooks).

urllib.request with a timeout on every call. Failures raise `HttpError`, which each caller
translates into its own error (the SMS backends into DeliveryError): a 4xx answer is permanent
(the request itself is wrong: bad number, bad key, refused content), except 408 and 429 which say
"try later"; 5xx answers and network errors are transient; no answer within the timeout once the
request was sent is transient *and uncertain* (it may have been accepted).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from relance.lib.secrets import redact, redact_url

DEFAULT_TIMEOUT = 10.0
USER_AGENT = "Relance/0.1 (+https://github.com/relance)"
RETRYABLE_4XX = {408, 425, 429}
EXCERPT = 500  # how much of an answer is kept in an error (evidence, not the whole page)


class HttpError(Exception):
    """A request failed. `status`: the HTTP status when an answer came; `permanent`: retrying the
    same request cannot succeed; `uncertain`: the server may have acted on it (no answer came back);
    `response`: the status and an excerpt of the answer, kept as evidence."""

    def __init__(self, message: str, status: int | None = None, permanent: bool = False, uncertain: bool = False,
                 response: str = ""):
        super().__init__(message)
        self.message = message
        self.status = status
        self.permanent = permanent
        self.uncertain = uncertain
        self.response = response


@dataclass
class HttpResponse:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self):
        """The body as JSON; None when it is empty or not JSON (some providers answer 204 or text)."""
        try:
            return json.loads(self.body) if self.body.strip() else None
        except ValueError:
            return None


def request(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None,
            timeout: float = DEFAULT_TIMEOUT) -> HttpResponse:
    """Send one request; a 2xx/3xx answer is returned, anything else raises HttpError."""
    if not url.lower().startswith(("http://", "https://")):
        raise HttpError(f"not an HTTP URL: {redact_url(url)!r}", permanent=True)
    all_headers = {"User-Agent": USER_AGENT, **(headers or {})}
    req = urllib.request.Request(url, data=body, headers=all_headers, method=method.upper())
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - scheme checked above
            return HttpResponse(resp.status, resp.read(), dict(resp.headers.items()))
    except urllib.error.HTTPError as exc:
        answer = exc.read()[:EXCERPT].decode("utf-8", errors="replace")
        permanent = 400 <= exc.code < 500 and exc.code not in RETRYABLE_4XX
        raise HttpError(f"HTTP {exc.code} {exc.reason}: {answer}".strip(), status=exc.code, permanent=permanent,
                        response=f"{exc.code} {answer}")
    except TimeoutError:
        # The request went out and the answer did not come back: the provider may have accepted it.
        # "uncertain" makes the reminder `unknown` (a person decides) rather than risk sending twice.
        raise HttpError(f"no answer within {timeout:g} s from {_host(url)}", permanent=False, uncertain=True)
    except urllib.error.URLError as exc:
        raise HttpError(f"cannot reach {_host(url)}: {redact(str(exc.reason), [url])}", permanent=False)
    except (ConnectionError, OSError) as exc:
        raise HttpError(f"connection to {_host(url)} failed: {redact(str(exc), [url])}", permanent=False)


def post_json(url: str, payload: dict, headers: dict[str, str] | None = None,
              timeout: float = DEFAULT_TIMEOUT) -> HttpResponse:
    """POST a JSON document; see request() for how failures are classified."""
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    all_headers = {"Content-Type": "application/json", "Accept": "application/json", **(headers or {})}
    return request("POST", url, body, all_headers, timeout)


def get_json(url: str, headers: dict[str, str] | None = None, timeout: float = DEFAULT_TIMEOUT) -> HttpResponse:
    return request("GET", url, None, {"Accept": "application/json", **(headers or {})}, timeout)


def _host(url: str) -> str:
    # Never echo a query string: it may hold a token.
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{':' + str(parts.port) if parts.port else ''}"
