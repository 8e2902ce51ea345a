"""The team's web app: the account pages at the root, everything else under /o/<slug>/ (one
organisation at a time; relance.web.orgs walls them off)."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from relance.web import views
from relance.web.pages import (
    account,
    audit,
    customer_page,
    customers,
    dashboard,
    escalations,
    imports,
    invoices,
    matching,
    reminders,
    reports,
    scenarios,
    settings_page,
    templates_page,
    today,
)

AREAS = (dashboard, today, customer_page, customers, invoices, reminders, scenarios, templates_page, imports,
         settings_page, audit, matching, reports, escalations)

organisation_patterns = [pattern for area in AREAS for pattern in area.urlpatterns]

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="web/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.home, name="home"),
    path("o/<slug:slug>/", include(organisation_patterns)),
    *account.urlpatterns,  # the user's own account: password, reset by e-mail, language
]
