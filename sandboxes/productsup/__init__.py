"""Sandbox Productsup (Platform API + Stream API subsets) for `make run`, end-to-end tests and benchmarks."""

from sandboxes.productsup.server import SandboxProductsup

__all__ = ["SandboxProductsup"]
