from django.contrib import admin

from relance.accounts.models import Membership, Organisation


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["slug", "legal_name", "siren", "iban", "currency", "time_zone"]
    search_fields = ["slug", "legal_name", "siren"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organisation", "role"]
    list_filter = ["role", "organisation"]
