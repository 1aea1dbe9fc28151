"""The schema and the browsable reference, served from our own static files."""

from __future__ import annotations

import yaml


def test_schema_and_reference_pages(client):
    schema = yaml.safe_load(client.get("/api/schema/").content)
    assert schema["openapi"].startswith("3.1")
    assert "/api/v1/cases/{id}/reply/" in schema["paths"]
    assert schema["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    # the reference groups every operation under its resource (none left under "v1"), and
    # the description's <key> is code, not an HTML tag the page swallows
    tags = {
        f"{method} {path}": operation.get("tags")
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
    }
    assert tags["post /api/v1/cases/{id}/reply/"] == ["cases"]
    assert tags["post /api/v1/contacts/{id}/stream/"] == ["contacts"]
    assert not [name for name, tag in tags.items() if tag in (None, ["v1"])]
    assert "`Authorization: Bearer <key>`" in schema["info"]["description"]
    for url in ("/api/docs/", "/api/redoc/"):
        page = client.get(url).content.decode()
        assert "drf_spectacular_sidecar" in page  # no CDN
        assert "cdn." not in page and "unpkg" not in page
