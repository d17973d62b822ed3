"""Private names (``_x``) of zookit used from outside their package, read from the code with ``ast``.

A use is ``from zookit.X import _name``, ``import zookit.X._mod``, or ``zookit.X._name`` / ``alias._name``
after ``import zookit.X`` or ``from zookit.X import mod [as alias]``; imports inside functions count like
the others. It crosses a package when the importer is in another top-level package (``zookit.modelinfo``
reading ``zookit.convert``) or outside the subpackage that owns the name (``zookit.deploy.mcu`` reading
``zookit.deploy.tidl``). A module right below ``zookit`` (``recipe.py``) is a package of its own.

Prints one line per use (``file:line: importer uses owner.name``) and the count; exit status 1 when there
is any. ``--tests`` adds tests/ (a test may read a private name within reason: listed, not counted).

    .venv/bin/python tools/private_names.py [--tests]
"""

from __future__ import annotations

import argparse
import ast
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Use:
    file: str
    line: int
    importer: str
    owner: str  # the module (or package) the private name belongs to
    name: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.importer} uses {self.owner}.{self.name}"


def private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def module_name(path: Path, src: Path) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def owning_package(owner: str, src: Path) -> str:
    """The package a private name is private to: a package's own; a module's parent package, except that a
    module right below ``zookit`` is a package of its own."""
    if (src / Path(*owner.split("."))).is_dir() or owner.count(".") < 2:
        return owner
    return owner.rsplit(".", 1)[0]


def crosses(importer: str, owner: str, src: Path) -> bool:
    package = owning_package(owner, src)
    return not (importer == package or importer.startswith(package + "."))


def _attribute_chain(node: ast.AST) -> list[str] | None:
    names: list[str] = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return [node.id, *reversed(names)]
    return None


def uses_in(path: Path, importer: str, src: Path) -> list[Use]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found: list[tuple[int, str, str]] = []
    bound: dict[str, str] = {}  # a local name -> the zookit module or object it stands for
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "zookit":
            for alias in node.names:
                if private(alias.name):
                    found.append((node.lineno, node.module, alias.name))
                else:
                    bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] != "zookit":
                    continue
                hidden = [i for i, p in enumerate(parts) if private(p)]
                if hidden:
                    found.append((node.lineno, ".".join(parts[: hidden[0]]), parts[hidden[0]]))
                bound[alias.asname or "zookit"] = alias.name if alias.asname else "zookit"
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and private(node.attr):
            chain = _attribute_chain(node)
            if chain and chain[0] in bound:
                dotted = [*bound[chain[0]].split("."), *chain[1:]]
                found.append((node.lineno, ".".join(dotted[:-1]), dotted[-1]))
    file = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)
    return [
        Use(file, line, importer, owner, name)
        for line, owner, name in sorted(set(found))
        if crosses(importer, owner, src)
    ]


def private_uses(src: Path = ROOT / "src", tests: Path | None = None) -> list[Use]:
    """Every private name used across packages under ``src/zookit`` (and in ``tests``, as importer 'tests')."""
    files = [(p, module_name(p, src)) for p in sorted((src / "zookit").rglob("*.py"))]
    if tests is not None:
        files += [(p, "tests") for p in sorted(tests.rglob("*.py"))]
    return [use for path, importer in files for use in uses_in(path, importer, src)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tests", action="store_true", help="also list tests/ (not counted)")
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="the folder holding zookit/")
    args = parser.parse_args(argv)
    package = private_uses(args.src)
    for use in package:
        print(use)
    print(f"{len(package)} private names used across packages")
    if args.tests:
        tested = private_uses(args.src, ROOT / "tests")[len(package) :]
        for use in tested:
            print(use)
        print(f"{len(tested)} in tests (within reason: a test of a private helper)")
    return 1 if package else 0


if __name__ == "__main__":
    sys.exit(main())
