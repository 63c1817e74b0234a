"""What a delivery carries and how it is signed; docs/webhooks.md shows the receiver's side
(and a test runs its snippet).

    Emporium-Signature: t=1732291200,v1=<hex HMAC-SHA256(secret, "1732291200." + body)>

The timestamp is the attempt's, so a receiver can refuse old replays; the body is the same bytes
in every attempt of an event.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import Any

SIGNATURE_HEADER = "Emporium-Signature"
EVENT_ID_HEADER = "Emporium-Event-Id"
EVENT_TYPE_HEADER = "Emporium-Event"
USER_AGENT = "Emporium-Webhooks/1"


def secret_new() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def envelope(event: Any) -> dict[str, Any]:
    """What a receiver gets (a webhooks.models.Event): its id, for the receiver's dedupe; its
    type; when it happened; its data as it was then."""
    return {
        "id": str(event.event_id),
        "type": event.type,
        "created_at": event.created_at.isoformat(),
        "data": event.payload,
    }


def body_bytes(content: dict[str, Any]) -> bytes:
    """The body of every attempt: compact JSON with sorted keys, so it is the same bytes each
    time it is built from the stored event."""
    return json.dumps(content, sort_keys=True, separators=(",", ":")).encode()
