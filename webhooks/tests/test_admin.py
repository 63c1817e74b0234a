"""The webhooks admin: endpoints saved through the services (the URL rule and the secret are the
API's), deliveries with their attempt log, and Send again only on the dialog's POST."""

from __future__ import annotations

import pytest
from django.urls import reverse

from testing.factories import UserFactory
from webhooks.models import Delivery, DeliveryStatus, Endpoint, EventType
from webhooks.services import webhook_events_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(email="root@example.com", is_staff=True, is_superuser=True))
    return client


def test_an_endpoint_added_in_the_admin_gets_a_secret_and_the_url_rule(admin_client, settings):
    settings.DEBUG = False
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    url = reverse("admin:webhooks_endpoint_add")
    assert admin_client.get(url).status_code == 200
    form = {"url": "https://93.184.216.34/in", "events": ["order.paid", "stock.out"]}
    form |= {"description": "ERP", "is_active": "on", "secret": ""}
    refused = admin_client.post(url, {**form, "url": "https://10.0.0.7/in"})
    assert refused.status_code == 200 and b"private address" in refused.content
    assert Endpoint.objects.count() == 0

    saved = admin_client.post(url, form)
    assert saved.status_code == 302, saved.content[:2000]
    endpoint = Endpoint.objects.get()
    assert endpoint.secret.startswith("whsec_") and endpoint.events == ["order.paid", "stock.out"]
    assert endpoint.created_by.email == "root@example.com"

    listing = admin_client.get(reverse("admin:webhooks_endpoint_changelist"))
    assert listing.status_code == 200 and b"93.184.216.34" in listing.content


def test_a_delivery_page_shows_its_attempts_and_send_again_asks_first(
    admin_client, run_tasks, receiver, endpoint_for
):
    receiver.script(503)
    endpoint_for(receiver, EventType.ORDER_PAID)
    with run_tasks():
        webhook_events_record(event_type=EventType.ORDER_PAID, build=lambda: [("EM-7", {})])
    delivery = Delivery.objects.get()
    page = admin_client.get(reverse("admin:webhooks_delivery_change", args=[delivery.pk]))
    assert page.status_code == 200
    assert b"503" in page.content and b"Send again" in page.content
    event_page = admin_client.get(reverse("admin:webhooks_event_change", args=[delivery.event_id]))
    assert event_page.status_code == 200

    url = reverse("admin:webhooks_delivery_redeliver_one", args=[delivery.pk])
    question = admin_client.get(url)  # as a link would open it
    assert question.status_code == 200 and b"<form" in question.content
    assert len(receiver.requests) == 1

    with run_tasks():
        answered = admin_client.post(url, {"_form_submitted": "on"})
    assert answered.status_code == 302
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 2)
    assert len(receiver.requests) == 2


def test_staff_who_may_only_look_see_an_endpoint_but_not_its_secret(client):
    from django.contrib.auth.models import Permission

    endpoint = Endpoint.objects.create(
        url="https://hooks.example.com/in",
        events=[EventType.ORDER_PAID],
        secret="whsec_only-for-signing-0123456789",
    )
    viewer = UserFactory(email="viewer@example.com", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_endpoint"))
    client.force_login(viewer)

    page = client.get(reverse("admin:webhooks_endpoint_change", args=[endpoint.pk]))

    assert page.status_code == 200  # was a KeyError: the read-only form has no fields
    assert b"hooks.example.com" in page.content
    assert b"whsec_only-for-signing" not in page.content
