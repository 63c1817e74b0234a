"""The verification snippet of docs/webhooks.md, run as a receiver would run it: it accepts a
real delivery and refuses a tampered body, a wrong secret, a forged or stale signature."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from django.conf import settings

from webhooks.models import EventType
from webhooks.services import webhook_events_record
from webhooks.signing import signature_header
from webhooks.tests.fixtures import SECRET

pytestmark = pytest.mark.django_db

DOC = Path(settings.BASE_DIR) / "docs" / "webhooks.md"


def documented_verify():
    """`verify` as docs/webhooks.md shows it, between its verify-snippet markers."""
    text = DOC.read_text()
    block = re.search(
        r"<!-- verify-snippet -->\s*```python\n(.*?)```\s*<!-- /verify-snippet -->", text, re.S
    )
    assert block, "docs/webhooks.md lost its verification snippet"
    namespace: dict = {}
    exec(compile(block.group(1), str(DOC), "exec"), namespace)  # noqa: S102 - our own doc
    return namespace["verify"]


@pytest.fixture
def delivered(run_tasks, receiver, endpoint_for):
    endpoint_for(receiver, EventType.ORDER_PAID)
    with run_tasks():
        webhook_events_record(
            event_type=EventType.ORDER_PAID, build=lambda: [("EM-1", {"grand_total": "55.00"})]
        )
    (request,) = receiver.requests
    return request.body, request.headers["Emporium-Signature"]


def test_the_documented_snippet_accepts_a_real_delivery(delivered):
    body, header = delivered
    assert documented_verify()(SECRET, body, header) is True


def test_the_documented_snippet_detects_a_wrong_signature(delivered):
    verify = documented_verify()
    body, header = delivered
    tampered = body.replace(b"55.00", b"0.01")
    assert tampered != body
    assert verify(SECRET, tampered, header) is False
    assert verify("whsec_someone-elses-secret", body, header) is False
    forged = re.sub(r"v1=[0-9a-f]+", "v1=" + "0" * 64, header)
    assert verify(SECRET, body, forged) is False
    assert verify(SECRET, body, "garbage") is False
    stale = signature_header(SECRET, int(time.time()) - 3600, body)
    assert verify(SECRET, body, stale) is False
