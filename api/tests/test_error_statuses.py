"""Every status an operation can answer is in /api/openapi.json (api/openapi.py), with the one
error shape; multipart without a boundary is a 400 in that shape, not a 500."""

import json

import pytest
from django.http.multipartparser import MultiPartParserError
from django.test import RequestFactory

from api.errors import exception_response
from api.openapi import common_error_statuses

ERROR_OUT = {"$ref": "#/components/schemas/ErrorOut"}


def test_the_statuses_follow_from_the_operations_shape(settings):
    settings.RATE_LIMITS = {"default": {"ip": "1/min"}, "health": None}
    page = {"in": "query", "name": "page"}
    secured = [{"JWTAuth": []}]
    assert common_error_statuses("/api/health/live", {}) == set()
    assert common_error_statuses("/api/catalog/brands", {"parameters": [page]}) == {
        404,  # a page past the last
        414,
        422,
        429,
        503,
    }
    assert common_error_statuses(
        "/api/staff/catalog/brands/{brand_id}",
        {
            "parameters": [{"in": "path", "name": "brand_id"}],
            "requestBody": {},
            "security": secured,
        },
    ) == {400, 401, 404, 413, 414, 422, 429, 503}
    assert common_error_statuses("/api/auth/token", {"parameters": [], "requestBody": {}}) == {
        400,
        413,
        422,
        429,
        503,
    }
    assert common_error_statuses("/api/me", {"security": secured}) == {401, 429, 503}


@pytest.mark.django_db
def test_every_operation_declares_its_common_error_answers(client, settings):
    document = client.get("/api/openapi.json").json()
    assert "ErrorOut" in document["components"]["schemas"]
    operations = 0
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            operations += 1
            responses = operation["responses"]
            statuses = [int(status) for status in responses]
            assert statuses == sorted(statuses), (method, path)
            missing = {str(s) for s in common_error_statuses(path, operation)} - set(responses)
            assert not missing, (method, path, missing)
            for status, answer in responses.items():
                # 414 comes from the server; the readiness probe's 503 is its report
                if int(status) >= 400 and status != "414" and path != "/api/health/ready":
                    content = answer["content"]["application/json"]["schema"]
                    assert content == ERROR_OUT, (method, path, status)
    assert operations >= 80
    # what schemathesis reported undeclared before (issue 15, item 7)
    paths = document["paths"]
    assert {"400", "422"} <= set(paths["/api/auth/token"]["post"]["responses"])
    assert {"404", "422"} <= set(paths["/api/catalog/brands"]["get"]["responses"])
    assert "414" in paths["/api/search"]["get"]["responses"]
    assert "404" in paths["/api/staff/users"]["get"]["responses"]
    assert "400" in paths["/api/cart/items/{line_id}"]["patch"]["responses"]


def test_an_unreadable_multipart_body_is_a_400_in_the_error_shape():
    request = RequestFactory().post("/api/staff/inventory/uploads")
    error = MultiPartParserError("Invalid boundary in multipart: None")
    response = exception_response(request, error)
    assert response.status_code == 400
    assert json.loads(response.content) == {
        "code": "bad_request",
        "message": "The multipart body cannot be read: Invalid boundary in multipart: None.",
        "details": {},
    }
