"""Settings of an organisation (owners only: collectors and viewers get 403): identity, bank details,
dunning terms, the commissaire de justice of the escalation letters, how messages go out, the e-mail
and SMS transports (write-only secrets, a "send a test" button) and the members with their roles
(invitations by e-mail with a set-password link). Every write goes through relance.accounts.actions."""

from __future__ import annotations

from zoneinfo import available_timezones

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import SetPasswordForm
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import pgettext, pgettext_lazy

from relance.accounts import actions
from relance.accounts.models import Membership, Organisation, Role
from relance.accounts.permissions import MEMBERS, SETTINGS
from relance.channels.base import DeliveryError
from relance.channels.models import OrganisationChannelSettings, get_channel_settings
from relance.lib.secrets import redact_url
from relance.web.orgs import org_view
from relance.web.reads import settings as reads

ORGANISATION_FIELDS = ["legal_name", "siren", "siret", "vat_number", "address_line1", "address_line2", "postcode",
                       "city", "country", "sender_email", "phone"]
LOCALIZED = {"min_reminder_amount", "small_amount_threshold", "late_rate_value"}  # typed and shown as 25,00
BANK_FIELDS = ["iban", "bic"]
TERMS_FIELDS = ["min_reminder_amount", "small_amount_threshold", "run_hour", "currency", "time_zone", "language",
                "late_rate_mode", "late_rate_value"]
COMMISSAIRE_FIELDS = ["commissaire_name", "commissaire_address"]
CHANNEL_FIELDS = ["sender_name", "payment_link_url", "notice_days", "attach_statement", "read_receipt",
                  "bcc_organisation", "bcc_address"]

LABELS = {
    "legal_name": pgettext_lazy("settings", "Legal name"), "siren": "SIREN", "siret": "SIRET",
    "vat_number": pgettext_lazy("settings", "VAT number"), "address_line1": pgettext_lazy("settings", "Address"),
    "address_line2": pgettext_lazy("settings", "Address (continued)"),
    "postcode": pgettext_lazy("settings", "Postcode"),
    "city": pgettext_lazy("settings", "City"), "country": pgettext_lazy("settings", "Country (ISO code)"),
    "sender_email": pgettext_lazy("settings", "Sender e-mail"), "phone": pgettext_lazy("settings", "Phone"),
    "iban": "IBAN", "bic": "BIC",
    "min_reminder_amount": pgettext_lazy("settings", "No reminder below (amount due)"),
    "small_amount_threshold": pgettext_lazy("settings", "Small amount threshold"),
    "run_hour": pgettext_lazy("settings", "Hour of the daily run (0-23)"),
    "currency": pgettext_lazy("settings", "Currency"),
    "time_zone": pgettext_lazy("settings", "Time zone"), "language": pgettext_lazy("settings", "Language"),
    "late_rate_mode": pgettext_lazy("law", "Late-payment rate of the terms of sale"),
    "late_rate_value": pgettext_lazy("law", "Rate (percent, or times the legal interest rate)"),
    "commissaire_name": pgettext_lazy("settings", "Commissaire de justice (name)"),
    "commissaire_address": pgettext_lazy("settings", "Commissaire de justice (address)"),
}


class OrganisationFieldsForm(forms.ModelForm):
    class Meta:
        model = Organisation
        fields: list[str] = []
        labels = LABELS

    def clean_time_zone(self):
        value = self.cleaned_data["time_zone"].strip()
        if value not in available_timezones():
            raise ValidationError(pgettext("settings", "Unknown time zone (e.g. Europe/Paris)."))
        return value

    def clean_currency(self):
        from babel.numbers import list_currencies

        value = self.cleaned_data["currency"].strip().upper()
        if value not in list_currencies():
            raise ValidationError(pgettext("settings", "Unknown currency (an ISO 4217 code, e.g. EUR)."))
        return value


def organisation_form(fields, *args, **kwargs):
    form_class = forms.modelform_factory(Organisation, form=OrganisationFieldsForm, fields=fields, labels=LABELS,
                                         localized_fields=[f for f in fields if f in LOCALIZED])
    return form_class(*args, **kwargs)


class ChannelSettingsForm(forms.ModelForm):
    class Meta:
        model = OrganisationChannelSettings
        fields = CHANNEL_FIELDS


SECRET_WIDGET = {"render_value": False, "attrs": {"autocomplete": "new-password"}}


class RedactedUrlInput(forms.TextInput):
    """Shows a transport URL with its secrets masked, even the one a refused form sends back."""

    def format_value(self, value):
        value = super().format_value(value)
        return redact_url(value) if value else value


