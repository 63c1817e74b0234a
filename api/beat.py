"""Installs settings.DEFAULT_BEAT_SCHEDULES into django-celery-beat, where staff can edit them.

Runs after every `migrate` (post_migrate) and when beat starts. For each default:
- missing and never installed: created;
- unchanged since we installed it and the default changed in code: updated to the new default;
- edited by staff in the admin (schedule, arguments, disabled...): left exactly as staff left it;
- deleted by staff after we installed it: not recreated (disable it to pause, delete to drop).

An entry: {"task": "reports.daily_sales", "crontab": {"minute": "0", "hour": "3"}} or
{"task": "...", "every_seconds": 300}, with optional "args", "kwargs", "queue", "description".
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction

CRONTAB_FIELDS = ("minute", "hour", "day_of_week", "day_of_month", "month_of_year")
_PERIOD_SECONDS = {"days": 86400, "hours": 3600, "minutes": 60, "seconds": 1, "microseconds": 1e-6}


def _desired(name: str, entry: dict[str, Any]) -> dict[str, Any]:
    """The comparable state a default asks for."""
    if not entry.get("task"):
        raise ImproperlyConfigured(f"DEFAULT_BEAT_SCHEDULES[{name!r}] has no task")
    if ("crontab" in entry) == ("every_seconds" in entry):
        raise ImproperlyConfigured(
            f"DEFAULT_BEAT_SCHEDULES[{name!r}] needs exactly one of crontab or every_seconds"
        )
    if "crontab" in entry:
        unknown = set(entry["crontab"]) - {*CRONTAB_FIELDS, "timezone"}
        if unknown:
            raise ImproperlyConfigured(f"unknown crontab fields in {name!r}: {sorted(unknown)}")
        schedule: dict[str, Any] = {
            "crontab": {
                **{field: str(entry["crontab"].get(field, "*")) for field in CRONTAB_FIELDS},
                "timezone": str(entry["crontab"].get("timezone", settings.TIME_ZONE)),
            }
        }
    else:
        every = entry["every_seconds"]
        if not isinstance(every, int) or isinstance(every, bool) or every < 1:
            raise ImproperlyConfigured(f"every_seconds of {name!r} must be a whole number >= 1")
        schedule = {"every_seconds": every}
    return {
        "task": entry["task"],
        "schedule": schedule,
        "args": list(entry.get("args", [])),
        "kwargs": dict(entry.get("kwargs", {})),
        "queue": entry.get("queue") or None,
        "enabled": True,
    }


def _current(task) -> dict[str, Any]:
    """The same comparable state, read from a PeriodicTask row."""
    if task.crontab_id:
        crontab = task.crontab
        schedule: dict[str, Any] = {
            "crontab": {
                **{field: getattr(crontab, field) for field in CRONTAB_FIELDS},
                "timezone": str(crontab.timezone),
            }
        }
    elif task.interval_id:
        interval = task.interval
        seconds = interval.every * _PERIOD_SECONDS[interval.period]
        schedule = {"every_seconds": int(seconds) if seconds == int(seconds) else seconds}
    else:
        schedule = {"other": True}  # solar or clocked: never something we installed
    return {
        "task": task.task,
        "schedule": schedule,
        "args": json.loads(task.args or "[]"),
        "kwargs": json.loads(task.kwargs or "{}"),
        "queue": task.queue or None,
        "enabled": task.enabled,
    }


def _fingerprint(state: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()


def _apply(task, state: dict[str, Any], description: str) -> None:
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule

    schedule = state["schedule"]
    if "crontab" in schedule:
        task.crontab, _ = CrontabSchedule.objects.get_or_create(**schedule["crontab"])
        task.interval = None
    else:
        task.interval, _ = IntervalSchedule.objects.get_or_create(
            every=schedule["every_seconds"], period=IntervalSchedule.SECONDS
        )
        task.crontab = None
    task.task = state["task"]
    task.args = json.dumps(state["args"])
    task.kwargs = json.dumps(state["kwargs"])
    task.queue = state["queue"]
    task.enabled = True
    task.description = description
    task.save()


def install_default_schedules(defaults: dict[str, dict] | None = None) -> dict[str, str]:
    """Sync the defaults into django-celery-beat; what happened to each, by name."""
    from django_celery_beat.models import PeriodicTask

    # Runs from post_migrate and beat_init; this module is imported before models are ready.
    InstalledBeatSchedule = apps.get_model("api", "InstalledBeatSchedule")

    defaults = settings.DEFAULT_BEAT_SCHEDULES if defaults is None else defaults
    report: dict[str, str] = {}
    for name, entry in defaults.items():
        desired = _desired(name, entry)
        wanted = _fingerprint(desired)
        description = entry.get("description") or (
            "Default schedule from the code (DEFAULT_BEAT_SCHEDULES). Edit or disable it here: "
            "your changes are kept."
        )
        with transaction.atomic():
            record = InstalledBeatSchedule.objects.select_for_update().filter(name=name).first()
            task = (
                PeriodicTask.objects.select_related("crontab", "interval").filter(name=name).first()
            )
            if task is None and record is not None:
                report[name] = "deleted by staff, not recreated"
                continue
            if task is None:
                _apply(PeriodicTask(name=name), desired, description)
                InstalledBeatSchedule.objects.create(name=name, fingerprint=wanted)
                report[name] = "created"
                continue
            current = _fingerprint(_current(task))
            if current == wanted:
                report[name] = "unchanged"
            elif record is not None and current == record.fingerprint:
                _apply(task, desired, description)
                report[name] = "updated"
            else:
                report[name] = "edited by staff, kept"
                continue
            InstalledBeatSchedule.objects.update_or_create(
                name=name, defaults={"fingerprint": wanted}
            )
    return report


def install_after_migrate(sender, using: str = "default", **kwargs) -> None:
    """post_migrate receiver: once per migrate (sent for every app), on the primary only."""
    from django.db import connections

    if getattr(sender, "name", None) != "api" or using != "default":
        return
    if "django_celery_beat_periodictask" not in connections[using].introspection.table_names():
        return  # a partial migrate that has not reached django-celery-beat yet
    install_default_schedules()
