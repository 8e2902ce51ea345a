"""The customer portal's addresses, under /p/ (relance/urls.py): everything behind the signed token."""

from django.urls import path

from relance.portal import views

app_name = "portal"

urlpatterns = [
    path("<str:token>/", views.home, name="home"),
    path("<str:token>/answer/<str:kind>/", views.answer, name="answer"),
    path("<str:token>/invoices/<int:invoice_id>/pdf/", views.invoice_pdf, name="invoice_pdf"),
]
