"""Sandbox PrestaShop: an emulator of the PrestaShop 8.2 Webservice subset the service uses, over real HTTP."""

from .server import DEFAULT_API_KEY, SandboxPrestaShop

__all__ = ["DEFAULT_API_KEY", "SandboxPrestaShop"]
