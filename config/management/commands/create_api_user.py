"""`manage.py create_api_user NAME [--password-env VAR] [--reset]`: the login the ERP uses at /api/auth/login.

An API user is a plain active user, neither staff nor superuser (it cannot log in to the admin). The command
refuses a name that exists unless `--reset` (which sets a new password on that API user), never touches a
staff or superuser account, applies Django's password validators to a given password, and fails when
`--password-env` names a variable that is unset or empty (it never falls back to a generated password).
"""

import os
import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction


class Command(BaseCommand):
    help = "Create an API user for the ERP (not staff: it cannot log in to the admin). Prints a generated password."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--password-env",
            metavar="VAR",
            help="read the password from this environment variable (unset or empty: an error) instead of generating one",
        )
        parser.add_argument(
            "--reset", action="store_true", help="the API user exists: set a new password (its old one stops working)"
        )

    def handle(self, *args, username, password_env=None, reset=False, **options):
        if password_env:
            password = os.environ.get(password_env, "")
            if not password:
                raise CommandError(f"--password-env {password_env}: that environment variable is unset or empty.")
        else:
            password = secrets.token_urlsafe(18)
        User = get_user_model()
        with transaction.atomic():
            user = User.objects.select_for_update().filter(username=username).first()
            if user is not None and (user.is_staff or user.is_superuser):
                raise CommandError(f"{username!r} is a staff or superuser account; API users are separate accounts.")
            if user is not None and not reset:
                raise CommandError(f"API user {username!r} exists; use --reset to give it a new password.")
            candidate = user or User(username=username)
            try:
                validate_password(password, user=candidate)
            except ValidationError as exc:
                raise CommandError("Password refused: " + " ".join(exc.messages)) from None
            candidate.set_password(password)
            candidate.is_active = True
            candidate.save()
        self.stdout.write(f"{'Reset the password of' if user else 'Created'} API user {username!r}.")
        if not password_env:
            self.stdout.write(f"Password: {password}")
