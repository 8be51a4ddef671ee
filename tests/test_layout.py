"""The tree keeps its promises: production code never imports the sandboxes (they are test/dev emulators), and
comments point into the repository."""

import ast
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION_PACKAGES = ["catalog", "config", "connectors", "exports", "syncjobs", "webhooks"]


def production_modules():
    yield ROOT / "manage.py"
    for package in PRODUCTION_PACKAGES:
        yield from sorted((ROOT / package).rglob("*.py"))


def imported_names(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


def test_production_code_never_imports_the_sandboxes():
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in production_modules()
        for name in imported_names(path)
        if name == "sandboxes" or name.startswith("sandboxes.")
    ]
    assert offenders == []


def test_the_layout_check_sees_the_production_tree():
    # Guards the check above against silently scanning nothing after a move.
    scanned = {path.relative_to(ROOT).parts[0] for path in production_modules()}
    assert set(PRODUCTION_PACKAGES) <= scanned
    assert (ROOT / "sandboxes" / "prestashop" / "webservice.py").exists()


OUTSIDE = re.compile(
    r"SPEC §|products-sync-api\.txt|productsup-platform-api\.txt|prestashop-webservice-notes|/work/shared"
)


def test_comments_point_into_the_repository():
    """The behaviour we rely on is written down in docs/ (api.md, prestashop.md, productsup.md, operations.md);
    a comment naming a document outside the repository points nowhere for the next engineer."""
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    offenders = []
    for name in tracked.split():
        path = ROOT / name
        if name == "tests/test_layout.py" or not path.is_file():
            continue
        if path.suffix not in {".py", ".md", ".html", ".txt", ".toml", ".in", ".sh", ".js"}:
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if OUTSIDE.search(line):
                offenders.append(f"{name}:{number}: {line.strip()[:80]}")
    assert offenders == []
