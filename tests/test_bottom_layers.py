"""Issue 30: the bottom of the package stands on its own. The deployers' static facts are one table there
(deployer_facts), which the deployer table, the missing-library message and the recipe's reserved names
all read; the version is a module of its own; the bottom modules and the recipe package import nothing
above them (imports inside functions included)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import tomllib

import zookit
from conftest import minimal_recipe
from zookit.deploy import DEPLOYERS
from zookit.deployer_facts import DEPLOYER_FACTS
from zookit.errors import RecipeError, missing_dependency
from zookit.recipe import parse_recipe
from zookit.version import __version__

SRC = Path(__file__).resolve().parents[1] / "src" / "zookit"


def test_the_deployer_table_takes_its_names_libraries_and_extras_from_the_facts() -> None:
    assert set(DEPLOYERS) == set(DEPLOYER_FACTS), "a deployer needs a row in deployer_facts and an entry"
    for name, deployer in DEPLOYERS.items():
        facts = DEPLOYER_FACTS[name]
        assert deployer.facts is facts, name
        assert (deployer.packages, deployer.extra) == (facts.packages, facts.extra), name
    assert DEPLOYERS["openvino"].packages == ("openvino", "nncf") and DEPLOYERS["tflm"].extra == "mcu"


@pytest.mark.parametrize("name", sorted(DEPLOYER_FACTS))
def test_every_deployers_folder_is_a_name_no_target_takes(name: str) -> None:
    doc = minimal_recipe()
    doc["targets"][0]["name"] = name
    with pytest.raises(RecipeError) as caught:
        parse_recipe(doc, "r.yaml")
    assert "targets[0].name" in str(caught.value) and "zookit's own folder" in str(caught.value)


# the libraries imported under their distribution's name (tflite-micro, imported as tflite_micro, has a
# message of its own)
@pytest.mark.parametrize(
    ("deployer", "package"), [(n, p) for n, f in DEPLOYER_FACTS.items() for p in f.packages if "-" not in p]
)
def test_a_missing_library_of_a_deployer_names_the_extra_of_its_row(deployer: str, package: str) -> None:
    extra = DEPLOYER_FACTS[deployer].extra
    message = missing_dependency(ModuleNotFoundError(f"No module named {package!r}", name=package))
    assert f"the {deployer} deployer needs {package}" in message and f"zookit[{extra}]" in message, message


def _zookit_imports(path: Path) -> set[str]:
    """The zookit modules a file imports, at the top or inside functions (``from zookit import x``: the
    module ``zookit.x`` when x is one, else the face ``zookit``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "zookit"}
        elif isinstance(node, ast.ImportFrom) and node.module == "zookit":
            found |= {f"zookit.{a.name}" if _is_module(a.name) else "zookit" for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "zookit":
            found.add(node.module)
    return found


def _is_module(name: str) -> bool:
    return (SRC / f"{name}.py").is_file() or (SRC / name / "__init__.py").is_file()


BOTTOM = {
    "records",
    "errors",
    "fsutil",
    "hashes",
    "layout",
    "libs",
    "progress",
    "jsonfile",
    "intact",
    "version",
    "deployer_facts",
}


@pytest.mark.parametrize("module", sorted(BOTTOM))
def test_the_bottom_imports_only_the_bottom(module: str) -> None:
    """Imports inside functions included: the bottom never reaches up (not even through the face)."""
    imported = _zookit_imports(SRC / f"{module}.py")
    above = {m for m in imported if m == "zookit" or m.split(".")[1] not in BOTTOM}
    assert not above, f"zookit.{module} imports {sorted(above)}"


def test_the_deployer_facts_import_nothing_of_zookit() -> None:
    assert not _zookit_imports(SRC / "deployer_facts.py")


def test_the_recipe_package_imports_only_itself_and_the_bottom_never_its_face() -> None:
    for path in sorted((SRC / "recipe").glob("*.py")):
        allowed = BOTTOM | {"recipe"}
        imported = _zookit_imports(path)
        above = {m for m in imported if m == "zookit" or m.split(".")[1] not in allowed}
        assert not above, f"{path.name} imports {sorted(above)}"
        if path.name != "__init__.py":
            assert "zookit.recipe" not in imported, f"{path.name} imports the package's face"


def test_the_version_is_a_module_of_its_own_and_the_distributions() -> None:
    pyproject = tomllib.loads((SRC.parents[1] / "pyproject.toml").read_text())
    assert zookit.__version__ == __version__ == pyproject["project"]["version"]
