"""The bare framework's floor: the benchmark's production settings with no middleware at all, so
/bench/floor measures Django, Ninja and gunicorn alone (bench/run.py, "floor")."""

from .server_settings import *  # noqa: F403

MIDDLEWARE: list[str] = []