class TransportForm(forms.Form):
    email_url = forms.CharField(label=pgettext_lazy("settings", "E-mail transport URL"), required=False, max_length=500,
                                widget=RedactedUrlInput,
                                help_text=pgettext_lazy("settings",
                                                        "e.g. smtp://user:•••@smtp.example.com:587?starttls=1; "
                                                        "empty: the instance's transport"))
    email_secret = forms.CharField(label=pgettext_lazy("settings", "E-mail password"), required=False,
                                   widget=forms.PasswordInput(**SECRET_WIDGET),
                                   help_text=pgettext_lazy("settings", "empty: keep the current one (••• in the URL)"))
    sms_url = forms.CharField(label=pgettext_lazy("settings", "SMS transport URL"), required=False, max_length=500,
                              widget=RedactedUrlInput,
                              help_text=pgettext_lazy("settings",
                                                      "e.g. brevo://•••@?sender=ACME or https://…?token=•••; "
                                                      "empty: the instance's transport"))
    sms_secret = forms.CharField(label=pgettext_lazy("settings", "SMS key or token"), required=False,
                                 widget=forms.PasswordInput(**SECRET_WIDGET),
                                 help_text=pgettext_lazy("settings", "empty: keep the current one (••• in the URL)"))


class TestSendForm(forms.Form):
    family = forms.ChoiceField(label=pgettext_lazy("settings", "Transport"),
                               choices=[("email", pgettext_lazy("settings", "E-mail")),
                                        ("sms", pgettext_lazy("settings", "SMS"))])
    recipient = forms.CharField(label=pgettext_lazy("settings", "Send to (e-mail address or mobile number)"),
                                max_length=254)


class AddMemberForm(forms.Form):
    who = forms.CharField(label=pgettext_lazy("settings", "E-mail address or user name"), max_length=254)
    role = forms.ChoiceField(label=pgettext_lazy("settings", "Role"), choices=Role.choices, initial=Role.COLLECTOR)


def _fresh_org(org):
    return Organisation.objects.get(pk=org.pk)


def _transport_initial(org):
    shown = reads.transports(org)
    return {"email_url": shown["email"].own, "sms_url": shown["sms"].own}


def _forms(org, bound=None, data=None):
    """Every form of the page, unbound except the one posted (`bound` section, with `data`)."""
    def make(section, factory):
        return factory(data) if section == bound else factory(None)

    prefs = get_channel_settings(org)
    return {
        "organisation": make("organisation", lambda d: organisation_form(
            ORGANISATION_FIELDS, d, instance=_fresh_org(org), prefix="org")),
        "bank": make("bank", lambda d: organisation_form(BANK_FIELDS, d, instance=_fresh_org(org), prefix="bank")),
        "terms": make("terms", lambda d: organisation_form(TERMS_FIELDS, d, instance=_fresh_org(org), prefix="terms")),
        "commissaire": make("commissaire", lambda d: organisation_form(
            COMMISSAIRE_FIELDS, d, instance=_fresh_org(org), prefix="cj")),
        "channels": make("channels", lambda d: ChannelSettingsForm(d, instance=prefs, prefix="ch")),
        "transports": make("transports", lambda d: TransportForm(d, initial=_transport_initial(org), prefix="tr")),
        "test": make("test", lambda d: TestSendForm(d, prefix="test")),
    }


def _save(request, section, form) -> bool:
    """Apply a valid form through the actions; False (errors on the form) when refused."""
    org, user = request.org, request.user
    try:
        if section in ("organisation", "bank", "terms", "commissaire"):
            actions.update_organisation(org, {name: form.cleaned_data[name] for name in form.fields}, user=user)
            messages.success(request, pgettext("settings", "Settings saved."))
        elif section == "channels":
            actions.update_channel_settings(org, {name: form.cleaned_data[name] for name in CHANNEL_FIELDS}, user=user)
            messages.success(request, pgettext("settings", "Message settings saved."))
        elif section == "transports":
            for family, field in reads.TRANSPORTS.items():
                try:
                    url = reads.combine_url(form.cleaned_data[f"{family}_url"], form.cleaned_data[f"{family}_secret"],
                                            getattr(org, field))
                except ValidationError as exc:
                    form.add_error(f"{family}_url", exc)
                    continue
                if url != getattr(org, field):
                    try:
                        actions.set_transport(org, family, url, user=user)
                    except ValidationError as exc:
                        form.add_error(f"{family}_url", exc)
            if form.errors:
                return False
            messages.success(request, pgettext("settings", "Transports saved."))
        elif section == "test":
            family, recipient = form.cleaned_data["family"], form.cleaned_data["recipient"]
            try:
                receipt = actions.send_test_message(org, family, recipient, user=user)
            except DeliveryError as exc:
                text = pgettext("settings", "The test could not be sent: %(error)s")
                form.add_error(None, text % {"error": exc.message})
                return False
            messages.success(request, pgettext("settings", "Test sent to %(to)s (%(answer)s).") % {
                "to": recipient, "answer": receipt.response or receipt.provider_id or "OK"})
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            for field, errors in exc.error_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            form.add_error(None, exc)
        return False
    return True


