"""The Unfold admin for users, addresses, sent emails and tokens; the staff users API."""

import pytest
from django.contrib.auth.models import Group, Permission
from ninja_jwt.token_blacklist.models import OutstandingToken

from api.auth import tokens_for
from testing.factories import PASSWORD, AddressFactory, UserFactory, bearer

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    django_user_model.objects.create_superuser("boss@example.com", PASSWORD)
    assert client.login(email="boss@example.com", password=PASSWORD)
    return client


def test_user_change_page_shows_no_password_hash(admin_client, user):
    AddressFactory(user=user, city="Bath")
    page = admin_client.get(f"/admin/core/user/{user.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    _algorithm, *rest = user.password.split("$")
    assert user.password not in html
    for part in rest:
        assert part not in html
    assert "md5" not in html.lower()
    assert "Set a new password" in html
    assert "Bath" in html  # the addresses inline


def test_user_list_searches_and_filters(admin_client, user, other_user):
    user.email_verified = True
    user.save()
    listing = admin_client.get("/admin/core/user/?email_verified__exact=1")
    assert listing.status_code == 200
    assert b"ada@example.com" in listing.content
    assert b"grace@example.com" not in listing.content
    found = admin_client.get("/admin/core/user/?q=hopper")
    assert b"grace@example.com" in found.content


def test_address_admin_lists_and_searches(admin_client, user):
    AddressFactory(user=user, city="Bath", postal_code="BA1 1AA")
    AddressFactory(city="Leeds")
    listing = admin_client.get("/admin/core/address/?q=ada@example.com")
    assert listing.status_code == 200
    assert b"Bath" in listing.content
    assert b"Leeds" not in listing.content
    assert admin_client.get("/admin/core/address/?country__exact=FR").status_code == 200


def test_token_admin_never_shows_a_token(admin_client, user):
    refresh = tokens_for(user)["refresh"]
    outstanding = OutstandingToken.objects.get()
    for path in (
        "/admin/token_blacklist/outstandingtoken/",
        f"/admin/token_blacklist/outstandingtoken/{outstanding.pk}/change/",
    ):
        page = admin_client.get(path)
        assert page.status_code == 200, path
        assert refresh.encode() not in page.content
        assert outstanding.jti.encode() in page.content


def test_sent_email_log_is_read_only(admin_client, user):
    from core.tasks import user_welcome_send_task

    user_welcome_send_task.run(user.pk)
    page = admin_client.get("/admin/core/sentemail/")
    assert page.status_code == 200
    assert b"welcome" in page.content
    assert admin_client.get("/admin/core/sentemail/add/").status_code == 403


def test_sign_out_everywhere_action(admin_client, api_client, user):
    pair = tokens_for(user)
    response = admin_client.post(
        "/admin/core/user/", {"action": "sign_out_everywhere", "_selected_action": [user.pk]}
    )
    assert response.status_code == 302
    refreshed = api_client.post(
        "/api/auth/token/refresh", {"refresh": pair["refresh"]}, content_type="application/json"
    )
    assert refreshed.status_code == 401


# -- staff API ------------------------------------------------------------------------------------


@pytest.fixture
def support_group():
    group = Group.objects.create(name="Support")
    group.permissions.add(Permission.objects.get(codename="view_user"))
    return group


def test_staff_routes_need_a_token_staff_and_the_permission(api_client, user, support_group):
    assert api_client.get("/api/staff/users").status_code == 401
    customer = api_client.get("/api/staff/users", **bearer(user))
    assert customer.status_code == 403
    assert customer.json()["code"] == "permission_denied"

    staff = UserFactory(email="staff@example.com", is_staff=True)
    assert api_client.get("/api/staff/users", **bearer(staff)).status_code == 403
    staff.groups.add(support_group)
    assert api_client.get("/api/staff/users", **bearer(staff)).status_code == 200

    # the permission alone is not enough without is_staff
    user.groups.add(support_group)
    assert api_client.get("/api/staff/users", **bearer(user)).status_code == 403


def test_staff_user_list_and_detail(
    api_client, user, other_user, support_group, django_assert_max_num_queries
):
    staff = UserFactory(email="staff@example.com", is_staff=True)
    staff.groups.add(support_group)
    AddressFactory.create_batch(2, user=user)
    for n in range(20):
        UserFactory(email=f"bulk{n}@example.com")
    headers = bearer(staff)
    with django_assert_max_num_queries(5):  # auth user, permissions, count, page
        listing = api_client.get("/api/staff/users?page_size=100", **headers)
    assert listing.status_code == 200
    assert listing.json()["count"] == 23
    found = api_client.get("/api/staff/users?search=ADA@", **headers).json()["results"]
    assert [row["email"] for row in found] == ["ada@example.com"]
    ada = next(row for row in found if row["email"] == "ada@example.com")
    assert ada["address_count"] == 2
    assert "password" not in ada

    detail = api_client.get(f"/api/staff/users/{user.pk}", **headers)
    assert detail.status_code == 200
    assert len(detail.json()["addresses"]) == 2
    assert api_client.get("/api/staff/users/999999", **headers).status_code == 404


def test_admin_forms_render(admin_client, user):
    address = AddressFactory(user=user)
    for path in (
        "/admin/core/user/add/",
        f"/admin/core/user/{user.pk}/password/",
        f"/admin/core/address/{address.pk}/change/",
        "/admin/core/address/add/",
    ):
        assert admin_client.get(path).status_code == 200, path
    created = admin_client.post(
        "/admin/core/user/add/",
        {
            "email": "New@Example.com",
            "password1": "Fine-Passphrase-77",
            "password2": "Fine-Passphrase-77",
        },
    )
    assert created.status_code == 302, created.content[:2000]
    from core.models import User

    assert User.objects.get(email="new@example.com").check_password("Fine-Passphrase-77")
