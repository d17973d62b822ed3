"""Issue 30: the package's layers (.importlinter, drawn in docs/architecture.md) hold, imports inside
functions included, and an import that breaks one fails lint-imports naming that import.

lint-imports runs as CI runs it (.ci/run), in a child process, on this checkout's ``src`` (a copy of it
for the planted imports); it reads the import graph with grimp (a few tenths of a second, no cache)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"


def lint_imports(repo: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on ``repo``'s contracts and package (``repo/src/zookit``)."""
    env = {
        **os.environ,
        "COLUMNS": "200",
        "PYTHONPATH": os.pathsep.join([str(repo / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    return subprocess.run(
        [sys.executable, "-c", LINT, "--no-cache"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_layers_hold() -> None:
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert " kept, 0 broken." in done.stdout, done.stdout


def _copy(tmp_path: Path) -> Path:
    """This checkout's contracts and package sources (the .py files only) under ``tmp_path``."""

    def not_python(folder: str, names: list[str]) -> list[str]:
        return [
            n for n in names if n == "__pycache__" or not (n.endswith(".py") or (Path(folder) / n).is_dir())
        ]

    shutil.copytree(ROOT / "src" / "zookit", tmp_path / "src" / "zookit", ignore=not_python)
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    return tmp_path


MARK = "# planted by tests/test_layers.py"
# (the module the wrong import is planted in, the planted lines, what lint-imports must name)
PLANTED = {
    # the bottom of the package reaching the CLI, at module level
    "bottom imports the top": ("errors.py", f"\nimport zookit.cli  {MARK}\n", "zookit.errors -> zookit.cli"),
    # one deployer reaching another, inside a function (imports inside functions are checked too)
    "a deployer imports another": (
        "deploy/mcu/firmware.py",
        f"\n\ndef _planted() -> object:\n    from zookit.deploy.tidl import tools_path  {MARK}\n\n    return tools_path\n",
        "zookit.deploy.mcu.firmware -> zookit.deploy.tidl",
    ),
    # a module below the CLI reading the package's face (which imports the API)
    "a layer imports the face": (
        "hashes.py",
        f"\n\ndef _planted() -> object:\n    import zookit  {MARK}\n\n    return zookit\n",
        "zookit.hashes -> zookit",
    ),
}


@pytest.mark.parametrize("case", sorted(PLANTED))
def test_a_wrong_import_fails_naming_it(tmp_path: Path, case: str) -> None:
    module, lines, named = PLANTED[case]
    repo = _copy(tmp_path)
    path = repo / "src" / "zookit" / module
    assert f"{named} (l." not in lint_imports(repo).stdout  # not broken before the plant
    path.write_text(path.read_text() + lines)
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if MARK in text)
    done = lint_imports(repo)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"{named} (l.{line})" in done.stdout, done.stdout  # the planted import, by its line


def test_no_import_cycle_below_the_cli() -> None:
    """bench/import_cycles.py's count (grimp's graph, imports inside functions included) is zero: a new
    cycle, even inside one layer where the contracts allow both directions, fails here."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "import_cycles.py"), "--package-dir", str(ROOT / "src")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "cycles (strongly connected components > 1 module): 0," in done.stdout, done.stdout


def test_every_module_of_the_package_sits_in_a_layer() -> None:
    """A new top-level module or package is placed in .importlinter's layers, not left outside them."""
    import configparser

    config = configparser.ConfigParser()
    config.read(ROOT / ".importlinter")
    named = {
        name.strip().strip("()")
        for line in config["importlinter:contract:layers"]["layers"].splitlines()
        for name in line.replace(":", "|").split("|")
        if name.strip()
    }
    package = ROOT / "src" / "zookit"
    modules = {
        f"zookit.{p.stem if p.is_file() else p.name}"
        for p in package.iterdir()
        if (p.suffix == ".py" and p.name != "__init__.py") or (p / "__init__.py").is_file()
    }
    assert modules - named == set(), f"not in any layer of .importlinter: {sorted(modules - named)}"
