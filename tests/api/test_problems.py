"""Errors as problem documents, in the key owner's language, for every path under /api/."""

from __future__ import annotations

from django.utils import translation
from rest_framework import exceptions
from rest_framework.test import APIClient

from cases.models import Case
from crm.records import record_create


def _in_turkish(text) -> str:
    with translation.override("tr"):
        return str(text)


def test_a_keys_answers_are_in_its_owners_language(make_user, api_client):
    owner = make_user(level="all", language="tr")
    client = api_client(owner)
    missing = client.get("/api/v1/cases/999999/", HTTP_ACCEPT_LANGUAGE="en")
    assert missing.status_code == 404 and missing["Content-Language"] == "tr"
    not_found = _in_turkish(exceptions.NotFound.default_detail)
    assert not_found != "Not found."
    # the detail is not Django's English "No Case matches the given query." either
    assert missing.json()["title"] == missing.json()["detail"] == not_found
    invalid = client.post("/api/v1/cases/", {"name": "x", "status": "bogus"}, format="json")
    assert invalid.json()["title"] == _in_turkish(exceptions.ValidationError.default_detail)
    assert "is not a valid choice" not in str(invalid.json()["errors"])


def test_without_a_language_setting_the_request_chooses(make_user, api_client):
    client = api_client(make_user(level="all"))
    response = client.get("/api/v1/cases/999999/", HTTP_ACCEPT_LANGUAGE="tr")
    assert response.json()["detail"] == _in_turkish(exceptions.NotFound.default_detail)
    response = client.get("/api/v1/cases/999999/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.json()["detail"] == "Not found."


def test_the_owners_time_zone_dates_the_answer(make_user, api_client):
    owner = make_user(level="all", time_zone="Europe/Istanbul")
    case = record_create(Case(name="x", assigned_user=owner), user=owner)
    body = api_client(owner).get(f"/api/v1/cases/{case.pk}/").json()
    assert body["created_at"].endswith("+03:00")


def test_a_path_naming_no_operation_is_a_problem_too(make_user, api_client, client):
    for path in ("/api/v1/no-such-thing/", "/api/v1/cases/none/", "/api/v2/"):
        response = api_client(make_user(level="all")).get(path)
        assert response.status_code == 404, path
        assert response["Content-Type"] == "application/problem+json"
        assert response.json() == {
            "type": "about:blank#not_found",
            "title": "Not found.",
            "status": 404,
            "detail": "Not found.",
        }
    anonymous = APIClient().get("/api/v1/no-such-thing/")
    assert anonymous.status_code == 404 and anonymous.json()["status"] == 404
    page = client.get("/no-such-page/")  # the pages keep their HTML 404
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")
