"""Webhooks in the admin: endpoints (saved through the services, so the URL rule is the API's),
events and deliveries read-only, each delivery with its attempt log and *Send again* (a POST
behind a confirmation dialog, api/admin_actions.py)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import action, display
from unfold.widgets import UnfoldAdminCheckboxSelectMultipleWidget

from api.admin_actions import after_dialog, confirm
from api.errors import ApiError
from webhooks import services
from webhooks.models import (
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    Endpoint,
    Event,
    EventType,
)

STATUS_COLORS = {
    DeliveryStatus.PENDING: "info",
    DeliveryStatus.RETRYING: "warning",
    DeliveryStatus.DELIVERED: "success",
    DeliveryStatus.FAILED: "danger",
}


FORM_FIELDS = ("url", "description", "events", "secret", "is_active")


class EndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=2000, assume_scheme="https")
    events = forms.MultipleChoiceField(
        choices=EventType.choices, widget=UnfoldAdminCheckboxSelectMultipleWidget
    )

    class Meta:
        model = Endpoint
        fields = list(FORM_FIELDS)
        help_texts = {"secret": "Leave empty to have one made (at least 16 characters)."}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Staff who may only look get a form without fields (the admin shows them read-only).
        if "url" in self.fields:
            self.fields["url"].help_text = "https, on a public address (docs/webhooks.md)."
        if "secret" in self.fields:
            self.fields["secret"].required = False

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        try:
            services.endpoint_url_check(url)
        except ApiError as exc:
            raise ValidationError(exc.message) from None
        return url

    def clean_secret(self) -> str:
        secret = self.cleaned_data.get("secret") or ""
        if secret and len(secret) < 16:
            raise ValidationError("A secret has at least 16 characters.")
        return secret


@admin.register(Endpoint)
class EndpointAdmin(ModelAdmin):
    form = EndpointForm
    list_display = ["url", "description", "active_badge", "event_list", "failing_since"]
    list_filter = ["is_active"]
    search_fields = ["url", "description"]
    readonly_fields = ["failing_since", "disabled_at", "disabled_reason", "created_at"]

    @display(description="Active", label={"active": "success", "disabled": "danger"})
    def active_badge(self, obj: Endpoint):
        return ("active", "active") if obj.is_active else ("disabled", "disabled")

    @display(description="Events")
    def event_list(self, obj: Endpoint) -> str:
        return ", ".join(obj.events)

    def get_fields(self, request: HttpRequest, obj: Endpoint | None = None):
        fields = super().get_fields(request, obj)
        if not self.has_change_permission(request, obj):
            # The secret signs every delivery: staff who may only look do not see it.
            return [name for name in fields if name != "secret"]
        return fields

    def save_model(self, request: HttpRequest, obj: Endpoint, form, change: bool) -> None:
        """Through the services: a new endpoint gets its secret there, and enabling one forgets
        its failures there, as in the API."""
        data = {name: form.cleaned_data[name] for name in FORM_FIELDS}
        if change:
            if not data["secret"]:
                data.pop("secret")
            saved = services.endpoint_update(endpoint_id=obj.pk, **data)
        else:
            saved = services.endpoint_create(**data, actor=request.user)
        obj.pk = saved.pk
        obj.refresh_from_db()


class ReadOnlyAdmin(ModelAdmin):
    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the log is kept: the daily prune removes finished events


class DeliveryInline(TabularInline):
    model = Delivery
    fields = ["delivery_link", "endpoint", "status", "attempts", "last_status_code"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @display(description="Delivery")
    def delivery_link(self, obj: Delivery) -> str:
        url = reverse("admin:webhooks_delivery_change", args=[obj.pk])
        return format_html('<a href="{}">#{}</a>', url, obj.pk)


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["type", "subject", "event_id", "created_at", "delivery_count"]
    list_filter = ["type"]
    search_fields = ["subject", "=event_id"]
    inlines = [DeliveryInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(delivery_count=Count("deliveries"))

    @display(description="Deliveries", ordering="delivery_count")
    def delivery_count(self, obj: Event) -> int:
        return obj.delivery_count


class AttemptInline(TabularInline):
    model = DeliveryAttempt
    fields = [
        "number",
        "started_at",
        "outcome",
        "status_code",
        "latency_ms",
        "error",
        "response_excerpt",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["number"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = [
        "pk",
        "event_type",
        "subject",
        "endpoint",
        "status_badge",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "created_at",
    ]
    list_filter = ["status", "event__type", "endpoint"]
    search_fields = ["event__subject", "=event__event_id", "endpoint__url"]
    list_select_related = ["event", "endpoint"]
    inlines = [AttemptInline]
    actions = ["redeliver_selected"]
    actions_detail = ["redeliver_one"]

    def has_redeliver_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.has_perm("webhooks.redeliver_delivery")

    @display(description="Event", ordering="event__type")
    def event_type(self, obj: Delivery) -> str:
        return obj.event.type

    @display(description="Subject", ordering="event__subject")
    def subject(self, obj: Delivery) -> str:
        return obj.event.subject

    @display(description="Status", ordering="status", label=STATUS_COLORS)
    def status_badge(self, obj: Delivery) -> str:
        return obj.status

    def _redeliver(self, request: HttpRequest, ids) -> None:
        sent = 0
        for delivery_id in ids:
            try:
                services.delivery_redeliver(delivery_id=delivery_id, actor=request.user)
                sent += 1
            except ApiError as exc:
                self.message_user(request, f"Delivery {delivery_id}: {exc.message}", messages.ERROR)
        if sent:
            self.message_user(request, f"{sent} delivery(ies) sent again.", messages.SUCCESS)

    @action(description="Send again", permissions=["redeliver"])
    def redeliver_selected(self, request: HttpRequest, queryset) -> None:
        self._redeliver(request, list(queryset.values_list("pk", flat=True)))

    @action(
        description="Send again",
        url_path="redeliver",
        permissions=["redeliver"],
        dialog=confirm(
            "Send this delivery again?",
            "The receiver gets the event again now, with the same event id, and it is retried "
            "for another day if it fails.",
            "Send again",
        ),
    )
    def redeliver_one(self, request: HttpRequest, form, object_id: str) -> HttpResponse:
        self._redeliver(request, [int(object_id)])
        return after_dialog(request, reverse("admin:webhooks_delivery_change", args=[object_id]))
