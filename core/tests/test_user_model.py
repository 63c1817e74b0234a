import pytest
from django.db import IntegrityError

pytestmark = pytest.mark.django_db


def test_email_is_the_login_and_is_stored_lower_case(django_user_model):
    user = django_user_model.objects.create_user("  Ada@Example.COM ", "pw-Long-enough-1")
    assert user.email == "ada@example.com"
    assert django_user_model.objects.get_by_natural_key("ADA@example.com") == user
    assert user.check_password("pw-Long-enough-1")
    assert not user.is_staff


def test_same_email_in_another_case_is_refused(django_user_model):
    django_user_model.objects.create_user("ada@example.com", "pw-Long-enough-1")
    with pytest.raises(Exception):  # noqa: B017 - full_clean's ValidationError or the index
        django_user_model.objects.create_user("ADA@example.com", "pw-Long-enough-1")


def test_database_refuses_a_mixed_case_email(django_user_model):
    user = django_user_model.objects.create_user("ada@example.com", "pw-Long-enough-1")
    with pytest.raises(IntegrityError):
        django_user_model.objects.filter(pk=user.pk).update(email="Ada@example.com")