@org_view(SETTINGS)
def settings(request):
    section = request.POST.get("section") if request.method == "POST" else None
    page_forms = _forms(request.org, bound=section, data=request.POST if section else None)
    status = 200
    if section:
        form = page_forms.get(section)
        if form is None:
            status = 400
        elif form.is_valid() and _save(request, section, form):
            return redirect(reverse("settings", args=[request.org.slug]) + f"#{section}")
        else:
            status = 400
    context = {"forms": page_forms, "transports": reads.transports(request.org),
               "member_count": Membership.objects.filter(organisation=request.org).count()}
    return render(request, "web/settings/index.html", context, status=status)


@org_view(MEMBERS)
def members(request):
    org, user = request.org, request.user
    add_form = AddMemberForm()
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        User = get_user_model()
        try:
            if action == "add":
                add_form = AddMemberForm(request.POST)
                if not add_form.is_valid():
                    raise ValidationError(pgettext("settings", "Check the form."))
                member, created = actions.invite_member(org, add_form.cleaned_data["who"],
                                                        add_form.cleaned_data["role"], user=user)
                if created:
                    _invite(request, member)
                else:
                    messages.success(request, pgettext("settings", "%(name)s added.") % {"name": member.username})
            elif action in ("role", "remove"):
                member_id = request.POST.get("member", "")
                membership = Membership.objects.filter(organisation=org, user_id=member_id if member_id.isdigit()
                                                       else None).select_related("user").first()
                if membership is None:
                    raise Http404
                if action == "role":
                    actions.set_member(org, membership.user, request.POST.get("role", ""), user=user)
                    text = pgettext("settings", "Role of %(name)s changed.")
                    messages.success(request, text % {"name": membership.user.username})
                else:
                    actions.remove_member(org, membership.user, user=user)
                    text = pgettext("settings", "%(name)s removed.")
                    messages.success(request, text % {"name": membership.user.username})
                    if membership.user_id == user.pk:
                        return redirect("home")
            elif action == "resend":
                member = User.objects.filter(memberships__organisation=org, pk=request.POST.get("member") or 0,
                                             is_active=False).first()
                if member is None:
                    raise Http404
                _invite(request, member)
            else:
                raise ValidationError(pgettext("settings", "Unknown action."))
        except ValidationError as exc:
            if action == "add" and add_form.is_bound and not add_form.errors:
                add_form.add_error(None, exc)
            elif action != "add":
                messages.error(request, " ".join(exc.messages))
            status = 400
        if status == 200:
            return redirect("members", org.slug)
    context = {"members": reads.members(org), "add_form": add_form, "roles": Role.choices}
    return render(request, "web/settings/members.html", context, status=status)


def invitation_link(request, member) -> str:
    uid = urlsafe_base64_encode(force_bytes(member.pk))
    token = default_token_generator.make_token(member)
    return request.build_absolute_uri(reverse("invitation", args=[request.org.slug, uid, token]))


def _invite(request, member) -> None:
    link = invitation_link(request, member)
    try:
        actions.send_invitation(request.org, member, link, user=request.user)
    except (DeliveryError, ValidationError) as exc:
        text = exc.message if isinstance(exc, DeliveryError) else " ".join(exc.messages)
        warning = pgettext("settings", "%(name)s is invited, but the e-mail could not be sent (%(error)s). "
                                       "Give them this link yourself: %(link)s")
        messages.warning(request, warning % {"name": member.email, "error": text, "link": link})
        return
    messages.success(request, pgettext("settings", "Invitation sent to %(email)s.") % {"email": member.email})


def invitation(request, slug, uidb64, token):
    """Where an invited person chooses their password (no login: the token is the proof)."""
    User = get_user_model()
    try:
        pk = int(urlsafe_base64_decode(uidb64).decode())
    except (TypeError, ValueError, UnicodeDecodeError, OverflowError):
        raise Http404
    member = User.objects.filter(pk=pk, is_active=False, memberships__organisation__slug=slug).first()
    if member is None or not default_token_generator.check_token(member, token):
        return render(request, "web/settings/invitation.html", {"invalid": True}, status=404)
    org = Organisation.objects.get(slug=slug)
    form = SetPasswordForm(member, request.POST or None)
    if request.method == "POST" and form.is_valid():
        actions.accept_invitation(member, form.cleaned_data["new_password1"])
        messages.success(request, pgettext("settings", "Your password is set: log in with the user name %(name)s.") % {
            "name": member.username})
        return redirect("login")
    return render(request, "web/settings/invitation.html", {"form": form, "member": member, "inviting": org},
                  status=400 if request.method == "POST" else 200)


urlpatterns = [
    path("reglages/", settings, name="settings"),
    path("reglages/membres/", members, name="members"),
    path("invitation/<str:uidb64>/<str:token>/", invitation, name="invitation"),
]
