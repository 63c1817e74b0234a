"""The leaf every settings module builds on: the project root, the one `env` that reads the
environment, and DATA_DIR (EMPORIUM_DATA_DIR), under which the embedded services and local media
live. It imports nothing from the project."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()

DATA_DIR = Path(env("EMPORIUM_DATA_DIR", default=str(BASE_DIR / ".data")))
