"""Emulators of the remote systems (PrestaShop 8.2 Webservice, Productsup Platform and Stream APIs) for tests,
`make run` and `bench/`. Production code never imports this package (tests/test_layout.py checks it)."""
