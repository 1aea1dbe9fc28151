"""schemathesis against a live server on the generated OpenAPI schema, with an API key:
every operation, a bounded number of generated requests each, no 5xx and no answer the
schema does not describe (status, content type, body, headers)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import checks

from api.throttling import ApiKeyRateThrottle
from cases.models import Case
from crm.records import record_create
from tests.mailboxes.ui.conftest import email_create

pytestmark = pytest.mark.slow

EXAMPLES_PER_OPERATION = 4
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_every_operation_answers_as_documented(
    live_server, transactional_db, make_user, make_record, api_key, monkeypatch, media_root
):
    monkeypatch.setattr(ApiKeyRateThrottle, "THROTTLE_RATES", {"api_key": "100000/min"})
    user = make_user(level="all")
    other = make_user(level="own")
    # something to find behind the ids the generator tries (1, 2, ...)
    account = make_record("account", user, addresses=["info@acme.example"])
    make_record("contact", user, account=account)
    make_record("lead", user)
    make_record("opportunity", user, account=account)
    record_create(Case(name="Printer", assigned_user=user, account=account), user=user)
    email_create(users=[user], body_html="<p>Hi</p>")
    email_create(users=[other])
    _row, raw = api_key(user)
    headers = {"Authorization": f"Bearer {raw}"}

    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/schema/")
    schema.config.base_url = live_server.url
    failures: dict[str, str] = {}
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def call(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            call()
        except (Exception, BaseExceptionGroup) as error:  # one report for every operation
            failures[operation.label] = str(error)[:2000]
    assert operations >= 30
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
