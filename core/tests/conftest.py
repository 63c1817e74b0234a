import pytest

from api.auth import tokens_for
from core.tests.factories import PASSWORD, UserFactory


def bearer(user_or_token) -> dict[str, str]:
    token = user_or_token if isinstance(user_or_token, str) else tokens_for(user_or_token)["access"]
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def user(db):
    return UserFactory(email="ada@example.com")


@pytest.fixture
def other_user(db):
    return UserFactory(email="grace@example.com", first_name="Grace", last_name="Hopper")


@pytest.fixture
def run_tasks(django_capture_on_commit_callbacks):
    """Tasks enqueued after commit run at once, in process (a separate issue covers real workers).

    Use: `with run_tasks(): client.post(...)`.
    """
    from api.celery import app

    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True

    def runner():
        return django_capture_on_commit_callbacks(execute=True)

    yield runner
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved
