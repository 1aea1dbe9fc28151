"""The OAuth 2.0 test server behaves like a real provider, and Dovecot and the SMTP server
accept its tokens (tests/servers/oauth.py, dovecot.py, smtp.py)."""

import base64
import json
import re
import smtplib
import threading
from dataclasses import replace
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from tests.servers.oauth import decode_jwt, http_request, pkce_pair
from tests.waiting import wait_until

SCOPES = "openid email offline_access"


def authorize_url(server, client, challenge, *, state="st-1", **extra):
    params = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uris[0],
        "scope": SCOPES,
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    return f"{server.endpoints.authorize}?{urlencode(params)}"


def callback_params(location):
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def basic_auth(client):
    pair = f"{client.client_id}:{client.client_secret}".encode()
    return {"Authorization": f"Basic {base64.b64encode(pair).decode()}"}


def exchange(server, client, code, verifier):
    """The token request of the authorization-code grant, client_secret_post."""
    return http_request(
        "POST",
        server.endpoints.token,
        form={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": client.redirect_uris[0],
            "code_verifier": verifier,
            "client_id": client.client_id,
            "client_secret": client.client_secret,
        },
    )


def refresh(server, client, refresh_token):
    """The refresh-token grant, client_secret_basic."""
    return http_request(
        "POST",
        server.endpoints.token,
        form={"grant_type": "refresh_token", "refresh_token": refresh_token},
        headers=basic_auth(client),
    )


def sign_in(server, client, login):
    """Authorization code + PKCE by plain HTTP; return the token response (a dict)."""
    verifier, challenge = pkce_pair()
    location = server.approve(authorize_url(server, client, challenge), login=login)
    answer = exchange(server, client, callback_params(location)["code"], verifier)
    assert answer.status == 200, answer.text
    return answer.json()


def introspect(server, token):
    """What Dovecot asks: GET with the token as bearer."""
    headers = {"Authorization": f"Bearer {token}"}
    return http_request("GET", server.endpoints.introspect, headers=headers).json()


def imap_token_login(dovecot, user, token, *, mechanism="XOAUTH2"):
    imap = IMAPClient(dovecot.host, port=dovecot.imap_port, ssl=False, timeout=10)
    try:
        if mechanism == "OAUTHBEARER":
            imap.oauthbearer_login(user.email, token)
        else:
            imap.oauth2_login(user.email, token)
    except Exception:
        imap.shutdown()
        raise
    return imap


def xoauth2(address, token):
    return f"user={address}\x01auth=Bearer {token}\x01\x01"


def message(subject):
    return f"From: a@example.test\r\nTo: b@example.test\r\nSubject: {subject}\r\n\r\nHi\r\n"


# --- authorization code + PKCE --------------------------------------------------------------


def test_authorization_code_with_pkce_gives_tokens_naming_the_user(oauth_server, oauth_client):
    user = oauth_server.add_user("ayse@example.test", name="Ayşe Yılmaz")
    verifier, challenge = pkce_pair()
    url = authorize_url(oauth_server, oauth_client, challenge, state="st-42", nonce="n-7")

    page = http_request("GET", url)
    location = oauth_server.approve(url, login=user.address)
    callback = callback_params(location)
    answer = exchange(oauth_server, oauth_client, callback["code"], verifier)

    assert page.status == 200
    assert f"<span id='client'>{oauth_client.name}</span>" in page.text
    assert "<li>offline_access</li>" in page.text
    assert location.startswith(oauth_client.redirect_uris[0] + "?")
    assert callback["state"] == "st-42"
    assert answer.status == 200, answer.text
    tokens = answer.json()
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == oauth_server.token_lifetime
    assert tokens["refresh_token"]
    claims = decode_jwt(tokens["id_token"], oauth_client.client_secret)  # HS256, client secret
    assert (claims["email"], claims["aud"], claims["nonce"]) == (
        user.address,
        oauth_client.client_id,
        "n-7",
    )
    assert introspect(oauth_server, tokens["access_token"])["username"] == user.address
    userinfo = http_request(
        "GET",
        oauth_server.endpoints.userinfo,
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    ).json()
    assert (userinfo["email"], userinfo["name"]) == (user.address, "Ayşe Yılmaz")


