"""Sandbox Productsup (Platform API + Stream API subsets) for `make run`, end-to-end tests and benchmarks."""

from connectors.productsup.sandbox.server import SandboxProductsup

__all__ = ["SandboxProductsup"]
