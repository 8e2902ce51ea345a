"""The user's own account, at the root (not under /o/<slug>/): change my password, reset a forgotten
one by e-mail, choose the language (fr/en). Django's own views (validators on, tokens, no hint of
whether an address exists), with our templates; the reset e-mail leaves through the instance's
EMAIL_URL like every other message (InstanceMailBackend below, the EMAIL_BACKEND setting)."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.mail.backends.base import BaseEmailBackend
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import path
from django.views.i18n import set_language

RESET_MAILS_PER_HOUR = 3


@login_required
def account(request):
    memberships = (request.user.memberships.select_related("organisation")
                   .order_by("organisation__legal_name"))
    return render(request, "web/account/account.html", {
        "memberships": [(m.organisation, m.get_role_display()) for m in memberships],
    })


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "web/account/password_reset_form.html"
    # Unique names: the admin's registration/ templates come first in the app order.
    subject_template_name = "registration/relance_password_reset_subject.txt"
    email_template_name = "registration/relance_password_reset_email.txt"
    html_email_template_name = "registration/relance_password_reset_email.html"

    def get_extra_email_context(self):
        # The link names the instance's public address, not whatever Host header came in.
        return {"base_url": settings.BASE_URL.rstrip("/")}

    def form_valid(self, form):
        # At most RESET_MAILS_PER_HOUR e-mails to one address (no mailbox flooded through us); the
        # answer is the same either way, as for an unknown address.
        key = "password-reset:" + hashlib.sha256(form.cleaned_data["email"].strip().lower().encode()).hexdigest()
        sent = cache.get(key, 0)
        if sent >= RESET_MAILS_PER_HOUR:
            return HttpResponseRedirect(self.get_success_url())
        cache.set(key, sent + 1, 3600)
        self.extra_email_context = self.get_extra_email_context()
        return super().form_valid(form)


urlpatterns = [
    path("compte/", account, name="account"),
    path("compte/mot-de-passe/", auth_views.PasswordChangeView.as_view(
        template_name="web/account/password_change_form.html"), name="password_change"),
    path("compte/mot-de-passe/modifie/", auth_views.PasswordChangeDoneView.as_view(
        template_name="web/account/password_change_done.html"), name="password_change_done"),
    path("mot-de-passe-oublie/", PasswordResetView.as_view(), name="password_reset"),
    path("mot-de-passe-oublie/envoye/", auth_views.PasswordResetDoneView.as_view(
        template_name="web/account/password_reset_done.html"), name="password_reset_done"),
    path("reinitialiser/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(
        template_name="web/account/password_reset_confirm.html"), name="password_reset_confirm"),
    path("reinitialiser/termine/", auth_views.PasswordResetCompleteView.as_view(
        template_name="web/account/password_reset_complete.html"), name="password_reset_complete"),
    # Django's view: POST language=fr|en (+ next); remembered in the language cookie (LANGUAGE_COOKIE_AGE).
    path("langue/", set_language, name="set_language"),
]


class InstanceMailBackend(BaseEmailBackend):
    """Django's mail (the password reset) through the instance's EMAIL_URL backend (smtp://, file://,
    console:), so an instance configures one transport for everything it sends."""

    def send_messages(self, email_messages):
        from relance.channels.base import Outgoing
        from relance.channels.registry import backend_url, get_backend

        sent = 0
        if not email_messages:
            return 0
        backend = get_backend("email", backend_url("email"))
        with backend:
            for message in email_messages:
                html = next((content for content, mimetype in getattr(message, "alternatives", [])
                             if mimetype == "text/html"), "")
                try:
                    for recipient in message.recipients():
                        backend.send(Outgoing(channel="email", recipient=recipient, subject=message.subject,
                                              body_text=message.body, body_html=html,
                                              sender=message.from_email or settings.DEFAULT_FROM_EMAIL))
                except Exception:
                    if not self.fail_silently:
                        raise
                    continue
                sent += 1
        return sent
