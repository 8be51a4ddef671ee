"""Write the Postman collection and its environment file (docs/postman/), generated from the OpenAPI schema."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from config.api.postman import COLLECTION_FILE, ENVIRONMENT_FILE, dumps, postman_collection, postman_environment


class Command(BaseCommand):
    help = "Generate docs/postman/ from /api/schema/ (--check: fail when the committed files differ)."

    def add_arguments(self, parser):
        parser.add_argument("--output-dir", default=str(Path(settings.BASE_DIR) / "docs" / "postman"))
        parser.add_argument("--check", action="store_true", help="Compare instead of writing; exit 1 on a difference.")

    def handle(self, *args, output_dir, check, **options):
        directory = Path(output_dir)
        files = {COLLECTION_FILE: dumps(postman_collection()), ENVIRONMENT_FILE: dumps(postman_environment())}
        if check:
            stale = [
                name
                for name, text in files.items()
                if not (directory / name).is_file() or (directory / name).read_text() != text
            ]
            if stale:
                raise CommandError(
                    f"{', '.join(stale)} in {directory} differ from the schema: run `manage.py postman_collection`."
                )
            self.stdout.write("The Postman collection matches the schema.")
            return
        directory.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (directory / name).write_text(text)
            self.stdout.write(f"Wrote {directory / name}")
