"""manage.py create_api_user: a new API login, never a silent reset, never a staff account, real passwords."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db
LOGIN = "/api/auth/login"


def create(*args):
    from io import StringIO

    out = StringIO()
    call_command("create_api_user", *args, stdout=out)
    return out.getvalue()


def printed_password(output: str) -> str:
    return output.split("Password: ", 1)[1].strip()


def login(client, username, password) -> int:
    return client.post_json(LOGIN, {"username": username, "password": password}).status_code


def test_creates_an_api_user_that_can_log_in_but_is_not_staff(anon_client):
    output = create("erp")

    assert "Created API user 'erp'." in output
    user = get_user_model().objects.get(username="erp")
    assert (user.is_active, user.is_staff, user.is_superuser) == (True, False, False)
    assert login(anon_client, "erp", printed_password(output)) == 200


def test_an_existing_user_is_refused_and_keeps_its_password(anon_client):
    password = printed_password(create("erp"))

    with pytest.raises(CommandError, match="exists; use --reset"):
        create("erp")

    assert login(anon_client, "erp", password) == 200


def test_reset_gives_a_new_password_and_the_old_one_stops_working(anon_client):
    old = printed_password(create("erp"))

    new = printed_password(create("erp", "--reset"))

    assert login(anon_client, "erp", new) == 200
    assert login(anon_client, "erp", old) == 401


@pytest.mark.parametrize("flags", [{"is_staff": True}, {"is_staff": True, "is_superuser": True}])
@pytest.mark.parametrize("reset", [[], ["--reset"]])
def test_staff_and_superusers_are_never_touched(anon_client, flags, reset):
    get_user_model().objects.create_user(username="boss", password="boss-password-123", **flags)

    with pytest.raises(CommandError, match="staff or superuser"):
        create("boss", *reset)

    user = get_user_model().objects.get(username="boss")
    assert user.check_password("boss-password-123")
    assert user.is_staff is True


def test_a_weak_password_is_refused_by_the_validators(monkeypatch):
    monkeypatch.setenv("ERP_PASSWORD", "short")

    with pytest.raises(CommandError, match="Password refused: .*too short"):
        create("erp", "--password-env", "ERP_PASSWORD")

    assert not get_user_model().objects.filter(username="erp").exists()


def test_an_unset_password_env_is_an_error_not_a_generated_password(monkeypatch):
    monkeypatch.delenv("NOT_SET", raising=False)

    with pytest.raises(CommandError, match="NOT_SET: that environment variable is unset or empty"):
        create("erp", "--password-env", "NOT_SET")

    assert not get_user_model().objects.filter(username="erp").exists()


def test_a_given_password_is_used_and_not_printed(anon_client, monkeypatch):
    monkeypatch.setenv("ERP_PASSWORD", "a-long-enough-erp-password-42")

    output = create("erp", "--password-env", "ERP_PASSWORD")

    assert "Password:" not in output and "a-long-enough" not in output
    assert login(anon_client, "erp", "a-long-enough-erp-password-42") == 200
