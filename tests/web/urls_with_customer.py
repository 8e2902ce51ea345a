"""The site's URLs plus the `customer` page's name, for the list pages' tests: that page lives in another
module of the web app (its owner adds it); its address is /o/<slug>/clients/<pk>/ either way."""

from django.http import HttpResponse
from django.urls import include, path


def _customer(request, slug, pk):
    return HttpResponse(f"customer {pk}")


urlpatterns = [
    path("o/<slug:slug>/clients/<int:pk>/", _customer, name="customer"),
    path("", include("relance.urls")),
]
