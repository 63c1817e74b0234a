"""Templated emails (HTML + text), sent from tasks, at most once per event.

    send_templated_email(
        template="order_confirmation",          # core/templates/emails/order_confirmation.*
        to=order.email,
        context={"order": order_data},
        event_key=f"order_confirmation:{order.pk}",
    )

A template is three files under a `templates/emails/` folder of any app:
`<name>.subject.txt` (one line), `<name>.txt` and `<name>.html` (which may extend
`emails/base.html`). Every template also gets `shop_name` and `storefront_url`.

With an event key the send is recorded as a SentEmail row inside the same transaction as the
send: a second call with the same key (a retried or redelivered task) finds the row and sends
nothing, and a concurrent one waits on the row's unique index until the first commits. A send that
fails rolls its row back, so the task's retry sends it again.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string

from core.models import SentEmail

logger = logging.getLogger("core.notifications")


def render_email(template: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, text body, HTML body) of an email template."""
    context = {
        "shop_name": settings.SHOP_NAME,
        "storefront_url": settings.STOREFRONT_URL,
        **context,
    }
    subject = render_to_string(f"emails/{template}.subject.txt", context)
    subject = " ".join(subject.split())  # a header: one line, whatever the template's layout
    text = render_to_string(f"emails/{template}.txt", context)
    html = render_to_string(f"emails/{template}.html", context)
    return subject, text, html


def send_templated_email(
    *,
    template: str,
    to: str,
    context: dict[str, Any],
    event_key: str | None = None,
    from_email: str | None = None,
) -> bool:
    """Send an email once; False when `event_key` was already sent (nothing is sent again)."""
    subject, text, html = render_email(template, context)
    message = EmailMultiAlternatives(
        subject=subject, body=text, from_email=from_email or settings.DEFAULT_FROM_EMAIL, to=[to]
    )
    message.attach_alternative(html, "text/html")
    with transaction.atomic():
        try:
            with transaction.atomic():
                SentEmail.objects.create(
                    event_key=event_key, template=template, recipient=to, subject=subject[:255]
                )
        except IntegrityError:
            logger.info("email already sent", extra={"event_key": event_key, "template": template})
            return False
        message.send()
    logger.info("email sent", extra={"event_key": event_key, "template": template})
    return True
