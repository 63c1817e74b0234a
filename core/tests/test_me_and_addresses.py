"""GET/PATCH /api/me (profile fields only) and /api/me/addresses (CRUD, defaults, BOLA)."""

import threading

import pytest
from django.db import IntegrityError, connections, transaction
from django.test import Client

from core.models import Address, User
from testing.factories import AddressFactory, UserFactory, bearer

pytestmark = pytest.mark.django_db

ADDRESS = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "street_address_1": "12 St James's Square",
    "city": "London",
    "postal_code": "SW1Y 4JH",
    "country": "gb",
    "phone": "+44 20 7946 0000",
}


def send(client, method, path, body=None, user=None):
    headers = bearer(user) if user is not None else {}
    return getattr(client, method)(path, body, content_type="application/json", **headers)


# -- profile --------------------------------------------------------------------------------------


def test_me_shows_the_profile(api_client, user):
    body = api_client.get("/api/me", **bearer(user)).json()
    assert body["email"] == "ada@example.com"
    assert body["first_name"] == "Ada"
    assert "password" not in body


def test_patch_me_changes_profile_fields_only(api_client, user):
    response = send(api_client, "patch", "/api/me", {"last_name": " King "}, user)
    assert response.status_code == 200
    assert response.json()["last_name"] == "King"
    assert response.json()["first_name"] == "Ada"


@pytest.mark.parametrize(
    "field",
    [
        {"is_staff": True},
        {"is_superuser": True},
        {"is_active": False},
        {"email_verified": True},
        {"email": "new@example.com"},
        {"password": "x"},
        {"groups": [1]},
        {"tokens_valid_after": None},
    ],
)
def test_mass_assignment_of_privileged_fields_is_refused(api_client, user, field):
    response = send(api_client, "patch", "/api/me", {"first_name": "Eve", **field}, user)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    fresh = User.objects.get(pk=user.pk)
    assert (fresh.first_name, fresh.is_staff, fresh.is_superuser) == ("Ada", False, False)
    assert fresh.is_active and not fresh.email_verified and fresh.email == "ada@example.com"


def test_a_name_cannot_be_null_or_multiline(api_client, user):
    assert send(api_client, "patch", "/api/me", {"first_name": None}, user).status_code == 422
    assert send(api_client, "patch", "/api/me", {"first_name": "A\nB"}, user).status_code == 422


# -- addresses ------------------------------------------------------------------------------------


def test_address_crud(api_client, user):
    created = send(api_client, "post", "/api/me/addresses", ADDRESS, user)
    assert created.status_code == 201, created.content
    address = created.json()
    assert address["country"] == "GB"
    # a first address becomes the default of each kind
    assert address["is_default_shipping"] and address["is_default_billing"]

    path = f"/api/me/addresses/{address['id']}"
    assert api_client.get(path, **bearer(user)).json() == address
    changed = send(api_client, "patch", path, {"city": "Cambridge", "postal_code": "CB2 1TN"}, user)
    assert changed.status_code == 200
    assert changed.json()["city"] == "Cambridge"
    assert changed.json()["street_address_1"] == ADDRESS["street_address_1"]

    assert api_client.delete(path, **bearer(user)).status_code == 204
    assert api_client.get(path, **bearer(user)).status_code == 404
    assert not Address.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"country": "XX"}, "country"),
        ({"country": "FRA"}, "country"),
        ({"city": ""}, "city"),
        ({"phone": "call me"}, "phone"),
        ({"street_address_1": "x" * 256}, "street_address_1"),
        ({"user": 2}, "user"),
        ({"id": 5}, "id"),
    ],
)
def test_bad_addresses_are_422(api_client, user, change, field):
    response = send(api_client, "post", "/api/me/addresses", {**ADDRESS, **change}, user)
    assert response.status_code == 422
    assert field in {e["field"] for e in response.json()["details"]["errors"]}
    assert not Address.objects.exists()


