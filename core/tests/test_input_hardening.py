"""NUL bytes, over-long fields and junk bodies are 4xx on every accounts route, never a 500."""

import json

import pytest
from pydantic import ValidationError

from api.schemas import MAX_TEXT_LENGTH, InputSchema, Text
from testing.factories import PASSWORD, bearer

pytestmark = pytest.mark.django_db

# Every string field of every accounts request body, with a valid body around it.
BODIES = {
    ("post", "/api/auth/register"): {
        "email": "new@example.com",
        "password": "Analytical-Engine-1843",
        "first_name": "Ada",
        "last_name": "Lovelace",
    },
    ("post", "/api/auth/token"): {"email": "ada@example.com", "password": PASSWORD},
    ("post", "/api/auth/token/refresh"): {"refresh": "x"},
    ("post", "/api/auth/token/verify"): {"token": "x"},
    ("post", "/api/auth/logout"): {"refresh": "x"},
    ("post", "/api/auth/password/change"): {
        "current_password": PASSWORD,
        "new_password": "Analytical-Engine-1843",
    },
    ("post", "/api/auth/password/reset"): {"email": "ada@example.com"},
    ("post", "/api/auth/password/reset/confirm"): {
        "token": "1.abc",
        "new_password": "Analytical-Engine-1843",
    },
    ("post", "/api/auth/email/verify"): {"token": "1.abc"},
    ("patch", "/api/me"): {"first_name": "Ada", "last_name": "Lovelace"},
    ("post", "/api/me/addresses"): {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "company_name": "Analytical",
        "street_address_1": "12 St James's Square",
        "street_address_2": "Flat 1",
        "city": "London",
        "postal_code": "SW1Y 4JH",
        "country_area": "Greater London",
        "country": "GB",
        "phone": "+44 20 7946 0000",
    },
}
CASES = [(method, path, field) for (method, path), body in BODIES.items() for field in body]


def send(client, method, path, body, user):
    raw = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return getattr(client, method)(path, raw, content_type="application/json", **bearer(user))


@pytest.mark.parametrize(("method", "path", "field"), CASES)
@pytest.mark.parametrize("where", ["middle", "alone"])
def test_a_nul_byte_in_any_field_is_422(api_client, user, method, path, field, where):
    body = dict(BODIES[(method, path)])
    body[field] = "\x00" if where == "alone" else body[field][:2] + "\x00" + body[field][2:]
    response = send(api_client, method, path, body, user)
    assert response.status_code == 422, response.content
    assert field in {e["field"] for e in response.json()["details"]["errors"]}


@pytest.mark.parametrize(("method", "path", "field"), CASES)
def test_an_over_long_field_is_422(api_client, user, method, path, field):
    body = {**BODIES[(method, path)], field: "a" * (MAX_TEXT_LENGTH + 1)}
    response = send(api_client, method, path, body, user)
    assert response.status_code == 422, response.content


@pytest.mark.parametrize(
    "email", ["a" * 250 + "@x.io", "ada@" + "x" * 300 + ".com", "not-an-email", "a@b\x00.com"]
)
def test_bad_emails_never_reach_the_database(api_client, user, email):
    for path in ("/api/auth/token", "/api/auth/register", "/api/auth/password/reset"):
        body = {"email": email, "password": PASSWORD}
        if path.endswith("reset"):
            body = {"email": email}
        response = send(api_client, "post", path, body, user)
        assert response.status_code == 422, (path, response.content)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"{",
        b"[]",
        b'"text"',
        b"null",
        b'{"email": 5, "password": []}',
        b'{"\\u0000": 1}',
        b"\xff\xfe",
    ],
)
def test_junk_bodies_are_4xx(api_client, user, raw):
    for path in ("/api/auth/token", "/api/auth/register", "/api/me/addresses"):
        response = send(api_client, "post", path, raw, user)
        assert 400 <= response.status_code < 500, (path, raw, response.status_code)
        assert response.json()["code"]


def test_nul_in_a_query_parameter_is_422(api_client, django_user_model):
    staff = django_user_model.objects.create_superuser("boss@example.com", PASSWORD)
    response = api_client.get("/api/staff/users", {"search": "a\x00b"}, **bearer(staff))
    assert response.status_code == 422


def test_the_shared_types_refuse_nul_when_nested():
    class Nested(InputSchema):
        tags: list[str]
        meta: dict[str, str]
        note: Text = ""

    with pytest.raises(ValidationError):
        Nested(tags=["ok", "bad\x00"], meta={})
    with pytest.raises(ValidationError):
        Nested(tags=[], meta={"k\x00": "v"})
    with pytest.raises(ValidationError):
        Nested(tags=[], meta={}, unknown="field")
    assert Nested(tags=["ok"], meta={"k": "v"}, note="fine").note == "fine"
