"""The test OAuth provider's consent page works in a real browser (tests/servers/oauth.py):
the path the product's "Connect" button will take."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from playwright.sync_api import expect

from tests.servers.oauth import http_request, pkce_pair

pytestmark = pytest.mark.browser
CALLBACK = "http://postaci.test/oauth/callback"  # answered by the page route below


def test_user_allows_access_on_the_consent_page_and_the_code_gives_tokens(page, oauth_server):
    user = oauth_server.add_user(name="Bora Demir")
    client = oauth_server.add_client(name="Postaci CRM", redirect_uris=[CALLBACK])
    verifier, challenge = pkce_pair()
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": CALLBACK,
            "scope": "openid email offline_access",
            "state": "st-browser",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "login_hint": user.address,
        }
    )
    page.route(f"{CALLBACK}*", lambda route: route.fulfill(body="Back at the app"))

    page.goto(f"{oauth_server.endpoints.authorize}?{query}")
    expect(page.locator("#client")).to_have_text("Postaci CRM")
    expect(page.locator("#scopes li")).to_have_text(["openid", "email", "offline_access"])
    expect(page.get_by_label("Account")).to_have_value(user.address)
    page.get_by_role("button", name="Allow").click()

    page.wait_for_url(f"{CALLBACK}?*")
    expect(page.locator("body")).to_have_text("Back at the app")
    callback = parse_qs(urlsplit(page.url).query)
    assert callback["state"] == ["st-browser"]
    answer = http_request(
        "POST",
        oauth_server.endpoints.token,
        form={
            "grant_type": "authorization_code",
            "code": callback["code"][0],
            "redirect_uri": CALLBACK,
            "code_verifier": verifier,
            "client_id": client.client_id,
            "client_secret": client.client_secret,
        },
    )
    assert answer.status == 200
    assert oauth_server.is_active(answer.json()["access_token"])
