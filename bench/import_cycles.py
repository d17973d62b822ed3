"""The import cycles of the zookit package below the CLI, as grimp reads the code (imports inside functions
count like those at the top of a module; ``if TYPE_CHECKING`` blocks too): the strongly connected
components of more than one module of the import graph without ``zookit.cli`` and ``zookit.__main__``
(the package's face ``zookit`` is in it). A layered package has none. Prints the modules counted, the
number of cycles and their sizes, then each cycle's modules; ``--largest N`` adds the N longest modules.

    .venv/bin/python bench/import_cycles.py [--largest 10] [--package-dir src]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def below_cli(module: str) -> bool:
    return not (module == "zookit.__main__" or module == "zookit.cli" or module.startswith("zookit.cli."))


def cycles(imports: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(imports):
        if start in index:
            continue
        work = [(start, iter(sorted(imports[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for nxt in edges:
                if nxt not in index:
                    index[nxt] = low[nxt] = len(index)
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(imports[nxt]))))
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return sorted(found, key=len, reverse=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--largest", type=int, default=0, help="also list the N longest modules (lines)")
    parser.add_argument("--package-dir", type=Path, default=ROOT / "src", help="the folder holding zookit/")
    args = parser.parse_args()
    sys.path.insert(0, str(args.package_dir))
    import grimp

    graph = grimp.build_graph("zookit", include_external_packages=False, cache_dir=None)
    modules = sorted(m for m in graph.modules if below_cli(m))
    imports = {m: {d for d in graph.find_modules_directly_imported_by(m) if below_cli(d)} for m in modules}
    edges = sum(len(d) for d in imports.values())
    found = cycles(imports)
    print(
        f"modules below the CLI: {len(modules)}, imports between them: {edges}, "
        f"cycles (strongly connected components > 1 module): {len(found)}, sizes: {[len(c) for c in found]}"
    )
    for i, component in enumerate(found, 1):
        print(f"cycle {i} ({len(component)} modules): {' '.join(component)}")
    if args.largest:
        package = args.package_dir / "zookit"
        sizes = sorted(
            (
                (len(p.read_text().splitlines()), p.relative_to(package).as_posix())
                for p in package.rglob("*.py")
            ),
            reverse=True,
        )
        print(f"largest modules (lines): {', '.join(f'{name} {n}' for n, name in sizes[: args.largest])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