def test_login_hint_prefills_the_consent_page(oauth_server, oauth_client):
    user = oauth_server.add_user()
    verifier, challenge = pkce_pair()
    url = authorize_url(oauth_server, oauth_client, challenge, login_hint=user.address)

    location = oauth_server.approve(url)  # submits the prefilled account
    tokens = exchange(oauth_server, oauth_client, callback_params(location)["code"], verifier)

    assert introspect(oauth_server, tokens.json()["access_token"])["username"] == user.address


def test_deny_redirects_with_access_denied_and_the_state(oauth_server, oauth_client):
    user = oauth_server.add_user()
    _verifier, challenge = pkce_pair()
    url = authorize_url(oauth_server, oauth_client, challenge, state="st-deny")

    location = oauth_server.approve(url, login=user.address, allow=False)

    assert callback_params(location) == {"error": "access_denied", "state": "st-deny"}
    assert oauth_server.token_requests == []


def test_unknown_account_stays_on_the_consent_page(oauth_server, oauth_client):
    _verifier, challenge = pkce_pair()
    url = authorize_url(oauth_server, oauth_client, challenge)

    with pytest.raises(AssertionError, match=re.escape("No account nobody@example.test here")):
        oauth_server.approve(url, login="nobody@example.test")


def test_unregistered_redirect_uri_is_never_redirected_to(oauth_server, oauth_client):
    _verifier, challenge = pkce_pair()
    url = authorize_url(oauth_server, oauth_client, challenge).replace("oauth%2Fcallback", "evil")

    page = http_request("GET", url)

    assert page.status == 400
    assert "Location" not in page.headers
    assert "Mismatching redirect URI" in page.text


@pytest.mark.parametrize(
    ("change", "description"),
    [
        ({"code_challenge_method": "plain"}, "code_challenge_method must be S256"),
        ({"code_challenge": ""}, "Code challenge required."),
    ],
)
def test_authorization_without_s256_pkce_is_refused(
    oauth_server, oauth_client, change, description
):
    user = oauth_server.add_user()
    _verifier, challenge = pkce_pair()
    params = parse_qs(urlsplit(authorize_url(oauth_server, oauth_client, challenge)).query)
    params = {key: values[0] for key, values in params.items()} | change
    params = {key: value for key, value in params.items() if value}
    url = f"{oauth_server.endpoints.authorize}?{urlencode(params)}"

    location = oauth_server.approve(url, login=user.address)

    refused = callback_params(location)
    assert (refused["error"], refused["error_description"]) == ("invalid_request", description)


def test_wrong_code_verifier_is_refused(oauth_server, oauth_client):
    user = oauth_server.add_user()
    verifier, challenge = pkce_pair()
    location = oauth_server.approve(
        authorize_url(oauth_server, oauth_client, challenge), login=user.address
    )
    code = callback_params(location)["code"]

    wrong = exchange(oauth_server, oauth_client, code, pkce_pair()[0])
    right = exchange(oauth_server, oauth_client, code, verifier)

    assert (wrong.status, wrong.json()["error"]) == (400, "invalid_grant")
    assert right.status == 200
    assert oauth_server.count_token_requests(grant_type="authorization_code") == 2


def test_replayed_code_is_refused_and_revokes_what_it_gave(oauth_server, oauth_client):
    user = oauth_server.add_user()
    verifier, challenge = pkce_pair()
    location = oauth_server.approve(
        authorize_url(oauth_server, oauth_client, challenge), login=user.address
    )
    code = callback_params(location)["code"]
    first = exchange(oauth_server, oauth_client, code, verifier).json()

    replay = exchange(oauth_server, oauth_client, code, verifier)

    assert (replay.status, replay.json()["error"]) == (400, "invalid_grant")
    assert introspect(oauth_server, first["access_token"]) == {"active": False}
    assert refresh(oauth_server, oauth_client, first["refresh_token"]).status == 400


def test_code_of_another_client_is_refused(oauth_server, oauth_client):
    other = oauth_server.add_client(redirect_uris=oauth_client.redirect_uris)
    user = oauth_server.add_user()
    verifier, challenge = pkce_pair()
    location = oauth_server.approve(
        authorize_url(oauth_server, other, challenge), login=user.address
    )

    stolen = exchange(oauth_server, oauth_client, callback_params(location)["code"], verifier)

    assert (stolen.status, stolen.json()["error"]) == (400, "invalid_grant")


