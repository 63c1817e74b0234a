"""The Unfold admin: branded login, staff sign-in, the user admin without password hashes."""

import pytest

pytestmark = pytest.mark.django_db


def test_login_page_is_branded(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Emporium" in page
    assert "unfold" in page  # Unfold's own assets, served locally


def test_anonymous_admin_redirects_to_login(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_staff_signs_in_with_email_and_sees_users_without_hashes(client, django_user_model):
    django_user_model.objects.create_superuser("Boss@Example.com", "a-long-Passphrase-9")
    customer = django_user_model.objects.create_user("buyer@example.com", "another-Pass-77")
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "boss@example.com", "password": "a-long-Passphrase-9"},
    )
    assert response.status_code == 302, response.content[:500]
    assert client.get("/admin/").status_code == 200

    listing = client.get("/admin/core/user/?q=buyer")
    assert listing.status_code == 200
    assert b"buyer@example.com" in listing.content

    change = client.get(f"/admin/core/user/{customer.pk}/change/")
    assert change.status_code == 200
    assert customer.password.encode() not in change.content
    assert customer.password.split("$")[-1].encode() not in change.content


def test_customer_cannot_sign_in_to_the_admin(client, django_user_model):
    django_user_model.objects.create_user("buyer@example.com", "another-Pass-77")
    response = client.post(
        "/admin/login/", {"username": "buyer@example.com", "password": "another-Pass-77"}
    )
    assert response.status_code == 200  # the form again, with an error
    assert client.get("/admin/").status_code == 302


@pytest.mark.parametrize(
    ("login_url", "landing"),
    [
        ("/admin/login/", "/admin/"),  # opened directly: Unfold's form carries no `next` field
        ("/admin/login/?next=/admin/orders/order/", "/admin/orders/order/"),
        ("/admin/login/?next=https://evil.example/", "/admin/"),  # never off-site
    ],
)
def test_signing_in_lands_on_the_admin_or_the_page_asked_for(
    client, django_user_model, login_url, landing
):
    django_user_model.objects.create_superuser("boss@example.com", "a-long-Passphrase-9")
    response = client.post(
        login_url, {"username": "boss@example.com", "password": "a-long-Passphrase-9"}
    )
    assert response.status_code == 302
    assert response["Location"] == landing


# Link actions that open a page with their own form and act only on its POST (each has its test:
# orders/tests/test_admin_and_wiring.py, products/tests/test_admin.py).
FORM_PAGES = {"ship_one", "refund_one", "upload_csv", "import_csv"}


def test_every_admin_link_action_that_changes_state_asks_first():
    """Unfold runs a detail or list action on a GET of its URL unless it has a dialog: a link in
    an email would act with a signed-in staff member's session. Each one is POST-only behind a
    confirmation dialog (api/admin_actions.py), or a page whose form posts."""
    from django.contrib import admin

    unguarded = []
    for model, model_admin in admin.site._registry.items():
        for kind in ("actions_detail", "actions_list", "actions_row", "actions_submit_line"):
            for name in getattr(model_admin, kind, None) or []:
                if not isinstance(name, str):
                    continue
                function = getattr(model_admin, name)
                if getattr(function, "dialog", None) is None and name not in FORM_PAGES:
                    unguarded.append(f"{model._meta.label}.{name}")
    assert unguarded == []
