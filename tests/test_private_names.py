"""Issue 30: no private name (``_x``) of zookit is used from outside its package; tools/private_names.py
finds them with ``ast`` (imports inside functions included) and this test runs it on ``src`` and on a small
planted package whose every kind of use it must find, and no other."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Private names used across packages that are known and accepted: none (issue 30 removed the last).
KNOWN_ELSEWHERE: set[tuple[str, str]] = set()


@pytest.fixture(scope="module")
def tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("private_names", ROOT / "tools" / "private_names.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["private_names"] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def test_no_private_name_crosses_a_package(tool: ModuleType) -> None:
    found = {(u.importer, f"{u.owner}.{u.name}") for u in tool.private_uses(ROOT / "src")}
    assert found - KNOWN_ELSEWHERE == set(), "\n".join(map(str, tool.private_uses(ROOT / "src")))


PLANTED = {
    "zookit/__init__.py": "",
    "zookit/recipe.py": "def _check(v):\n    return v\n\n\ndef check(v):\n    return _check(v)\n",
    "zookit/recipe_tidl.py": "def name(v):\n    from zookit.recipe import _check\n\n    return _check(v)\n",
    "zookit/deploy/__init__.py": "",
    "zookit/deploy/tidl/__init__.py": "",
    "zookit/deploy/tidl/graphs.py": "from zookit.deploy.tidl.rules import _rule\n\n_VIEW = 1\n",
    "zookit/deploy/tidl/rules.py": "def _rule():\n    return 0\n",
    "zookit/deploy/mcu/__init__.py": "",
    "zookit/deploy/mcu/package.py": (
        "import zookit.deploy.tidl.graphs\nfrom zookit.deploy.tidl import graphs as g\n\n\n"
        "def package():\n    view = zookit.deploy.tidl.graphs._VIEW\n    return view + g._VIEW\n"
    ),
    "zookit/modelinfo.py": (
        "from zookit.recipe import check\n\n\ndef inspect():\n"
        "    from zookit.deploy.tidl.rules import _rule as rule\n\n    return check(rule())\n"
    ),
}


def test_the_tool_finds_each_kind_of_use_and_only_those(tool: ModuleType, tmp_path: Path) -> None:
    """A name imported inside a function, through a module alias and an attribute chain, by a sibling
    module at the top and by another deployer: found; a private name read inside its own package: not."""
    for name, text in PLANTED.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    found = sorted((u.importer, f"{u.owner}.{u.name}", u.line) for u in tool.private_uses(tmp_path))
    assert found == [
        ("zookit.deploy.mcu.package", "zookit.deploy.tidl.graphs._VIEW", 6),
        ("zookit.deploy.mcu.package", "zookit.deploy.tidl.graphs._VIEW", 7),
        ("zookit.modelinfo", "zookit.deploy.tidl.rules._rule", 5),
        ("zookit.recipe_tidl", "zookit.recipe._check", 2),
    ]
    assert tool.main(["--src", str(tmp_path)]) == 1
