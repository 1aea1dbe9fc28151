"""The benchmarks run from ``requirements.txt`` alone, as the README says.

They are scripts, not tests, and are not run here (speed lives in bench/); what can break them
quietly is an import of something only the test virtualenv has, such as the tests package
(which needs pytest). Every import of every bench script, top-level or inside a function,
must be the standard library, the project, bench itself or a distribution requirements.txt
names, unless it is optional (``try: import x`` / ``except ImportError``).
"""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imported_modules(path: Path) -> set[str]:
    """The top-level names of the absolute imports in *path*, but those in the body of a
    ``try`` whose handler catches ImportError: optional (a column the script leaves out when
    the package is not installed)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    optional = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
            isinstance(handler.type, ast.Name)
            and handler.type.id in ("ImportError", "ModuleNotFoundError")
            for handler in node.handlers
        ):
            optional.update(id(inner) for statement in node.body for inner in ast.walk(statement))
    names = set()
    for node in ast.walk(tree):
        if id(node) in optional:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _runtime_distributions() -> set[str]:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    names = {re.split(r"[\[=<>~! ;]", line.strip(), maxsplit=1)[0] for line in lines}
    return {_normalized(name) for name in names if name and not name.startswith(("#", "-"))}


def _normalized(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def test_bench_scripts_import_only_what_requirements_txt_installs():
    project = {path.name for path in ROOT.iterdir() if (path / "__init__.py").exists()}
    project.discard("tests")
    project.add("bench")
    runtime = _runtime_distributions()
    installed_by = packages_distributions()
    scripts = sorted((ROOT / "bench").glob("*.py"))
    assert scripts, "no bench scripts found"

    strays = {}
    for script in scripts:
        for module in _imported_modules(script):
            if module in sys.stdlib_module_names or module in project or module == "__future__":
                continue
            distributions = {_normalized(d) for d in installed_by.get(module, [])}
            if not distributions & runtime:
                strays.setdefault(script.name, []).append(module)
    assert strays == {}, "bench scripts import what requirements.txt does not install"
