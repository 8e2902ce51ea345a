"""The walls between organisations, for every page under /o/<slug>/ — generated from the URL
configuration (tests/web/url_walk.py), so a page added by anyone is covered without being listed here.

For each URL pattern, its parameters filled with objects of ABC Consulting (alice's organisation):
  - charlie (owner of XYZ Industrie) gets 404 on GET and POST, under /o/abc/ ...
  - ... and under his own /o/xyz/ with ABC's object ids (each view filters by request.org);
  - alice gets anything but 404 (so the objects were the right ones, and the 404s above mean something);
  - an anonymous visitor is sent to the login page;
  - except the pages that need no login (url_walk.PUBLIC_URL_NAMES: the invitation link, where the token
    is the proof): anyone with the link reaches it (a bearer link, like a password reset), so the walls
    there are a forged token (404, whoever asks) and another organisation's slug (404).
A parameter the walker cannot fill fails the test with what to add (url_walk.UnknownParameter)."""

from __future__ import annotations

import pytest

from relance.web import urls as web_urls
from tests.web.url_walk import (
    PUBLIC_URL_NAMES,
    OrgRoute,
    UnknownParameter,
    build_path,
    build_world,
    organisation_routes,
    preview_token,
    resolve_parameter,
)

pytestmark = pytest.mark.django_db

ROUTES = organisation_routes()
# Pages every organisation has from the start (the navigation's), at least.
NAV_NAMES = {"dashboard", "today", "customers", "customer", "invoice", "reminders", "reminder", "scenarios",
             "templates", "imports", "settings"}


@pytest.fixture
def world(org, customer, alice, bob, charlie, settings, tmp_path):
    # The invoice's document and the import job go to files: into this test's own folder.
    settings.MEDIA_ROOT, settings.DATA_DIR = tmp_path / "media", tmp_path
    return build_world(org, customer, member=bob, author=alice)


def test_the_walk_finds_every_organisation_page():
    names = {r.name for r in ROUTES}
    assert names >= NAV_NAMES
    # Everything in relance.web.urls.organisation_patterns is among them.
    declared = {p.name for p in web_urls.organisation_patterns}
    assert declared <= names
    assert len(ROUTES) >= len(web_urls.organisation_patterns)


def test_every_parameter_of_every_page_can_be_filled(world):
    problems = []
    for route in ROUTES:
        try:
            build_path(route, "abc", world)
        except (UnknownParameter, KeyError) as exc:
            problems.append(str(exc))
    assert not problems, "\n".join(problems)


def test_an_unknown_parameter_fails_loudly(world):
    with pytest.raises(UnknownParameter, match="<colour>"):
        resolve_parameter(OrgRoute("couleurs/<str:colour>/", "customer_colour"), "colour", world)
    with pytest.raises(UnknownParameter, match="of what"):
        resolve_parameter(OrgRoute("choses/<int:pk>/", "thing"), "pk", world)


def skip_placeholder(response) -> None:
    """The foundation's placeholder pages look nothing up: skipped until their area is built (a skip
    left after the merge names a page still missing)."""
    if response.status_code == 200 and "web/placeholder.html" in {t.name for t in response.templates}:
        pytest.skip("placeholder page: no object looked up yet")


def _ids(route: OrgRoute) -> str:
    return route.name or route.route


@pytest.mark.parametrize("route", ROUTES, ids=_ids)
def test_another_organisation_gets_404_on_every_page(client, world, charlie, route):
    if route.name in PUBLIC_URL_NAMES:  # a bearer link: only a forged one is refused (see the module's doc)
        world = world | {"invitation_token": "forged-" + world["invitation_token"]}
    path, owned = build_path(route, "abc", world)
    client.force_login(charlie)
    assert client.get(path).status_code == 404, f"GET {path} as charlie"
    assert client.post(path).status_code == 404, f"POST {path} as charlie"
    if owned:
        # In his own organisation, with ABC's ids: the view must look them up within request.org.
        own_path, _ = build_path(route, "xyz", world)
        got = client.get(own_path)
        skip_placeholder(got)
        # A POST-only action (or a GET-only page) may refuse the other method (405) before looking anything
        # up: that says nothing about ABC's object; the method it serves must answer 404.
        assert got.status_code in (404, 405), f"GET {own_path} as charlie (ABC's object in XYZ)"
        posted = client.post(own_path)
        assert posted.status_code in (404, 405), f"POST {own_path} as charlie (ABC's object in XYZ)"
        assert 404 in (got.status_code, posted.status_code), f"{own_path}: neither GET nor POST is a 404"


@pytest.mark.parametrize("route", ROUTES, ids=_ids)
def test_the_organisation_s_owner_reaches_every_page(client, world, alice, route):
    client.force_login(alice)
    if "token" in route.parameters and route.name not in PUBLIC_URL_NAMES:
        preview_token(client, "abc", world)
    path, _ = build_path(route, "abc", world)
    got = client.get(path)
    assert got.status_code != 404, f"GET {path} as alice: 404 (wrong object for this parameter?)"
    assert got.status_code < 500
    posted = client.post(path)
    assert posted.status_code != 404, f"POST {path} as alice: 404"
    assert posted.status_code < 500


@pytest.mark.parametrize("route", ROUTES, ids=_ids)
def test_an_anonymous_visitor_is_sent_to_the_login_page(client, world, route):
    path, _ = build_path(route, "abc", world)
    answer = client.get(path)
    if route.name in PUBLIC_URL_NAMES:
        assert answer.status_code == 200, path  # the link itself is the proof
        forged, _ = build_path(route, "abc", world | {"invitation_token": "1-forged"})
        assert client.get(forged).status_code == 404, forged
        assert client.post(forged).status_code == 404, forged
        return
    assert answer.status_code == 302 and answer["Location"].startswith("/login/?next="), path


def test_the_invitation_link_opens_its_own_organisation_only(client, world):
    path, _ = build_path(next(r for r in ROUTES if r.name == "invitation"), "xyz", world)
    assert client.get(path).status_code == 404


def test_a_member_of_both_organisations_sees_each_one_s_objects_only_under_its_own_slug(
        client, world, other_org, alice):
    from relance.accounts.models import Membership

    Membership.objects.create(user=alice, organisation=other_org, role="owner")
    client.force_login(alice)
    for route in ROUTES:
        path, owned = build_path(route, "xyz", world)
        if owned:
            got = client.get(path)
            if "web/placeholder.html" in {t.name for t in got.templates}:
                continue  # not built yet (see skip_placeholder)
            posted = client.post(path)
            codes = (got.status_code, posted.status_code)
            assert set(codes) <= {404, 405} and 404 in codes, f"{path}: ABC's object under /o/xyz/ {codes}"
