"""Create (or reset the password of) a user the ERP logs in with at /api/auth/login."""

import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create an API user for the ERP (not staff: it cannot log in to the admin). Prints the password."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--password-env",
            help="Read the password from this environment variable instead of generating one.",
        )

    def handle(self, *args, username, password_env=None, **options):
        password = os.environ.get(password_env, "") if password_env else ""
        generated = not password
        password = password or secrets.token_urlsafe(18)
        user, created = get_user_model().objects.get_or_create(username=username)
        user.set_password(password)
        user.is_active = True
        user.save()
        verb = "Created" if created else "Updated"
        self.stdout.write(f"{verb} API user {username!r}.")
        if generated:
            self.stdout.write(f"Password: {password}")
