"""Password guessing is stopped: 5 wrong passwords for one username from one address lock that
pair out for the cool-off (django-axes); failed API tokens from one address are answered 429."""

from __future__ import annotations

import datetime
import time

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.urls import reverse

from cothon.tenancy import auth_throttle

pytestmark = pytest.mark.django_db

PASSWORD = "pass-word-123"


def _login(client, username: str, password: str, address: str = "203.0.113.7"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def _logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_five_wrong_passwords_lock_the_username_even_for_the_right_one(client, alice):
    username = alice.member.get_username()
    for _ in range(4):
        response = _login(client, username, "wrong-guess")
        assert response.status_code == 200 and "Please enter a correct username and password" in response.content.decode()
    response = _login(client, username, "wrong-guess")  # the 5th failure locks
    assert response.status_code == 429
    response = _login(client, username, PASSWORD)
    html = response.content.decode()
    assert response.status_code == 429 and not _logged_in(client)
    assert "Too many failed log-ins" in html and "15 minutes" in html and "axes_reset_username" in html
    assert int(response["Retry-After"]) == 15 * 60


def test_the_lock_is_per_username_and_address(client, alice):
    username = alice.member.get_username()
    for _ in range(5):
        _login(client, username, "wrong-guess")
    # The same person from another address, and another user from the same address, still log in.
    assert _login(client, username, PASSWORD, address="198.51.100.9").status_code == 302
    client.logout()
    assert _login(client, alice.viewer.get_username(), PASSWORD).status_code == 302


def test_the_lock_ends_after_the_cool_off(client, alice, settings):
    settings.AXES_COOLOFF_TIME = datetime.timedelta(seconds=2)
    username = alice.member.get_username()
    for _ in range(5):
        _login(client, username, "wrong-guess")
    assert _login(client, username, PASSWORD).status_code == 429
    time.sleep(2.2)
    assert _login(client, username, PASSWORD).status_code == 302 and _logged_in(client)


def test_an_operator_can_lift_the_lock_at_once(client, alice):
    username = alice.member.get_username()
    for _ in range(5):
        _login(client, username, "wrong-guess")
    assert _login(client, username, PASSWORD).status_code == 429
    call_command("axes_reset_username", username)
    assert _login(client, username, PASSWORD).status_code == 302 and _logged_in(client)


def test_a_successful_login_clears_earlier_failures(client, alice):
    username = alice.member.get_username()
    for _ in range(4):
        _login(client, username, "wrong-guess")
    assert _login(client, username, PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        _login(client, username, "wrong-guess")
    assert _login(client, username, PASSWORD).status_code == 302


# --- API tokens ---------------------------------------------------------------------------------

@pytest.fixture
def api_limit(settings):
    settings.COTHON_API_AUTH_FAILURE_LIMIT = 5
    settings.COTHON_API_AUTH_FAILURE_WINDOW_SECONDS = 60
    for address in ("127.0.0.1", "198.51.100.20", "198.51.100.21"):
        auth_throttle.reset(address)
    yield
    for address in ("127.0.0.1", "198.51.100.20", "198.51.100.21"):
        auth_throttle.reset(address)


def test_failed_api_tokens_from_one_address_are_throttled(api_as, alice, api_limit):
    from rest_framework.test import APIClient

    guesser = APIClient(REMOTE_ADDR="198.51.100.20")
    url = "/api/v1/opportunities/"
    for attempt in range(5):
        guesser.credentials(HTTP_AUTHORIZATION=f"Token guess-{attempt}")
        assert guesser.get(url).status_code == 401
    guesser.credentials(HTTP_AUTHORIZATION="Token guess-6")
    response = guesser.get(url)
    assert response.status_code == 429 and "Retry-After" in response
    # Even a valid token is refused from that address until the window ends: guessing stops.
    valid = api_as(alice.member_membership)
    valid.defaults["REMOTE_ADDR"] = "198.51.100.20"
    assert valid.get(url).status_code == 429
    # Another address is not affected.
    valid.defaults["REMOTE_ADDR"] = "198.51.100.21"
    assert valid.get(url).status_code == 200


def test_the_api_throttle_ends_with_its_window(api_as, alice, api_limit, settings):
    settings.COTHON_API_AUTH_FAILURE_WINDOW_SECONDS = 1
    from rest_framework.test import APIClient

    guesser = APIClient(REMOTE_ADDR="198.51.100.20")
    for attempt in range(6):
        guesser.credentials(HTTP_AUTHORIZATION=f"Token guess-{attempt}")
        guesser.get("/api/v1/opportunities/")
    assert guesser.get("/api/v1/opportunities/").status_code == 429
    time.sleep(1.2)
    valid = api_as(alice.member_membership)
    valid.defaults["REMOTE_ADDR"] = "198.51.100.20"
    assert valid.get("/api/v1/opportunities/").status_code == 200


def test_valid_tokens_do_not_count_towards_the_limit(api_as, alice, api_limit):
    valid = api_as(alice.member_membership)
    for _ in range(8):
        assert valid.get("/api/v1/opportunities/").status_code == 200
    assert not cache.get("cothon:api-auth-failures:127.0.0.1")
