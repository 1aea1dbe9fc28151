"""The schema and the browsable reference, served from our own static files."""

from __future__ import annotations

import yaml


def test_schema_and_reference_pages(client):
    schema = yaml.safe_load(client.get("/api/schema/").content)
    assert schema["openapi"].startswith("3.1")
    assert "/api/v1/cases/{id}/reply/" in schema["paths"]
    assert schema["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    for url in ("/api/docs/", "/api/redoc/"):
        page = client.get(url).content.decode()
        assert "drf_spectacular_sidecar" in page  # no CDN
        assert "cdn." not in page and "unpkg" not in page
