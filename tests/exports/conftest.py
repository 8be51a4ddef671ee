import pytest


@pytest.fixture(autouse=True)
def _fast_attempts(monkeypatch):
    """No real pause between whole-batch attempts in tests."""
    from exports import services

    monkeypatch.setattr(services, "_sleep", lambda s: None)