def test_wrong_client_secret_is_refused(oauth_server, oauth_client):
    wrong = http_request(
        "POST",
        oauth_server.endpoints.token,
        form={"grant_type": "client_credentials"},
        headers=basic_auth(replace(oauth_client, client_secret="wrong")),
    )
    both = http_request(
        "POST",
        oauth_server.endpoints.token,
        form={"grant_type": "client_credentials", "client_secret": oauth_client.client_secret},
        headers=basic_auth(oauth_client),
    )

    assert (wrong.status, wrong.json()["error"]) == (401, "invalid_client")
    assert (both.status, both.json()["error"]) == (401, "invalid_client")


# --- refresh, client credentials, revocation --------------------------------------------------


def test_refresh_rotates_and_the_used_refresh_token_is_refused(oauth_server, oauth_client):
    user = oauth_server.add_user()
    first = sign_in(oauth_server, oauth_client, user.address)

    renewed = refresh(oauth_server, oauth_client, first["refresh_token"])
    reused = refresh(oauth_server, oauth_client, first["refresh_token"])
    again = refresh(oauth_server, oauth_client, renewed.json()["refresh_token"])

    assert renewed.status == 200
    assert renewed.json()["refresh_token"] != first["refresh_token"]
    assert renewed.json()["access_token"] != first["access_token"]
    assert (reused.status, reused.json()["error"]) == (400, "invalid_grant")
    assert again.status == 200
    assert oauth_server.refreshes(client_id=oauth_client.client_id, user=user.address) == 2
    assert oauth_server.count_token_requests(grant_type="refresh_token", succeeded=False) == 1


def test_two_refreshes_at_once_with_one_token_succeed_once(oauth_server, oauth_client):
    user = oauth_server.add_user()
    refresh_token = sign_in(oauth_server, oauth_client, user.address)["refresh_token"]
    start = threading.Barrier(2)
    statuses = []

    def worker():
        start.wait()
        statuses.append(refresh(oauth_server, oauth_client, refresh_token).status)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200, 400]
    assert oauth_server.refreshes(user=user.address) == 1


def test_client_credentials_token_belongs_to_the_client_alone(oauth_server, oauth_client):
    answer = http_request(
        "POST",
        oauth_server.endpoints.token,
        form={
            "grant_type": "client_credentials",
            "scope": "email",
            "client_id": oauth_client.client_id,
            "client_secret": oauth_client.client_secret,
        },
    )

    assert answer.status == 200
    token = answer.json()
    assert "refresh_token" not in token
    claims = introspect(oauth_server, token["access_token"])
    assert (claims["active"], claims["client_id"], claims["scope"]) == (
        True,
        oauth_client.client_id,
        "email",
    )
    assert "username" not in claims


def test_revoked_token_is_inactive_and_dovecot_refuses_it(
    oauth_server, oauth_client, dovecot, imap_oauth_user
):
    tokens = sign_in(oauth_server, oauth_client, imap_oauth_user.email)
    imap_token_login(dovecot, imap_oauth_user, tokens["access_token"]).logout()

    revoked = http_request(
        "POST",
        oauth_server.endpoints.revoke,
        form={"token": tokens["refresh_token"], "token_type_hint": "refresh_token"},
        headers=basic_auth(oauth_client),
    )

    assert revoked.status == 200
    assert introspect(oauth_server, tokens["access_token"]) == {"active": False}
    with pytest.raises(LoginError):
        imap_token_login(dovecot, imap_oauth_user, tokens["access_token"])
    assert refresh(oauth_server, oauth_client, tokens["refresh_token"]).status == 400
    assert oauth_server.count_introspections(user=imap_oauth_user.email, active=False) == 2


def test_consent_withdrawn_at_the_provider_refuses_refresh(
    oauth_server, oauth_client, dovecot, imap_oauth_user
):
    tokens = oauth_server.issue_tokens(oauth_client.client_id, imap_oauth_user.email)

    oauth_server.revoke_user(imap_oauth_user.email)

    refused = refresh(oauth_server, oauth_client, tokens["refresh_token"])
    assert (refused.status, refused.json()["error"]) == (400, "invalid_grant")
    with pytest.raises(LoginError):
        imap_token_login(dovecot, imap_oauth_user, tokens["access_token"])
    again = sign_in(oauth_server, oauth_client, imap_oauth_user.email)  # consent given again
    imap_token_login(dovecot, imap_oauth_user, again["access_token"]).logout()


