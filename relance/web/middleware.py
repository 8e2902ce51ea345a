"""The app speaks French unless the user chose English (the language switch sets Django's language
cookie): the browser's Accept-Language is not asked, since a French team on an English-configured
browser should still read the app in French ("in French by default, English available")."""

from __future__ import annotations


class LanguageByChoiceMiddleware:
    """Placed before django.middleware.locale.LocaleMiddleware: hides Accept-Language from it, so it
    falls back from the language cookie to settings.LANGUAGE_CODE."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)
