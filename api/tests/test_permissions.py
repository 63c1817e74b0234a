"""JWT auth and the staff permission classes: no token 401, customer 403, staff with perms 200."""

import pytest
from django.contrib.auth.models import Permission

from testing.factories import bearer

pytestmark = [pytest.mark.django_db, pytest.mark.urls("api.tests.error_urls")]


@pytest.fixture
def customer(django_user_model):
    return django_user_model.objects.create_user("c@example.com", "pw-Long-enough-1")


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("s@example.com", "pw-Long-enough-1", is_staff=True)


def test_no_token_is_401(api_client):
    assert api_client.get("/test-api/probe/staff").status_code == 401


def test_customer_token_is_403(api_client, customer):
    response = api_client.get("/test-api/probe/staff", **bearer(customer))
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_staff_token_passes(api_client, staff):
    assert api_client.get("/test-api/probe/staff", **bearer(staff)).status_code == 200


def test_staff_needs_the_named_permission(api_client, staff):
    assert api_client.get("/test-api/probe/user-admin", **bearer(staff)).status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_user"))
    staff = type(staff).objects.get(pk=staff.pk)  # drop the cached permissions
    assert api_client.get("/test-api/probe/user-admin", **bearer(staff)).status_code == 200


def test_inactive_staff_is_refused(api_client, staff):
    headers = bearer(staff)
    staff.is_active = False
    staff.save()
    assert api_client.get("/test-api/probe/staff", **headers).status_code in (401, 403)


def test_optional_auth_knows_the_customer_or_lets_a_guest_in(api_client, customer):
    assert api_client.get("/test-api/probe/maybe").json() == {"user_id": None}
    known = api_client.get("/test-api/probe/maybe", **bearer(customer))
    assert known.json() == {"user_id": customer.pk}
    bad = api_client.get("/test-api/probe/maybe", HTTP_AUTHORIZATION="Bearer not-a-token")
    assert bad.status_code == 401
    assert bad.json()["code"] == "not_authenticated"