def test_injected_outage_fails_one_token_request(oauth_server, oauth_client):
    user = oauth_server.add_user()
    tokens = oauth_server.issue_tokens(oauth_client.client_id, user.address)

    oauth_server.fail_token_requests(1, status=503)
    outage = refresh(oauth_server, oauth_client, tokens["refresh_token"])
    after = refresh(oauth_server, oauth_client, tokens["refresh_token"])

    assert outage.status == 503
    assert after.status == 200  # the failed request did not use the refresh token up
    assert [(r.status, r.error) for r in oauth_server.token_requests] == [
        (503, "injected"),
        (200, None),
    ]


def test_tenant_style_paths_reach_the_same_endpoints(oauth_server, oauth_client):
    """Microsoft-like URLs (``/<tenant>/oauth2/v2.0/token``) work: the last segment decides."""
    answer = http_request(
        "POST",
        f"{oauth_server.url}/common/oauth2/v2.0/token",
        form={"grant_type": "client_credentials"},
        headers=basic_auth(oauth_client),
    )

    assert answer.status == 200
    assert oauth_server.is_active(answer.json()["access_token"])


def test_metadata_over_https_names_the_endpoints(oauth_server, test_certificate):
    answer = http_request(
        "GET", oauth_server.https_endpoints.metadata, context=test_certificate.client_context()
    )

    metadata = answer.json()
    assert metadata["token_endpoint"] == oauth_server.https_endpoints.token
    assert metadata["code_challenge_methods_supported"] == ["S256"]


# --- Dovecot ---------------------------------------------------------------------------------


def test_imap_token_login_works_until_the_token_expires(
    oauth_server, oauth_client, dovecot, imap_oauth_user
):
    dovecot.deliver(imap_oauth_user, message("By token").encode())
    oauth_server.update_client(oauth_client.client_id, token_lifetime=2)
    tokens = oauth_server.issue_tokens(oauth_client.client_id, imap_oauth_user.email)

    for mechanism in ("XOAUTH2", "OAUTHBEARER"):
        with imap_token_login(
            dovecot, imap_oauth_user, tokens["access_token"], mechanism=mechanism
        ) as imap:
            assert imap.select_folder("INBOX", readonly=True)[b"EXISTS"] == 1
    assert wait_until(lambda: not oauth_server.is_active(tokens["access_token"]), timeout=5)
    with pytest.raises(LoginError):
        imap_token_login(dovecot, imap_oauth_user, tokens["access_token"])
    renewed = refresh(oauth_server, oauth_client, tokens["refresh_token"]).json()
    imap_token_login(dovecot, imap_oauth_user, renewed["access_token"]).logout()


def test_kicked_idle_session_ends_and_a_fresh_token_logs_in_again(
    oauth_server, oauth_client, dovecot, imap_oauth_user
):
    first = oauth_server.issue_tokens(oauth_client.client_id, imap_oauth_user.email)
    imap = imap_token_login(dovecot, imap_oauth_user, first["access_token"])
    imap.select_folder("INBOX")
    imap.idle()

    dovecot.kick(imap_oauth_user)  # as Exchange Online does when the token has expired

    assert (b"BYE", b"Server", b"shutting", b"down.") in imap.idle_check(timeout=5)
    imap.shutdown()
    renewed = refresh(oauth_server, oauth_client, first["refresh_token"]).json()
    with imap_token_login(dovecot, imap_oauth_user, renewed["access_token"]) as again:
        assert again.select_folder("INBOX")[b"EXISTS"] == 0


def test_token_of_one_user_does_not_open_another_mailbox(
    oauth_server, oauth_client, dovecot, imap_oauth_user, imap_user
):
    tokens = oauth_server.issue_tokens(oauth_client.client_id, imap_oauth_user.email)

    with pytest.raises(LoginError):
        imap_token_login(dovecot, imap_user, tokens["access_token"])
    dovecot.client(imap_user).logout()  # password users log in as before


