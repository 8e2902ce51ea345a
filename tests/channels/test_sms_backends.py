"""SMS backends against a real local HTTP server (a thread on a free port that records requests)."""

from __future__ import annotations

import io
import json
import socket

import pytest

from relance.channels.base import DeliveryError, Outgoing
from relance.channels.registry import ConfigurationError, get_backend
from tests.channels.sms_support import sms_server  # noqa: F401 - the `server` fixture


def sms(text="Bonjour, relance facture F1 de 1 500,00 €.", to="+33612345678") -> Outgoing:
    return Outgoing(channel="sms", recipient=to, body_text=text)


def test_the_generic_backend_posts_the_configured_json_fields_with_the_token(server):
    url = (f"http://{server.base}/send?token=s3cret&to_field=to&text_field=text&from_field=sender"
           f"&sender=ABC&account=42")
    receipt = get_backend("sms", url).send(sms())
    [req] = server.requests
    assert req["path"] == "/send?account=42"  # our options are not sent to the provider
    assert req["headers"]["authorization"] == "Bearer s3cret"
    assert req["headers"]["content-type"] == "application/json"
    assert req["body"] == {"to": "+33612345678", "text": "Bonjour, relance facture F1 de 1 500,00 €.",
                           "sender": "ABC"}
    assert receipt.provider_id == "msg-1"
    assert receipt.response.startswith("200")


def test_the_generic_backend_can_put_the_token_in_a_header_or_a_field_and_read_a_nested_id(server):
    server.answer = (201, {"messages": [{"message_id": "abc-7"}]})
    url = (f"http://{server.base}/v1/sms?token=k&token_header=X-Api-Key&to_field=msisdn&text_field=message"
           f"&number_format=digits&id_field=messages.0.message_id")
    receipt = get_backend("sms", url).send(sms())
    req = server.requests[-1]
    assert req["headers"]["x-api-key"] == "k"
    assert "authorization" not in req["headers"]
    assert req["body"] == {"msisdn": "33612345678", "message": "Bonjour, relance facture F1 de 1 500,00 €."}
    assert receipt.provider_id == "abc-7"

    get_backend("sms", f"http://{server.base}/sms?token=k&token_field=api_key").send(sms())
    assert server.requests[-1]["body"]["api_key"] == "k"


def test_a_4xx_answer_is_a_permanent_failure_with_the_provider_text(server):
    server.answer = (400, {"error": "invalid number"})
    with pytest.raises(DeliveryError) as info:
        get_backend("sms", f"http://{server.base}/send?token=t").send(sms())
    assert info.value.permanent
    assert "invalid number" in info.value.message


def test_a_429_or_a_5xx_answer_is_transient(server):
    for status in (429, 500, 503):
        server.answer = (status, {"error": "busy"})
        with pytest.raises(DeliveryError) as info:
            get_backend("sms", f"http://{server.base}/send").send(sms())
        assert not info.value.permanent, status


def test_a_provider_that_never_answers_is_an_uncertain_timeout_never_retried_blindly():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts the connection in its backlog, never answers
    port = listener.getsockname()[1]
    try:
        with pytest.raises(DeliveryError, match="no answer within 0.2 s") as info:
            get_backend("sms", f"http://127.0.0.1:{port}/send?token=secret&timeout=0.2").send(sms())
        assert not info.value.permanent
        assert info.value.uncertain  # it may have gone out: the reminder becomes "unknown"
        assert "secret" not in info.value.message
    finally:
        listener.close()


def test_a_closed_port_is_a_transient_failure():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with pytest.raises(DeliveryError) as info:
        get_backend("sms", f"http://127.0.0.1:{port}/send").send(sms())
    assert not info.value.permanent


def test_brevo_gets_its_documented_request(server):
    server.answer = (201, {"messageId": 1511882900176220})
    backend = get_backend("sms", f"brevo://xkeysib-123@{server.base}?sender=ABCConsult&tls=0")
    receipt = backend.send(sms("Relance facture F1 : êtes-vous disponible ?"))
    [req] = server.requests
    assert req["path"] == "/v3/transactionalSMS/send"
    assert req["headers"]["api-key"] == "xkeysib-123"
    assert req["headers"]["accept"] == "application/json"
    assert req["body"] == {
        "sender": "ABCConsult", "recipient": "33612345678",
        "content": "Relance facture F1 : êtes-vous disponible ?",
        "type": "transactional", "tag": "relance", "unicodeEnabled": True,
    }
    assert receipt.provider_id == "1511882900176220"


def test_brevo_flags_unicode_only_when_the_text_is_not_gsm7(server):
    server.answer = (201, {"messageId": 5})
    get_backend("sms", f"brevo://k@{server.base}?sender=ABC&tls=0").send(sms("Réglé à l'échéance"))
    assert server.requests[-1]["body"]["unicodeEnabled"] is False


def test_brevo_errors_are_classified(server):
    backend = get_backend("sms", f"brevo://k@{server.base}?sender=ABC&tls=0")
    server.answer = (400, {"code": "invalid_parameter", "message": "recipient is invalid"})
    with pytest.raises(DeliveryError, match="recipient is invalid") as info:
        backend.send(sms())
    assert info.value.permanent
    server.answer = (502, b"Bad gateway")
    with pytest.raises(DeliveryError) as info:
        backend.send(sms())
    assert not info.value.permanent
    server.answer = (201, {})
    with pytest.raises(DeliveryError, match="without messageId"):
        backend.send(sms())


def test_brevo_defaults_to_the_real_api_and_checks_its_configuration():
    backend = get_backend("sms", "brevo://xkeysib-abc@?sender=ABC")
    assert backend.endpoint == "https://api.brevo.com/v3/transactionalSMS/send"
    with pytest.raises(ConfigurationError, match="API key"):
        get_backend("sms", "brevo://?sender=ABC")
    with pytest.raises(ConfigurationError, match="sender"):
        get_backend("sms", "brevo://k@?sender=MuchTooLongSender")


def test_the_file_backend_writes_one_json_file_per_sms(tmp_path):
    receipt = get_backend("sms", f"file://{tmp_path}").send(sms())
    record = json.loads((tmp_path / receipt.provider_id).read_text())
    assert record["to"] == "+33612345678"
    assert record["text"] == "Bonjour, relance facture F1 de 1 500,00 €."
    assert (record["encoding"], record["segments"]) == ("GSM-7", 1)


def test_the_console_backend_prints_the_sms():
    backend = get_backend("sms", "console:")
    backend.stream = io.StringIO()
    receipt = backend.send(sms())
    assert "SMS to +33612345678 (1 x GSM-7)" in backend.stream.getvalue()
    assert receipt.provider_id.startswith("console-")


def test_an_unknown_scheme_is_refused_with_the_setting_name():
    with pytest.raises(ConfigurationError, match="SMS_URL"):
        get_backend("sms", "ovh://x")
