"""Tasks of the config app."""

from celery import shared_task


@shared_task(name="config.ping", ignore_result=False)
def ping() -> str:
    """A worker's answer to "are you there?" (the `make run` banner waits for it): a real round trip through
    the broker and the result backend."""
    return "pong"
