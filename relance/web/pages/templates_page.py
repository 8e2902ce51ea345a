"""Message templates: the shipped texts and the organisation's copies per language; edit a copy with a
live preview rendered for a chosen customer by the sender's own sandboxed renderer, reset to shipped."""

from __future__ import annotations

import secrets

from csp.constants import NONE, SELF, UNSAFE_INLINE
from csp.decorators import csp
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST

from relance.accounts.permissions import SETTINGS
from relance.channels import template_actions as actions
from relance.channels import templates as tpl
from relance.web.orgs import org_view
from relance.web.reads import editors

SESSION_PREVIEWS = "relance_template_previews"
KEEP_PREVIEWS = 3
MAX_PREVIEW_HTML = 500_000  # characters kept in the session for the HTML frame


def _key_or_404(code: str, language: str) -> None:
    if code not in tpl.list_shipped_codes() or language not in tpl.LANGUAGES:
        raise Http404


@org_view()
def templates(request):
    rows = editors.list_templates(request.org)
    return render(request, "web/templates_editor/list.html", {"rows": rows})


def _posted_sources(request) -> dict[str, str]:
    return {"subject": request.POST.get("subject", ""), "text": request.POST.get("body_text", ""),
            "html": request.POST.get("body_html", "")}


@org_view(post_perm=SETTINGS)
def template_edit(request, code: str, language: str):
    _key_or_404(code, language)
    sources, edited = editors.template_sources(request.org, code, language)
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        sources = _posted_sources(request)
        try:
            actions.save_template(request.org, code, language, user=request.user, subject=sources["subject"],
                                  body_text=sources["text"], body_html=sources["html"])
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
            status = 400
        else:
            messages.success(request, _("Template saved: the next messages use it."))
            return redirect("template_edit", request.org.slug, code, language)
    shipped = {p: tpl.shipped_source(code, language, p) for p in tpl.PARTS}
    return render(request, "web/templates_editor/edit.html", {
        "code": code, "language": language, "channel": actions.channel_of(code), "sources": sources,
        "edited": edited, "errors": errors, "shipped": shipped,
        "variables": editors.documented_variables(), "customers": editors.suggested_customers(request.org),
    }, status=status)


@org_view()
@require_POST
def template_preview(request, code: str, language: str):
    """The live preview (htmx): any member may look, nothing is saved."""
    _key_or_404(code, language)
    customer_code = request.POST.get("customer", "")
    customer = editors.find_customer(request.org, customer_code)
    result = editors.preview_draft(request.org, customer, code, language, _posted_sources(request))
    html_token = ""
    if result.html and len(result.html) <= MAX_PREVIEW_HTML:
        html_token = secrets.token_urlsafe(12)
        kept = request.session.get(SESSION_PREVIEWS, {})
        kept = dict(list(kept.items())[-(KEEP_PREVIEWS - 1):]) if KEEP_PREVIEWS > 1 else {}
        kept[html_token] = {"org": request.org.pk, "html": result.html}
        request.session[SESSION_PREVIEWS] = kept
    return render(request, "web/templates_editor/_preview.html", {
        "preview": result, "html_token": html_token, "customer_code": customer_code,
        "customer_missing": bool(customer_code.strip()) and customer is None,
    })


# The rendered e-mail, alone in a sandboxed frame: its own inline styles and data: images, nothing else.
@xframe_options_sameorigin
@csp({"default-src": [NONE], "style-src": [UNSAFE_INLINE], "img-src": ["data:"], "frame-ancestors": [SELF],
      "sandbox": [True]})
@org_view()
@require_GET
def template_preview_html(request, token: str):
    entry = request.session.get(SESSION_PREVIEWS, {}).get(token)
    if not entry or entry.get("org") != request.org.pk:
        raise Http404
    return HttpResponse(entry["html"], content_type="text/html; charset=utf-8")


@org_view(SETTINGS)
@require_POST
def template_reset(request, code: str, language: str):
    _key_or_404(code, language)
    if actions.reset_template(request.org, code, language, user=request.user):
        messages.success(request, _("Template reset to the shipped text."))
    return redirect("template_edit", request.org.slug, code, language)


urlpatterns = [
    path("modeles/", templates, name="templates"),
    path("modeles/apercu/<str:token>/", template_preview_html, name="template_preview_html"),
    path("modeles/<slug:code>/<str:language>/", template_edit, name="template_edit"),
    path("modeles/<slug:code>/<str:language>/apercu/", template_preview, name="template_preview"),
    path("modeles/<slug:code>/<str:language>/reinitialiser/", template_reset, name="template_reset"),
]
