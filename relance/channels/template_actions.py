"""The writes of the template editor: an organisation's own copy of a shipped message template.

`MessageTemplate.save()` validates every part (`templates.validate_template`: syntax, unknown
variables, and a budgeted render of the sample context), so a broken or hostile template is refused
here with its reasons, before it can reach a customer.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from relance.accounts.permissions import SETTINGS, require
from relance.audit import log as audit_log
from relance.channels.models import MessageTemplate, TemplateChannel
from relance.channels.templates import LANGUAGES, list_shipped_codes

# The channel each shipped template is written for (the others are e-mails).
SHIPPED_CHANNELS = {"sms_reminder": TemplateChannel.SMS, "call_script": TemplateChannel.CALL,
                    "formal_notice": TemplateChannel.LETTER}


def channel_of(code: str) -> str:
    return SHIPPED_CHANNELS.get(code, TemplateChannel.EMAIL)


def _check_key(code: str, language: str) -> None:
    if code not in list_shipped_codes():
        raise ValidationError({"code": [f"modèle inconnu « {code} »"]})
    if language not in LANGUAGES:
        raise ValidationError({"language": [f"langue inconnue « {language} »"]})


@transaction.atomic
def save_template(org, code: str, language: str, *, user, subject: str = "", body_text: str = "",
                  body_html: str = "") -> MessageTemplate:
    """Create or replace the organisation's copy of template `code` in `language` (ValidationError
    with the problems of each part, line by line, when a part is refused)."""
    require(user, org, SETTINGS)
    _check_key(code, language)
    if not (body_text or "").strip():
        raise ValidationError({"body_text": ["le texte du message ne peut pas être vide"]})
    edited = MessageTemplate.objects.filter(organisation=org, code=code, language=language).first()
    edited = edited or MessageTemplate(organisation=org, code=code, language=language)
    edited.channel = channel_of(code)
    edited.subject, edited.body_text, edited.body_html = subject or "", body_text, body_html or ""
    edited.updated_by = user
    edited.save()  # validates (MessageTemplate.clean)
    audit_log.record("template.saved", edited, user, {"code": code, "language": language, "subject": edited.subject,
                                                       "body_text": body_text, "body_html": edited.body_html},
                     org=org, label=f"{code}/{language}")
    return edited


@transaction.atomic
def reset_template(org, code: str, language: str, *, user) -> bool:
    """Back to the shipped text: remove the organisation's copy (True when there was one)."""
    require(user, org, SETTINGS)
    _check_key(code, language)
    deleted, _ = MessageTemplate.objects.filter(organisation=org, code=code, language=language).delete()
    if deleted:
        audit_log.record("template.reset", org, user, {"code": code, "language": language},
                         label=f"{code}/{language}")
    return bool(deleted)
