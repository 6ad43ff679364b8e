"""Schemathesis fuzzes every operation of the OpenAPI schema: no 500s, and answers match the schema."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from veil.service import ServiceSettings, create_api_key, create_app

pytestmark = pytest.mark.slow

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, str]]:
    service = ServiceSettings(
        data_dir=tmp_path_factory.mktemp("fuzz") / "data", workers=0, rate_per_minute=1_000_000
    )
    key = create_api_key(service, "fuzz")
    app = create_app(service)
    with TestClient(app):  # runs the lifespan: tables, gallery key
        yield app, key


@pytest.fixture(scope="module")
def api_schema(fuzzed: tuple[FastAPI, str]) -> Any:
    return schemathesis.openapi.from_asgi("/v1/openapi.json", fuzzed[0])


# The operations, from the committed schema (test_api checks that it is the app's).
SCHEMA_FILE = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
OPERATIONS = [
    (method.upper(), path)
    for path, methods in json.loads(SCHEMA_FILE.read_text())["paths"].items()
    for method in methods
]


def test_every_operation_is_fuzzed() -> None:
    assert len(OPERATIONS) == 22


# Schemathesis's own pytest plugin does not run under pytest 9, so each operation gets
# a Hypothesis test of its own here; max_examples keeps the whole run to seconds.
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_operation_matches_its_schema(
    method: str, path: str, api_schema: Any, fuzzed: tuple[FastAPI, str]
) -> None:
    operation = api_schema[path][method]
    headers = {"Authorization": f"Bearer {fuzzed[1]}"}
    codes: list[int] = []

    @given(case=operation.as_strategy())
    @settings(
        max_examples=8,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def check(case: Any) -> None:
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        codes.append(response.status_code)

    check()
    assert codes
    assert set(codes) != {401}, "every request was refused: the fuzzer never got past the key check"
