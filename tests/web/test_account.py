"""The user's own account: sign in (French labels), change my password (validators on), reset a forgotten
one by e-mail (French or English, the link works end to end), choose the language (kept), argon2."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core import mail
from django.urls import reverse

pytestmark = pytest.mark.django_db

ENGLISH_AUTH_WORDS = ("Username", "Password", "Log in", "Forgot", "Old password", "New password", "Email")


def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def test_the_login_page_reads_in_french_with_labelled_fields(client):
    page = client.get("/login/").content.decode()
    for word in ("Connexion", "Identifiant", "Mot de passe", "Se connecter", "Mot de passe oublié ?"):
        assert word in page
    for word in ENGLISH_AUTH_WORDS:
        assert word not in page, word
    # Every input has its label.
    for field_id in ("id_username", "id_password"):
        assert f'<label for="{field_id}">' in page and f'id="{field_id}"' in page
    assert 'href="/mot-de-passe-oublie/"' in page


def test_the_login_page_reads_in_english_when_chosen(client):
    english(client)
    page = client.get("/login/").content.decode()
    for word in ("Sign in", "Username", "Password", "Log in", "Forgot your password?"):
        assert word in page
    assert "Identifiant" not in page


def test_a_wrong_password_says_so_in_french_and_a_good_one_signs_in(client, bob):
    wrong = client.post("/login/", {"username": "bob", "password": "nope"})
    assert wrong.status_code == 200
    assert "Saisissez un nom d’utilisateur et un mot de passe valides" in wrong.content.decode()
    right = client.post("/login/", {"username": "bob", "password": "bob-pw", "next": "/compte/"})
    assert right.status_code == 302 and right["Location"] == "/compte/"
    assert client.post("/logout/").status_code == 302
    assert "_auth_user_id" not in client.session


def test_the_account_page_needs_a_login_and_shows_my_organisations(client, bob):
    assert client.get("/compte/")["Location"].startswith("/login/?next=/compte/")
    client.force_login(bob)
    page = client.get("/compte/").content.decode()
    assert "Mon compte" in page and "bob@abc-consulting.fr" in page
    assert 'href="/o/abc/"' in page and "ABC Consulting" in page
    assert 'href="/compte/mot-de-passe/"' in page
    assert 'action="/langue/"' in page


def test_change_my_password_checks_the_old_one_and_the_validators(client, bob):
    client.force_login(bob)
    url = reverse("password_change")
    page = client.get(url).content.decode()
    for field_id in ("id_old_password", "id_new_password1", "id_new_password2"):
        assert f'<label for="{field_id}">' in page
    assert "Mot de passe actuel" in page and "Old password" not in page

    wrong_old = client.post(url, {"old_password": "nope", "new_password1": "Tr3s-long-secret",
                                  "new_password2": "Tr3s-long-secret"})
    assert wrong_old.status_code == 200
    assert "Votre ancien mot de passe est incorrect" in wrong_old.content.decode()

    weak = client.post(url, {"old_password": "bob-pw", "new_password1": "12345678", "new_password2": "12345678"})
    assert weak.status_code == 200
    text = weak.content.decode()
    assert "trop courant" in text and "entièrement numérique" in text  # CommonPassword, NumericPassword

    done = client.post(url, {"old_password": "bob-pw", "new_password1": "Tr3s-long-secret",
                             "new_password2": "Tr3s-long-secret"})
    assert done.status_code == 302 and done["Location"] == reverse("password_change_done")
    assert "Mot de passe modifié" in client.get(done["Location"]).content.decode()
    assert client.get("/compte/").status_code == 200  # still signed in (session hash updated)
    bob.refresh_from_db()
    assert bob.check_password("Tr3s-long-secret") and bob.password.startswith("argon2$")


def _link(message) -> str:
    urls = re.findall(r"https?://\S+", message.body)
    assert len(urls) == 1, message.body
    return urls[0]


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    cache.clear()  # the reset e-mails' hourly count
    yield
    cache.clear()


def test_password_reset_by_email_in_french_end_to_end(client, bob):
    answer = client.post(reverse("password_reset"), {"email": "bob@abc-consulting.fr"})
    assert answer.status_code == 302 and answer["Location"] == reverse("password_reset_done")
    assert "Consultez vos e-mails" in client.get(answer["Location"]).content.decode()

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["bob@abc-consulting.fr"]
    assert message.subject == "Relance : choisir un nouveau mot de passe"
    assert "Bonjour bob," in message.body and "Ouvrez ce lien" in message.body
    html = message.alternatives[0]
    assert html[1] == "text/html" and "Choisir un nouveau mot de passe" in html[0]
    link = _link(message)
    assert link.startswith(settings.BASE_URL.rstrip("/") + "/reinitialiser/")
    assert link in html[0]

    # The link resolves: Django swaps the token for a session one, then shows the form.
    opened = client.get(urlsplit(link).path)
    assert opened.status_code == 302
    form_url = opened["Location"]
    form = client.get(form_url)
    assert form.status_code == 200 and form.context["validlink"]
    assert '<label for="id_new_password1">' in form.content.decode()

    weak = client.post(form_url, {"new_password1": "bob", "new_password2": "bob"})
    assert weak.status_code == 200 and "trop court" in weak.content.decode()
    saved = client.post(form_url, {"new_password1": "Nouveau-secret-42", "new_password2": "Nouveau-secret-42"})
    assert saved.status_code == 302 and saved["Location"] == reverse("password_reset_complete")
    assert "vous pouvez vous connecter" in client.get(saved["Location"]).content.decode()

    assert client.post("/login/", {"username": "bob", "password": "Nouveau-secret-42"}).status_code == 302
    client.logout()
    # Used once: the same link is no longer valid.
    again = client.get(urlsplit(link).path, follow=True)
    assert "Ce lien n'est plus valable" in again.content.decode()


def test_password_reset_email_in_english_when_english_is_chosen(client, bob):
    english(client)
    client.post(reverse("password_reset"), {"email": "bob@abc-consulting.fr"})
    message = mail.outbox[0]
    assert message.subject == "Relance: choose a new password"
    assert "Hello bob," in message.body and "Bonjour" not in message.body
    assert client.get(urlsplit(_link(message)).path).status_code == 302


def test_password_reset_does_not_tell_whether_an_address_exists(client, bob):
    answer = client.post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert answer.status_code == 302 and answer["Location"] == reverse("password_reset_done")
    assert mail.outbox == []


def test_at_most_three_reset_emails_an_hour_to_one_address(client, bob):
    for _ in range(5):
        answer = client.post(reverse("password_reset"), {"email": "BOB@abc-consulting.fr"})
        assert answer.status_code == 302 and answer["Location"] == reverse("password_reset_done")
    assert len(mail.outbox) == 3


def test_a_forged_reset_link_is_refused(client, bob):
    page = client.get("/reinitialiser/Mg/abc-123/", follow=True).content.decode()
    assert "Ce lien n'est plus valable" in page
    assert 'href="/mot-de-passe-oublie/"' in page


def test_the_language_choice_is_kept_in_a_cookie_for_a_year(client, bob):
    client.force_login(bob)
    answer = client.post(reverse("set_language"), {"language": "en", "next": "/compte/"})
    assert answer.status_code == 302 and answer["Location"] == "/compte/"
    cookie = answer.cookies[settings.LANGUAGE_COOKIE_NAME]
    assert cookie.value == "en" and int(cookie["max-age"]) == 365 * 24 * 3600
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert "My account" in client.get("/compte/").content.decode()
    # Kept after signing out and in again (the cookie is the user's browser's, not the session's).
    client.post("/logout/")
    assert "Sign in" in client.get("/login/").content.decode()
    client.post(reverse("set_language"), {"language": "fr", "next": "/login/"})
    assert "Connexion" in client.get("/login/").content.decode()


def test_the_language_switch_refuses_an_unknown_language_and_a_foreign_next(client):
    answer = client.post(reverse("set_language"), {"language": "de", "next": "https://evil.example/"})
    assert answer.status_code == 302 and answer["Location"] == "/"
    # Django stores any language it has files for, but only fr and en are ever used.
    page = client.get("/login/").content.decode()
    assert '<html lang="fr">' in page and "Connexion" in page


def test_argon2_hashes_new_passwords_and_upgrades_old_ones_at_login(client, django_user_model, org):
    assert settings.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    user = django_user_model.objects.create_user("dora", "dora@abc-consulting.fr", "dora-pw")
    assert user.password.startswith("argon2$argon2id$")
    django_user_model.objects.filter(pk=user.pk).update(
        password=make_password("dora-pw", hasher="pbkdf2_sha256"))
    assert client.post("/login/", {"username": "dora", "password": "dora-pw"}).status_code == 302
    user.refresh_from_db()
    assert user.password.startswith("argon2$")


def test_django_mail_leaves_through_the_instance_email_url(settings, tmp_path):
    from django.core.mail import EmailMultiAlternatives, get_connection

    settings.EMAIL_URL = f"file://{tmp_path}"
    message = EmailMultiAlternatives("Réinitialisation", "Bonjour,\nle lien : https://x/y", "relance@abc.fr",
                                     ["bob@abc-consulting.fr"])
    message.attach_alternative("<p>Bonjour</p>", "text/html")
    connection = get_connection("relance.web.pages.account.InstanceMailBackend")
    assert connection.send_messages([message]) == 1
    (eml,) = tmp_path.glob("*.eml")
    text = eml.read_bytes().decode()
    assert "To: bob@abc-consulting.fr" in text and "From: relance@abc.fr" in text
    assert "text/html" in text and "R=C3=A9initialisation" in text or "Réinitialisation" in text


def test_a_failing_transport_raises_unless_told_to_stay_silent(settings, tmp_path):
    from django.core.mail import EmailMessage, get_connection

    settings.EMAIL_URL = f"file://{tmp_path}"
    bad = EmailMessage("x", "y", "relance@abc.fr", ["two@a.fr, three@b.fr"])
    loud = get_connection("relance.web.pages.account.InstanceMailBackend")
    with pytest.raises(Exception, match="invalide"):
        loud.send_messages([bad])
    silent = get_connection("relance.web.pages.account.InstanceMailBackend", fail_silently=True)
    assert silent.send_messages([bad]) == 0
