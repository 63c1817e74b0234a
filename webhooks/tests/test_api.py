"""/api/staff/webhooks: endpoints CRUD, deliveries with their attempts, Send again; refusals are
4xx in the one error shape; lists cost the same queries whatever the page size."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from testing.factories import UserFactory, bearer, staff_user
from webhooks.models import Delivery, DeliveryStatus, Endpoint, EventType
from webhooks.services import webhook_events_record

pytestmark = pytest.mark.django_db

BASE = "/api/staff/webhooks"


@pytest.fixture
def staff(db):
    return staff_user("webhooks.*", email="ops@example.com")


def post(client, user, url, body=None, **headers):
    return client.post(url, body or {}, content_type="application/json", **bearer(user), **headers)


def test_staff_register_change_and_delete_an_endpoint(client, staff, settings):
    settings.DEBUG = False
    created = post(
        client,
        staff,
        f"{BASE}/endpoints",
        {"url": "https://93.184.216.34/hooks", "events": ["order.paid", "stock.low"]},
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 40
    assert body["events"] == ["order.paid", "stock.low"]
    assert body["secret_hint"] == f"...{body['secret'][-4:]}"
    endpoint_id = body["id"]

    shown = client.get(f"{BASE}/endpoints/{endpoint_id}", **bearer(staff)).json()
    assert "secret" not in shown and shown["url"] == "https://93.184.216.34/hooks"

    Endpoint.objects.filter(pk=endpoint_id).update(is_active=False, failing_since=timezone.now())
    changed = client.patch(
        f"{BASE}/endpoints/{endpoint_id}",
        {"is_active": True, "events": ["order.shipped"]},
        content_type="application/json",
        **bearer(staff),
    )
    assert changed.status_code == 200
    assert changed.json()["is_active"] is True and changed.json()["failing_since"] is None
    assert changed.json()["events"] == ["order.shipped"]

    gone = client.delete(f"{BASE}/endpoints/{endpoint_id}", **bearer(staff))
    assert gone.status_code == 204
    missing = client.get(f"{BASE}/endpoints/{endpoint_id}", **bearer(staff))
    assert missing.status_code == 404 and missing.json()["code"] == "webhook_endpoint_not_found"


def test_an_idempotency_key_creates_one_endpoint(client, staff):
    body = {"url": "https://93.184.216.34/in", "events": ["order.paid"]}
    first = post(client, staff, f"{BASE}/endpoints", body, HTTP_IDEMPOTENCY_KEY="k1")
    again = post(client, staff, f"{BASE}/endpoints", body, HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and again["Idempotent-Replayed"] == "true"
    assert Endpoint.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        (
            {"url": "http://93.184.216.34/in", "events": ["order.paid"]},
            "webhook_url_refused",
            "url",
        ),
        ({"url": "https://127.0.0.1/in", "events": ["order.paid"]}, "webhook_url_refused", "url"),
        ({"url": "https://10.1.2.3/in", "events": ["order.paid"]}, "webhook_url_refused", "url"),
        (
            {"url": "https://169.254.169.254/latest", "events": ["order.paid"]},
            "webhook_url_refused",
            "url",
        ),
        ({"url": "https://[::1]/in", "events": ["order.paid"]}, "webhook_url_refused", "url"),
        ({"url": "https://localhost/in", "events": ["order.paid"]}, "webhook_url_refused", "url"),
        (
            {"url": "https://user:pw@93.184.216.34/in", "events": ["order.paid"]},
            "webhook_url_refused",
            "url",
        ),
        ({"url": "ftp://93.184.216.34/in", "events": ["order.paid"]}, "validation_error", "url"),
        ({"url": "https://93.184.216.34/in", "events": []}, "validation_error", "events"),
        ({"url": "https://93.184.216.34/in", "events": ["order.lost"]}, "validation_error", None),
        (
            {"url": "https://93.184.216.34/in", "events": ["order.paid"], "secret": "short"},
            "validation_error",
            None,
        ),
        (
            {"url": "https://93.184.216.34/in", "events": ["order.paid"], "owner": "me"},
            "validation_error",
            None,
        ),
    ],
)
def test_bad_endpoints_are_422s(client, staff, settings, body, code, field):
    settings.DEBUG = False
    settings.WEBHOOKS_ALLOW_HTTP = False
    settings.WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = False
    response = post(client, staff, f"{BASE}/endpoints", body)
    assert response.status_code == 422, response.json()
    error = response.json()
    assert set(error) == {"code", "message", "details"} and error["code"] == code
    if field:
        assert field in {e["field"].split(".")[0] for e in error["details"]["errors"]}
    assert Endpoint.objects.count() == 0


def test_only_staff_with_the_permission(client, staff):
    assert client.get(f"{BASE}/endpoints").status_code == 401
    customer = client.get(f"{BASE}/endpoints", **bearer(UserFactory()))
    assert customer.status_code == 403 and customer.json()["code"] == "permission_denied"
    viewer = staff_user("webhooks.view_endpoint", email="viewer@example.com")
    assert client.get(f"{BASE}/endpoints", **bearer(viewer)).status_code == 200
    refused = post(
        client, viewer, f"{BASE}/endpoints", {"url": "https://93.184.216.34/", "events": ["x"]}
    )
    assert refused.status_code == 403


def _deliveries(count: int) -> Endpoint:
    endpoint = Endpoint.objects.create(
        url="https://93.184.216.34/in", events=[EventType.ORDER_PAID], secret="s" * 20
    )
    webhook_events_record(
        event_type=EventType.ORDER_PAID,
        build=lambda: [(f"EM-{n}", {"n": n}) for n in range(count)],
    )
    return endpoint


def test_lists_cost_the_same_queries_whatever_the_page_size(client, staff):
    _deliveries(30)
    for n in range(30):
        Endpoint.objects.create(
            url=f"https://93.184.216.34/{n}", events=["order.paid"], secret="s" * 20
        )

    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url, **bearer(staff))
        assert response.status_code == 200
        return len(captured)

    # The test's token (bearer), the caller, their permissions (2), the count, the page with
    # its events.
    small = queries(f"{BASE}/deliveries?page_size=2")
    assert small == queries(f"{BASE}/deliveries?page_size=100") <= 6
    assert queries(f"{BASE}/endpoints?page_size=2") == queries(f"{BASE}/endpoints?page_size=100")
    listed = client.get(f"{BASE}/deliveries?page_size=100", **bearer(staff)).json()
    assert listed["count"] == 30 and listed["results"][0]["event_type"] == "order.paid"
    filtered = client.get(f"{BASE}/deliveries?subject=EM-3", **bearer(staff)).json()
    assert [d["subject"] for d in filtered["results"]] == ["EM-3"]
    bad = client.get(f"{BASE}/deliveries?status=lost", **bearer(staff))
    assert bad.status_code == 422


def test_a_delivery_with_its_attempts_and_send_again(
    client, staff, run_tasks, receiver, endpoint_for
):
    receiver.script(500)
    endpoint_for(receiver, EventType.ORDER_PAID)
    with run_tasks():
        webhook_events_record(event_type=EventType.ORDER_PAID, build=lambda: [("EM-9", {"a": 1})])
    delivery = Delivery.objects.get()
    detail = client.get(f"{BASE}/deliveries/{delivery.pk}", **bearer(staff)).json()
    assert detail["status"] == "retrying" and detail["payload"]["data"] == {"a": 1}
    assert [(a["number"], a["status_code"], a["outcome"]) for a in detail["attempt_log"]] == [
        (1, 500, "retry")
    ]

    url = f"{BASE}/deliveries/{delivery.pk}/redeliver"
    no_key = post(client, staff, url)
    assert no_key.status_code == 400 and no_key.json()["code"] == "idempotency_key_required"
    with run_tasks():
        sent = post(client, staff, url, HTTP_IDEMPOTENCY_KEY="again-1")
    with run_tasks():
        repeat = post(client, staff, url, HTTP_IDEMPOTENCY_KEY="again-1")
    assert sent.status_code == repeat.status_code == 200
    assert repeat.json() == sent.json()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED and delivery.attempts == 2
    assert len(receiver.requests) == 2  # the repeat sent nothing

    Endpoint.objects.update(is_active=False)
    disabled = post(client, staff, url, HTTP_IDEMPOTENCY_KEY="again-2")
    assert disabled.status_code == 409 and disabled.json()["code"] == "webhook_endpoint_disabled"
    missing = post(client, staff, f"{BASE}/deliveries/999999/redeliver", HTTP_IDEMPOTENCY_KEY="k")
    assert missing.status_code == 404 and missing.json()["code"] == "webhook_delivery_not_found"
