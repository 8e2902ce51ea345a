from django.contrib import admin

from relance.channels.models import MessageTemplate, OrganisationChannelSettings


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    # The admin form runs the model's clean(): a template with a syntax error or an unknown
    # variable is refused with its line.
    list_display = ["code", "language", "channel", "organisation", "updated_at"]
    list_filter = ["organisation", "language", "channel"]
    search_fields = ["code", "subject"]


@admin.register(OrganisationChannelSettings)
class OrganisationChannelSettingsAdmin(admin.ModelAdmin):
    list_display = ["organisation"]
