from django.apps import AppConfig


class SyncjobsConfig(AppConfig):
    name = "syncjobs"
    verbose_name = "Sync jobs"

    def ready(self) -> None:
        # Connected once the app registry is ready (the handlers' module imports models).
        from syncjobs import signals  # noqa: F401
