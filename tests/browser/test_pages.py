"""The pages in a real browser (chromium through Playwright, the app on pytest-django's live server):
sign in through the form, browse as a person does, a screenshot of every page into
test-artifacts/screenshots/, no console error and no Content-Security-Policy violation anywhere, and
nothing wider than a 390 px screen. The pages are found from the navigation and from the URL list
(tests/web/url_walk.py), by URL name: pages added by anyone are covered."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.urls import resolve, reverse

from tests.browser.conftest import log_in, screenshot
from tests.web.url_walk import build_path, build_world, organisation_routes

pytestmark = pytest.mark.django_db(transaction=True)

ACCOUNT_PAGES = ["account", "password_change"]
# The outermost elements sticking out of a 390 px screen (not inside a scrolling .table-wrap), to name them.
WIDEST = """() => [...document.querySelectorAll("body *")]
  .filter((el) => el.getBoundingClientRect().right > 391 && !el.closest(".table-wrap, pre")
                  && ![...el.children].some((child) => child.getBoundingClientRect().right > 391))
  .slice(0, 3).map((el) => `${el.tagName.toLowerCase()}.${[...el.classList].join(".")}`
                            + `#${el.id} ${Math.round(el.getBoundingClientRect().right)}px`).join(", ")
"""
ANONYMOUS_PAGES = ["login", "password_reset"]


@pytest.fixture
def world(org, customer, alice, bob, settings, tmp_path):
    # The invoice's document and the import job go to files: into this test's own folder.
    settings.MEDIA_ROOT, settings.DATA_DIR = tmp_path / "media", tmp_path
    return build_world(org, customer, member=bob, author=alice)


def page_name(path: str) -> str:
    match = resolve(urlsplit(path).path)
    return match.url_name or re.sub(r"\W+", "-", path).strip("-")


def nav_links(page) -> list[str]:
    return page.locator("nav.main-nav a").evaluate_all("(links) => links.map((a) => a.getAttribute('href'))")


def organisation_pages(page, world) -> list[tuple[str, str]]:
    """(name, path) of every page under /o/abc/ that answers a GET with a whole HTML page."""
    pages, seen = [], set()
    for href in nav_links(page):
        pages.append((page_name(href), href))
        seen.add(href)
    for route in organisation_routes():
        path, _ = build_path(route, "abc", world)
        if path in seen:
            continue
        seen.add(path)
        answer = page.request.get(path, max_redirects=0)
        if answer.status == 200 and "text/html" in answer.headers.get("content-type", "") and "<html" in answer.text():
            name = route.name or re.sub(r"\W+", "-", route.route).strip("-")
            pages.append((name if name not in {n for n, _ in pages} else f"{name}-{len(pages)}", path))
    return pages


def test_a_collector_signs_in_through_the_form_and_opens_a_customer(desktop, console, world, bob):
    page = desktop.new_page()
    log_in(page, "bob", "bob-pw")
    dashboard = reverse("dashboard", args=["abc"])
    assert urlsplit(page.url).path == dashboard
    assert "bob" in page.locator("header .who").inner_text()
    assert page.locator("main h1").first.inner_text().strip()
    screenshot(page, "dashboard-bob")

    customers = reverse("customers", args=["abc"])
    page.locator(f'nav.main-nav a[href="{customers}"]').click()
    page.wait_for_url(f"**{customers}")
    assert page.locator(f'nav.main-nav a[href="{customers}"]').get_attribute("aria-current") == "page"
    assert page.locator("main h1").first.inner_text().strip()

    customer = reverse("customer", args=["abc", world["customer"].pk])
    link = page.locator(f'main a[href="{customer}"]')
    if link.count():  # the real list links each customer (the foundation's placeholder does not)
        link.first.click()
        page.wait_for_url(f"**{customer}")
    else:
        page.goto(customer)
    assert urlsplit(page.url).path == customer
    assert page.locator("main h1").first.inner_text().strip()
    screenshot(page, "customer-bob")
    assert console.problems == []


def test_the_login_form_works_with_the_keyboard_alone(desktop, console, bob):
    page = desktop.new_page()
    page.goto("/login/")
    assert page.evaluate("document.activeElement.id") == "id_username"  # autofocus
    page.keyboard.type("bob")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "id_password"
    page.keyboard.type("bob-pw")
    page.keyboard.press("Enter")
    page.wait_for_url("**/o/abc/")
    assert console.problems == []


def test_every_page_renders_without_console_error_or_csp_violation(desktop, console, world, alice):
    page = desktop.new_page()
    for name in ANONYMOUS_PAGES:
        page.goto(reverse(name))
        screenshot(page, name)
    log_in(page, "alice", "alice-pw")
    pages = organisation_pages(page, world)
    assert {"dashboard", "customers", "customer", "invoice", "reminder", "settings"} <= {n for n, _ in pages}
    for name, path in pages + [(n, reverse(n)) for n in ACCOUNT_PAGES]:
        response = page.goto(path)
        assert response.status == 200, f"{path}: {response.status}"
        assert page.locator("main").count() == 1, path
        screenshot(page, name)
    assert console.problems == []


def test_no_page_scrolls_sideways_on_a_390_px_screen(phone, console, world, alice):
    page = phone.new_page()
    too_wide = []

    def check(name: str, path: str) -> None:
        page.goto(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 390:
            too_wide.append(f"{path}: {width} px ({page.evaluate(WIDEST)})")
        screenshot(page, f"{name}-390")

    for name in ANONYMOUS_PAGES:
        check(name, reverse(name))
    log_in(page, "alice", "alice-pw")
    for name, path in organisation_pages(page, world) + [(n, reverse(n)) for n in ACCOUNT_PAGES]:
        check(name, path)
    assert too_wide == [], "\n".join(too_wide)
    assert console.problems == []


def test_a_csp_violation_is_caught(desktop, console, bob):
    """The listener works: an inline style, refused by the policy, is reported."""
    page = desktop.new_page()
    page.goto("/login/")
    page.evaluate("""() => { const s = document.createElement("style"); s.textContent = "body{color:red}";
                              document.head.appendChild(s); }""")
    page.wait_for_timeout(200)
    assert any("CSP violation" in p or "Content Security Policy" in p for p in console.problems), console.problems
