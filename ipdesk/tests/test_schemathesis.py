"""Schemathesis over the whole OpenAPI schema, against the WSGI app, as every kind of caller.

Each operation gets a bounded number of generated requests (valid and invalid data, path
parameters naming things that exist or not), each sent as admin, collector, reviewer,
fee-office clerk, payer and anonymous. Every answer must be no server error, with a
documented status, a documented content type and a body that matches the schema.
Generation is derandomised, so a run is repeatable.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .conftest import ApiWorld, known_cases, known_path_parameters

CALLERS = ["admin", "collector", "reviewer", "fee_clerk", "payer", "wallet", "anonymous"]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Bounded so that the run takes a minute or two on two cores; IPDESK_API_EXAMPLES=200 digs
# deeper by hand.
EXAMPLES_PER_OPERATION = int(os.environ.get("IPDESK_API_EXAMPLES", "12"))

SCHEMA = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
OPERATIONS = {
    f"{op.method.upper()} {op.path}": op
    for op in (result.ok() for result in SCHEMA.get_all_operations())
}


def check(case: Any, world: ApiWorld, caller: str) -> None:
    response = case.call_and_validate(headers=world.headers(caller), checks=CHECKS)
    if STATS:  # IPDESK_API_STATS=file: what each caller got, for reading the coverage
        with open(STATS, "a", encoding="utf-8") as out:
            out.write(f"{case.method} {case.path}\t{caller}\t{response.status_code}\n")


STATS = os.environ.get("IPDESK_API_STATS", "")


def cases(operation: Any, world: ApiWorld) -> st.SearchStrategy[Any]:
    modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
    strategies = [operation.as_strategy(generation_mode=mode) for mode in modes]
    known = known_path_parameters(operation.path, world)
    if known:
        strategies += [
            st.sampled_from(known).flatmap(
                lambda params, mode=mode: operation.as_strategy(
                    generation_mode=mode, path_parameters=params
                )
            )
            for mode in modes
        ]
    return st.one_of(strategies)


@pytest.fixture(autouse=True)
def _requests_share_the_test_transaction() -> Iterator[None]:
    """The WSGI app closes the database connection after a request when it is not in
    autocommit mode, as a test's transaction is not; Django's own test client turns that
    off the same way (without it, PostgreSQL loses the test's data after one request)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_operation_conforms_to_the_schema(label: str, api_world: ApiWorld) -> None:
    operation = OPERATIONS[label]
    for known in known_cases(label, api_world):
        case = operation.Case(**known)
        for caller in CALLERS:
            check(case, api_world, caller)

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases(operation, api_world))
    def each_caller_gets_a_conforming_answer(case: Any) -> None:
        for caller in CALLERS:
            check(case, api_world, caller)

    each_caller_gets_a_conforming_answer()
