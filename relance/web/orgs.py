"""The walls between organisations, for the web app: every page lives under /o/<slug>/ and resolves
the organisation from the user's memberships only. Anything of another organisation answers 404,
exactly as something that does not exist (no hint that it does)."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404

from relance.accounts.models import Membership, Organisation, Role
from relance.accounts.permissions import GRANTS, MEMBERS, SETTINGS, WRITE

SESSION_KEY = "relance_org"


def member_organisations(user):
    """The organisations this user belongs to (whatever the role): the root of every query here."""
    return Organisation.objects.filter(memberships__user=user).order_by("legal_name")


def org_view(perm: str | None = None, *, post_perm: str | None = None):
    """Decorate a view taking `slug`: sets request.org, request.role and request.can (a dict of the
    permissions), 404 for a non-member. `perm` is required for any method (a settings page);
    `post_perm` only for POST (a page every member reads, with buttons only some may use)."""

    def decorate(view):
        @wraps(view)
        def wrapper(request, slug, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            membership = (Membership.objects.select_related("organisation")
                          .filter(user=request.user, organisation__slug=slug).first())
            if membership is None:
                raise Http404
            org = membership.organisation
            request.org, request.role = org, membership.role
            # The membership just read gives the role: the permissions follow from the same table as
            # require()'s (GRANTS), without asking the database again for each.
            granted = GRANTS.get(membership.role, frozenset())
            request.can = {p: p in granted for p in (WRITE, SETTINGS, MEMBERS)}
            needed = perm or (post_perm if request.method not in ("GET", "HEAD", "OPTIONS") else None)
            if needed and not request.can[needed]:
                raise PermissionDenied
            if request.session.get(SESSION_KEY) != org.slug:  # a session write only on a switch
                request.session[SESSION_KEY] = org.slug
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def organisation_context(request):
    """Template context for every page: the current organisation, the user's role and permissions,
    and the organisations they may switch to."""
    org = getattr(request, "org", None)
    if org is None or not request.user.is_authenticated:
        return {}
    return {
        "org": org,
        "role": request.role,
        "role_label": Role(request.role).label,
        "can": request.can,
        "my_organisations": member_organisations(request.user),
    }
