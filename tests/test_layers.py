"""Who may import whom: relance/lib/ builds on no app, and the ledger does not know dunning (it
sends ledger_changed instead)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "relance"
# The demo command builds a whole company (ledger, dunning, channels): it sits in the ledger app for
# its place in `relance demo`, not as part of the ledger.
# The ledger's admin pages are a front end like the CLI: their writes (promises, disputes, pauses,
# insolvency) go through the dunning actions, as every write must.
WHOLE_APP_COMMANDS = {ROOT / "ledger" / "management" / "commands" / "demo.py", ROOT / "ledger" / "admin.py"}


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def offenders(folder: Path, forbidden) -> dict[str, list[str]]:
    """The modules of `folder` that import a module `forbidden(name)` rejects, with those names."""
    found = {}
    for path in sorted(folder.rglob("*.py")):
        if path in WHOLE_APP_COMMANDS or "migrations" in path.parts:
            continue
        bad = sorted(m for m in imported_modules(path) if forbidden(m))
        if bad:
            found[str(path.relative_to(ROOT))] = bad
    return found


def test_lib_imports_no_app():
    assert offenders(ROOT / "lib", lambda m: m.startswith("relance.") and not m.startswith("relance.lib")) == {}


def test_the_ledger_does_not_import_dunning():
    assert offenders(ROOT / "ledger", lambda m: m.startswith("relance.dunning")) == {}
