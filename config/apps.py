from django.apps import AppConfig

from connectors.http import observe_requests


class ConfigConfig(AppConfig):
    name = "config"
    verbose_name = "Products Sync"

    def ready(self) -> None:
        from config import metrics  # needs the app registry (it reads jobs), so not at import time

        observe_requests(metrics.remote_request)
