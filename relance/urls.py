from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("p/", include("relance.portal.urls")),
    path("", include("relance.web.urls")),
]
