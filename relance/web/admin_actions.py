"""Admin pages that write through the actions, never around them.

An object action is a small form with a run(obj, user) method that calls the function the CLI calls
(relance.dunning.actions, relance.ledger.balances). Its page is linked from the object's admin page;
the action's refusal (DunningError, AllocationError, PermissionDenied) comes back as a form error.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from relance.dunning.run import DunningError
from relance.ledger.balances import AllocationError

REFUSALS = (DunningError, AllocationError, PermissionDenied)


class ObjectAction(forms.Form):
    """One write on one object; subclasses set `label` and define run()."""

    label = ""
    done = "fait"

    def __init__(self, obj, *args, **kwargs):
        self.obj = obj
        super().__init__(*args, **kwargs)

    @classmethod
    def applies_to(cls, obj) -> bool:
        return True

    def run(self, obj, user) -> None:
        raise NotImplementedError


class ReadOnlyAdmin(admin.ModelAdmin):
    """Data the engine owns: shown, never added, changed or deleted by hand."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ObjectActionsMixin:
    """Adds /admin/<app>/<model>/<id>/do/<name>/ pages and an "actions" line listing them."""

    object_actions: dict[str, type[ObjectAction]] = {}

    def get_urls(self):
        meta = self.model._meta
        name = f"{meta.app_label}_{meta.model_name}_do"
        extra = [path("<path:object_id>/do/<slug:action>/", self.admin_site.admin_view(self.object_action_view),
                      name=name)]
        return extra + super().get_urls()

    @admin.display(description="actions")
    def action_links(self, obj) -> str:
        if obj is None or obj.pk is None:
            return "—"
        meta = self.model._meta
        links = [
            (reverse(f"admin:{meta.app_label}_{meta.model_name}_do", args=[obj.pk, key]), action.label)
            for key, action in self.object_actions.items()
            if action.applies_to(obj)
        ]
        if not links:
            return "—"
        return format_html_join(" · ", '<a href="{}">{}</a>', links)

    def object_action_view(self, request, object_id, action):
        action_class = self.object_actions.get(action)
        obj = self.get_object(request, object_id)
        if action_class is None or obj is None:
            raise Http404
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        form = action_class(obj, request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                with transaction.atomic():
                    form.run(obj, request.user)
            except REFUSALS as exc:
                form.add_error(None, str(exc))
            else:
                self.log_change(request, obj, action_class.label)  # in the object's admin history
                self.message_user(request, format_html("{} : {}", obj, action_class.done), messages.SUCCESS)
                meta = self.model._meta
                return HttpResponseRedirect(reverse(f"admin:{meta.app_label}_{meta.model_name}_change",
                                                    args=[obj.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": obj,
            "title": f"{action_class.label} — {obj}",
            "form": form,
        }
        return TemplateResponse(request, "admin/relance/object_action.html", context)