def test_expired_access_tokens_switch_keeps_refresh_working(
    oauth_server, oauth_client, dovecot, imap_oauth_user
):
    tokens = oauth_server.issue_tokens(oauth_client.client_id, imap_oauth_user.email)

    assert oauth_server.expire_access_tokens(user=imap_oauth_user.email) == 1

    with pytest.raises(LoginError):
        imap_token_login(dovecot, imap_oauth_user, tokens["access_token"])
    assert refresh(oauth_server, oauth_client, tokens["refresh_token"]).status == 200


# --- SMTP ------------------------------------------------------------------------------------


def test_smtp_xoauth2_accepts_a_valid_token(smtp_server_factory, oauth_server, oauth_client):
    server = smtp_server_factory(oauth=True)
    user = oauth_server.add_user()
    token = oauth_server.issue_tokens(oauth_client.client_id, user.address)["access_token"]

    with smtplib.SMTP(server.host, server.port, timeout=10) as client:
        client.ehlo()
        assert client.esmtp_features["auth"].split() == ["OAUTHBEARER", "XOAUTH2"]
        client.auth("XOAUTH2", lambda challenge=None: xoauth2(user.address, token))
        client.sendmail(user.address, ["b@example.test"], message("Sent by token"))

    [captured] = server.wait_for_messages(1)
    assert (captured.auth_login, captured.auth_mechanism) == (user.address, "XOAUTH2")
    assert oauth_server.count_introspections(user=user.address, active=True) == 1


def test_smtp_oauthbearer_accepts_a_valid_token(smtp_server_factory, oauth_server, oauth_client):
    server = smtp_server_factory(oauth=True, tls="starttls")
    user = oauth_server.add_user()
    token = oauth_server.issue_tokens(oauth_client.client_id, user.address)["access_token"]
    bearer = f"n,a={user.address},\x01auth=Bearer {token}\x01\x01"

    with smtplib.SMTP(server.host, server.port, timeout=10) as client:
        client.starttls(context=server.certificate.client_context())
        client.ehlo()
        client.auth("OAUTHBEARER", lambda challenge=None: bearer)
        client.sendmail(user.address, ["b@example.test"], message("OAUTHBEARER"))

    [captured] = server.wait_for_messages(1)
    assert (captured.auth_login, captured.auth_mechanism, captured.tls) == (
        user.address,
        "OAUTHBEARER",
        True,
    )


@pytest.mark.parametrize("problem", ["expired", "unknown", "other user"])
def test_smtp_xoauth2_refuses_a_bad_token_with_the_json_challenge(
    smtp_server_factory, oauth_server, oauth_client, problem
):
    server = smtp_server_factory(oauth=True)
    user, other = oauth_server.add_user(), oauth_server.add_user()
    token = oauth_server.issue_tokens(oauth_client.client_id, user.address)["access_token"]
    login = user.address
    if problem == "expired":
        oauth_server.expire_access_tokens(user=user.address)
    elif problem == "unknown":
        token = "not-a-token"
    else:
        login = other.address

    with smtplib.SMTP(server.host, server.port, timeout=10) as client:
        client.ehlo()
        initial = base64.b64encode(xoauth2(login, token).encode()).decode()
        code, challenge = client.docmd("AUTH", f"XOAUTH2 {initial}")
        final_code, final = client.docmd("")  # the client's empty answer to the error
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            client.sendmail(login, ["b@example.test"], message("Refused"))

    assert code == 334
    assert json.loads(base64.b64decode(challenge)) == {
        "status": "401",
        "schemes": "Bearer",
        "scope": "https://mail.google.com/",
    }
    assert (final_code, final) == (535, b"5.7.8 Username and Password not accepted")
    assert refused.value.smtp_code == 530
    assert [(a.login, a.success) for a in server.auth_attempts] == [(login, False)]
    assert server.messages == []


def test_smtplib_reports_a_refused_xoauth2_as_authentication_error(
    smtp_server_factory, oauth_server
):
    server = smtp_server_factory(oauth=True, auth=("sender", "s3cret"))
    user = oauth_server.add_user()

    with smtplib.SMTP(server.host, server.port, timeout=10) as client:
        client.ehlo()
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            client.auth(
                "XOAUTH2",
                lambda challenge=None: "" if challenge else xoauth2(user.address, "bad"),
            )
        client.login("sender", "s3cret")  # password AUTH still offered beside it

    assert refused.value.smtp_code == 535
