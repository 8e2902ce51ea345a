"""Organisations and memberships, for the instance's operators. Transport URLs are write-only here."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from relance.accounts.actions import check_transport, delete_organisation
from relance.accounts.models import Membership, Organisation
from relance.lib.secrets import redact_url

SECRET_URL_FIELDS = {"email_url": "email", "sms_url": "sms"}


class OrganisationForm(forms.ModelForm):
    """A transport URL is never sent back to the browser: the field starts empty and, left empty, keeps
    the stored value; its help text shows the stored one masked (smtp://user:•••@host:587)."""

    email_url_clear = forms.BooleanField(label="revenir au transport e-mail de l'instance", required=False)
    sms_url_clear = forms.BooleanField(label="revenir au transport SMS de l'instance", required=False)

    class Meta:
        model = Organisation
        fields = "__all__"  # noqa: DJ007 - the admin chooses the fields (ModelAdmin.get_fields)
        # Never rendered back, not even after a refused submit (the typed URL holds the password).
        widgets = {name: forms.PasswordInput(render_value=False, attrs={"autocomplete": "off", "size": 80})
                   for name in SECRET_URL_FIELDS}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in SECRET_URL_FIELDS:
            stored = getattr(self.instance, name, "")
            self.initial[name] = ""
            shown = redact_url(stored) if stored else "vide : le transport de l'instance"
            self.fields[name].help_text = f"actuel : {shown} — laisser vide pour le garder"

    def _stored(self, name: str) -> str:
        if self.instance.pk is None:
            return ""
        return Organisation.objects.filter(pk=self.instance.pk).values_list(name, flat=True).get()

    def clean(self):
        data = super().clean()
        for name in SECRET_URL_FIELDS:
            if data.get(f"{name}_clear"):
                data[name] = ""
            elif not data.get(name):
                data[name] = self._stored(name)
            else:
                try:
                    check_transport(SECRET_URL_FIELDS[name], data[name])
                except forms.ValidationError as exc:
                    self.add_error(name, exc)
        return data


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    form = OrganisationForm
    list_display = ["slug", "legal_name", "siren", "iban", "currency", "time_zone", "email_transport"]
    search_fields = ["slug", "legal_name", "siren"]
    inlines = [MembershipInline]

    # Deleting goes through delete_organisation: the audit log archived first, the ledger (PROTECTed
    # from a cascade) deleted before the organisation, the entries after it.
    # The engine's data is read-only in the admin (no delete permission of its own): it goes with its
    # organisation, through the action. A log that does not verify is not deleted: the page says why.
    def get_deleted_objects(self, objs, request):
        from relance.audit.verify import verify_org

        deleted, counts, perms_needed, _protected = super().get_deleted_objects(objs, request)
        broken = [f"{org.slug} : journal d'audit altéré, {verdict.problem.line()}"
                  for org in objs if not (verdict := verify_org(org)).ok]
        return deleted, counts, set() if request.user.is_superuser else perms_needed, broken

    def delete_model(self, request, obj: Organisation) -> None:
        try:
            path = delete_organisation(obj, user=request.user)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return
        self.message_user(request, f"{obj.slug} : journal d'audit archivé dans {path}", messages.INFO)

    def delete_queryset(self, request, queryset) -> None:
        for org in list(queryset):
            self.delete_model(request, org)

    @admin.display(description="transport e-mail")
    def email_transport(self, obj: Organisation) -> str:
        return redact_url(obj.email_url) if obj.email_url else "—"


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organisation", "role"]
    list_filter = ["role", "organisation"]
