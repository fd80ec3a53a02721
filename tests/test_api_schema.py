"""Property-based tests of the whole REST API from its own OpenAPI document (schemathesis): for
generated inputs, no operation answers 5xx, every status code, content type and body matches what
the document says, and no operation ignores authentication.

Business rules that a schema cannot say (a MID's check, a cursor's content, the merchant being
given by one of two fields) legitimately refuse some schema-valid inputs, so the two checks that
assume the schema is the whole contract (positive/negative data acceptance) are left out."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from posdesk.accounts.services import api_token_issue


@pytest.fixture
def api_schema(db):
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    from config.wsgi import application

    # As Django's own test client does: requests inside a test must not close the test's
    # connection (and with it the transaction the test runs in).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_survives_generated_input(case, world) -> None:
    token = api_token_issue(user=world.agent)
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token}"},
        excluded_checks=[checks.positive_data_acceptance, checks.negative_data_rejection],
    )