def test_setting_a_default_moves_it_from_the_previous_one(api_client, user):
    first = send(api_client, "post", "/api/me/addresses", ADDRESS, user).json()
    second = send(
        api_client,
        "post",
        "/api/me/addresses",
        {**ADDRESS, "city": "Bath", "is_default_shipping": True},
        user,
    ).json()
    assert second["is_default_shipping"] and not second["is_default_billing"]
    rows = {a.pk: a for a in Address.objects.all()}
    assert not rows[first["id"]].is_default_shipping
    assert rows[first["id"]].is_default_billing

    send(
        api_client, "patch", f"/api/me/addresses/{first['id']}", {"is_default_shipping": True}, user
    )
    defaults = Address.objects.filter(user=user, is_default_shipping=True)
    assert list(defaults.values_list("pk", flat=True)) == [first["id"]]


def test_the_database_allows_one_default_of_each_kind(user):
    AddressFactory(user=user, is_default_shipping=True, is_default_billing=True)
    AddressFactory(user=user)  # no default: fine
    AddressFactory(is_default_shipping=True)  # another customer's default: fine
    with pytest.raises(IntegrityError), transaction.atomic():
        AddressFactory(user=user, is_default_shipping=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        AddressFactory(user=user, is_default_billing=True)


def test_another_customers_address_is_a_404(api_client, user, other_user):
    theirs = AddressFactory(user=other_user, city="Arlington")
    path = f"/api/me/addresses/{theirs.pk}"
    for method, body in [("get", None), ("patch", {"city": "Mine now"}), ("delete", None)]:
        response = send(api_client, method, path, body, user)
        assert response.status_code == 404, method
        assert "Arlington" not in response.content.decode()
    theirs.refresh_from_db()
    assert theirs.city == "Arlington"
    listing = api_client.get("/api/me/addresses", **bearer(user)).json()
    assert listing["count"] == 0
    # and they cannot move someone else's default either
    response = send(api_client, "patch", path, {"is_default_shipping": True}, user)
    assert response.status_code == 404


def test_address_list_is_paginated_with_a_fixed_number_of_queries(
    api_client, user, django_assert_max_num_queries
):
    AddressFactory.create_batch(30, user=user)
    AddressFactory.create_batch(3)  # someone else's
    headers = bearer(user)
    for page_size in (5, 100):
        # auth user, count, page
        with django_assert_max_num_queries(3):
            response = api_client.get(f"/api/me/addresses?page_size={page_size}", **headers)
        assert response.status_code == 200
        assert response.json()["count"] == 30
        assert len(response.json()["results"]) == min(page_size, 30)


def test_address_count_is_capped(api_client, user, settings):
    settings.MAX_ADDRESSES_PER_USER = 2
    AddressFactory.create_batch(2, user=user)
    response = send(api_client, "post", "/api/me/addresses", ADDRESS, user)
    assert response.status_code == 409
    assert response.json()["code"] == "address_limit_reached"


def test_snapshot_is_plain_data_that_later_edits_do_not_change(user):
    address = AddressFactory(user=user, company_name="Analytical Ltd")
    snapshot = address.as_snapshot()
    assert snapshot["company_name"] == "Analytical Ltd"
    assert snapshot["country"] == "FR"
    assert set(snapshot) == set(Address.SNAPSHOT_FIELDS)
    address.city = "Lyon"
    address.save()
    assert snapshot["city"] == "Paris"

    from core.schemas import AddressSnapshot

    assert AddressSnapshot(**snapshot).model_dump() == snapshot


@pytest.mark.django_db(transaction=True)
def test_concurrent_default_switches_leave_exactly_one_default():
    user = UserFactory()
    addresses = AddressFactory.create_batch(6, user=user)
    barrier = threading.Barrier(len(addresses))
    statuses = []

    def make_default(address):
        try:
            barrier.wait(timeout=30)
            response = send(
                Client(raise_request_exception=False),
                "patch",
                f"/api/me/addresses/{address.pk}",
                {"is_default_shipping": True, "is_default_billing": True},
                user,
            )
            statuses.append(response.status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=make_default, args=(a,)) for a in addresses]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [200] * len(addresses)
    assert Address.objects.filter(user=user, is_default_shipping=True).count() == 1
    assert Address.objects.filter(user=user, is_default_billing=True).count() == 1
