"""The docs pages and schema, and a fuzz run over every operation of the OpenAPI schema.

Every route added later is fuzzed from the day it exists: no 5xx for any generated input, and
documented responses match their schema. SCHEMATHESIS_MAX_EXAMPLES raises the effort locally.
"""

import json
import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from api.wsgi import application

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25"))


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/docs", "/api/redoc"])
def test_docs_pages_serve_their_assets_locally(client, path):
    response = client.get(path)
    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/ninja/" in page
    assert "cdn" not in page.lower()


@pytest.mark.django_db
def test_docs_assets_are_served(client, settings):
    settings.DEBUG = True  # runserver serves static files in development; nginx in production
    from django.contrib.staticfiles import finders

    assert finders.find("ninja/swagger-ui-bundle.js")
    assert finders.find("ninja/redoc.standalone.js")


@pytest.mark.django_db
def test_openapi_schema_lists_the_api(client):
    schema = client.get("/api/openapi.json").json()
    assert schema["info"]["title"] == "Emporium API"
    assert "/api/health/ready" in schema["paths"]


def refuse_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    # Python's json keeps the last of two equal keys; Swagger UI and ReDoc refuse the document.
    keys = [key for key, _ in pairs]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        raise ValueError(f"duplicated keys {repeated} in one object")
    return dict(pairs)


@pytest.mark.django_db
def test_openapi_schema_has_no_duplicate_keys_and_is_valid_openapi_3_1(client):
    raw = client.get("/api/openapi.json").content
    document = json.loads(raw, object_pairs_hook=refuse_duplicate_keys)
    assert document["openapi"].startswith("3.1")
    validate(document)  # openapi-spec-validator picks the 3.1 specification from the document


@pytest.mark.django_db
def test_the_sales_report_declares_json_and_csv_under_one_200(client):
    operation = client.get("/api/openapi.json").json()["paths"]["/api/staff/reports/sales"]["get"]
    ok = operation["responses"]["200"]
    assert ok["description"]
    assert set(ok["content"]) == {"application/json", "text/csv"}


@pytest.fixture
def keep_db_connection(db):
    # The WSGI transport fires request_started/finished, which would close the test's connection.
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


# Loaded at collection (pytest-django has set Django up by then); schemathesis' lazy
# from_fixture loader does not work with pytest 9.
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_operation_survives_fuzzing(case, keep_db_connection):
    case.call_and_validate(
        checks=[not_a_server_error, response_schema_conformance, content_type_conformance]
    )
