"""Requests generated from the admin API's OpenAPI document, valid and invalid, to every
operation: each answer is one the document lists, in its schema, and never a 5xx.

A bounded, repeatable run (the same cases each time) of what ``bench/fuzz/admin_api.py`` runs
for as long as asked. The generator's requests are synchronous, so Hypothesis runs in a
thread while the server answers on the test's event loop.
"""

from __future__ import annotations

import anyio.to_thread
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import CHECKS

from crossdock.webhooks.api import openapi_document
from tests.integration.webhooks.conftest import Stack
from tests.integration.webhooks.test_api import check

pytestmark = pytest.mark.anyio

SCHEMA = schemathesis.openapi.from_dict(openapi_document())
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()
              if result.ok().path.startswith("/api/")]
#: Which handler names and secrets are accepted depends on what is installed and configured,
#: which no document can say: a valid-looking route or source refused is not a finding.
EXCLUDED = [CHECKS.get_one("positive_data_acceptance")]

cases = st.one_of([operation.as_strategy(mode) for operation in OPERATIONS
                   for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)])


async def test_generated_requests_get_documented_answers_and_never_a_5xx(stack: Stack) -> None:
    authorization = stack.api.headers["authorization"]
    check(await stack.api.post("/api/sources", json={
        "name": "gh", "provider": "github", "secrets": ["long-enough-secret"]}))
    answered: set[int] = set()

    @settings(max_examples=300, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(cases)
    def each(case: Case) -> None:
        response = case.call(base_url=stack.url, headers={"authorization": authorization})
        answered.add(response.status_code)
        case.validate_response(response, excluded_checks=EXCLUDED,
                               headers={"authorization": authorization})

    await anyio.to_thread.run_sync(each)
    assert {200, 201, 400, 404} <= answered, answered
