"""Admin for the outbox (task messages not sent yet, and their age), the dead-letter store
(failed task jobs, read-only, with a "retry" action), and django-celery-beat's schedules in
Unfold's look."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.timesince import timesince
from django_celery_beat import admin as beat_admin
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import action, display
from unfold.widgets import UnfoldAdminSelectWidget, UnfoldAdminTextInputWidget

from api.admin_actions import after_dialog, confirm
from api.models import FailedTask, OutboxMessage
from api.tasks import failed_task_retry


class UnsentFilter(admin.SimpleListFilter):
    title, parameter_name = "sent", "sent"

    def lookups(self, request, model_admin):
        return [("no", "Not sent yet"), ("yes", "Sent")]

    def queryset(self, request, queryset):
        if self.value() in ("no", "yes"):
            return queryset.filter(sent_at__isnull=self.value() == "no")
        return queryset


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ModelAdmin):
    """Task messages written with their changes (api/outbox.py): the ones not sent yet are the
    broker's backlog; read-only (beat's relay sends them)."""

    list_display = ["id", "task_name", "sent_badge", "age", "attempts", "last_error", "sent_at"]
    list_filter = [UnsentFilter, "task_name"]
    search_fields = ["task_name"]
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @display(description="Sent", label={"sent": "success", "waiting": "warning"})
    def sent_badge(self, obj: OutboxMessage):
        return ("sent", "Sent") if obj.sent_at else ("waiting", "Waiting")

    @display(description="Waiting for")
    def age(self, obj: OutboxMessage) -> str:
        if obj.sent_at:
            return "-"
        return timesince(obj.created_at)


@admin.register(FailedTask)
class FailedTaskAdmin(ModelAdmin):
    list_display = [
        "task_name",
        "status_badge",
        "exception_short",
        "attempts",
        "times_failed",
        "queue",
        "last_failed_at",
    ]
    list_filter = ["status", "task_name", "queue"]
    search_fields = ["task_name", "job_id", "task_id", "trace_id", "exception"]
    date_hierarchy = "last_failed_at"
    actions = ["retry_selected"]
    actions_detail = ["retry_one"]
    list_select_related = ["retried_by"]
    fieldsets = (
        (None, {"fields": ("task_name", "status", "queue", "job_id", "task_id", "trace_id")}),
        ("Call", {"fields": ("args", "kwargs", "headers")}),
        ("Failure", {"fields": ("exception", "traceback", "attempts", "times_failed")}),
        (
            "Timeline",
            {
                "fields": (
                    "first_failed_at",
                    "last_failed_at",
                    "retry_count",
                    "retried_at",
                    "retried_by",
                    "resolved_at",
                )
            },
        ),
    )

    # Rows are written by the workers only: staff read them, retry them, or delete them.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_retry_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.has_perm("api.retry_failedtask")

    @display(
        description="Status",
        label={
            FailedTask.Status.FAILED: "danger",
            FailedTask.Status.RETRIED: "warning",
            FailedTask.Status.RESOLVED: "success",
        },
    )
    def status_badge(self, obj: FailedTask) -> str:
        return obj.status

    @display(description="Error")
    def exception_short(self, obj: FailedTask) -> str:
        return obj.exception if len(obj.exception) <= 80 else obj.exception[:79] + "…"

    def _retry(self, request: HttpRequest, ids: list[int]) -> None:
        sent = sum(failed_task_retry(failed_task_id=pk, actor_id=request.user.pk) for pk in ids)
        skipped = len(ids) - sent
        if sent:
            self.message_user(request, f"{sent} task(s) enqueued again.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request,
                f"{skipped} task(s) skipped: only failed ones can be retried.",
                messages.WARNING,
            )

    @action(description="Retry the selected failed tasks", permissions=["retry"])
    def retry_selected(self, request: HttpRequest, queryset) -> None:
        self._retry(request, list(queryset.values_list("pk", flat=True)))

    @action(
        description="Retry",
        permissions=["retry"],
        url_path="retry",
        # A confirmation form that posts: following a link must never enqueue work.
        dialog=confirm(
            "Retry this task?",
            "The task is enqueued again with the same arguments and job id.",
            "Retry",
        ),
    )
    def retry_one(self, request: HttpRequest, form, object_id: str) -> HttpResponse:
        self._retry(request, [int(object_id)])
        return after_dialog(request, reverse("admin:api_failedtask_change", args=[object_id]))


# -- django-celery-beat, in Unfold's look (its own admin classes, re-registered) ------------------
class UnfoldTaskSelectWidget(UnfoldAdminSelectWidget, beat_admin.TaskSelectWidget):
    pass


class PeriodicTaskForm(beat_admin.PeriodicTaskForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["task"].widget = UnfoldAdminTextInputWidget()
        self.fields["regtask"].widget = UnfoldTaskSelectWidget()


class PeriodicTaskInline(beat_admin.PeriodicTaskInline, TabularInline):
    pass


for _model in (PeriodicTask, IntervalSchedule, CrontabSchedule, SolarSchedule, ClockedSchedule):
    admin.site.unregister(_model)


@admin.register(PeriodicTask)
class PeriodicTaskAdmin(beat_admin.PeriodicTaskAdmin, ModelAdmin):
    form = PeriodicTaskForm


@admin.register(IntervalSchedule)
class IntervalScheduleAdmin(beat_admin.IntervalScheduleAdmin, ModelAdmin):
    inlines = [PeriodicTaskInline]


@admin.register(CrontabSchedule)
class CrontabScheduleAdmin(beat_admin.CrontabScheduleAdmin, ModelAdmin):
    inlines = [PeriodicTaskInline]


@admin.register(SolarSchedule)
class SolarScheduleAdmin(beat_admin.SolarScheduleAdmin, ModelAdmin):
    inlines = [PeriodicTaskInline]


@admin.register(ClockedSchedule)
class ClockedScheduleAdmin(beat_admin.ClockedScheduleAdmin, ModelAdmin):
    inlines = [PeriodicTaskInline]
