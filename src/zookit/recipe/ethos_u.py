"""The recipe's ``ethos_u`` section: Arm Ethos-U NPUs through Arm's Vela compiler (kept apart from recipe/model.py,
which imports it). Each int8 TFLite target named is compiled for each configuration, one stage each
(``ethos_u:<target>:<config>``)::

    ethos_u:
      targets: [tflite-int8]                 # int8 TFLite targets of the recipe
      configs:
        - accelerator: ethos-u55-128         # as Vela lists them (vela --help: --accelerator-config)
          system_config: Ethos_U55_High_End_Embedded   # a [System_Config.*] section of the config file
          memory_mode: Shared_Sram                     # a [Memory_Mode.*] section of the config file
          budgets: {sram_kib: 128}                     # this configuration's own (default: the section's)
        - accelerator: ethos-u65-256
          system_config: Ethos_U65_High_End
          memory_mode: Dedicated_Sram
          name: u65                          # the stage's and folder's name (default: the accelerator)
      config_file: null        # Vela's own Arm/vela.ini; or a path to the user's .ini (absolute, or
                               # relative to the folder zoo runs in); Vela's "Arm/vela.ini" names work too
      optimise: Performance    # or Size (vela --optimise)
      budgets: {sram_kib: 256, flash_kib: 1024}   # the stage fails over one (KiB, as Vela's summary)

The system configuration and memory mode are always named: Vela warns "Compilation may be invalid or
non-optimal" when they are left to its internal defaults. They are checked against the config file's
sections here when the file can be read (Vela installed, or the user's file present), else when the stage
runs. Nothing here imports Vela: the config file is read as the ``.ini`` file it is (configparser).
"""

from __future__ import annotations

import configparser
import functools
import importlib.util
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Vela 5.2's --accelerator-config choices (ethosu/vela/architecture_features.py: Accelerator)
Accelerator = Literal[
    "ethos-u55-32",
    "ethos-u55-64",
    "ethos-u55-128",
    "ethos-u55-256",
    "ethos-u65-256",
    "ethos-u65-512",
    "ethos-u85-128",
    "ethos-u85-256",
    "ethos-u85-512",
    "ethos-u85-1024",
    "ethos-u85-2048",
]
ACCELERATORS: tuple[str, ...] = get_args(Accelerator)
VELA_CONFIG = "Arm/vela.ini"  # Vela's own configuration file, inside the package (vela --list-config-files)
Kib = Annotated[float, Field(gt=0, le=1 << 30)]
_STAGE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=False, validate_default=True)


class Budgets(_Model):
    sram_kib: Kib | None = Field(None, description="Vela's 'Total SRAM used' may not exceed this (KiB).")
    flash_kib: Kib | None = Field(
        None, description="Vela's off-chip plus on-chip flash used may not exceed this (KiB)."
    )


class EthosUTarget(_Model):
    """One configuration of the NPU and its memory system."""

    accelerator: Accelerator = Field(description="Vela's --accelerator-config.")
    system_config: str = Field(min_length=1, description="A [System_Config.NAME] of the config file.")
    memory_mode: str = Field(min_length=1, description="A [Memory_Mode.NAME] of the config file.")
    name: str | None = Field(None, description="The stage's and folder's name (default: the accelerator).")
    budgets: Budgets | None = Field(
        None, description="This configuration's budgets (default: the section's)."
    )

    @property
    def label(self) -> str:
        return self.name or self.accelerator


class EthosU(_Model):
    """Arm Ethos-U: each int8 TFLite target compiled by Vela for each configuration."""

    targets: list[str] = Field(min_length=1, description="The int8 TFLite targets compiled.")
    configs: list[EthosUTarget] = Field(min_length=1, description="The NPU configurations.")
    config_file: str | None = Field(None, description="Vela's config file (default: its own Arm/vela.ini).")
    optimise: Literal["Performance", "Size"] = Field("Performance", description="Vela's --optimise.")
    budgets: Budgets | None = Field(None, description="SRAM and flash limits of every configuration.")

    @model_validator(mode="after")
    def _names(self) -> EthosU:
        for i, c in enumerate(self.configs):
            if c.name is not None and not _STAGE_NAME.match(c.name):
                raise ValueError(
                    f"configs[{i}].name: {c.name!r} is not a folder name (letters, digits, . _ -)"
                )
        return self

    def config(self, label: str) -> EthosUTarget:
        return next(c for c in self.configs if c.label == label)

    def budgets_of(self, label: str) -> Budgets | None:
        return self.config(label).budgets or self.budgets


@functools.lru_cache(maxsize=1)
def vela_config_dir() -> Path | None:
    """Vela's ``config_files`` folder (``ethosu/config_files``), found without importing Vela; None when
    Vela is not installed (looked up once per process)."""
    try:
        spec = importlib.util.find_spec("ethosu")
    except (ImportError, ValueError):
        return None
    for location in (spec.submodule_search_locations or []) if spec else []:
        folder = Path(location) / "config_files"
        if folder.is_dir():
            return folder
    return None


def config_path(config_file: str | None) -> Path | None:
    """The file ``config_file`` names (Vela's own for None or a ``Vendor/file.ini`` name, as Vela resolves
    them), or None when it cannot be found."""
    name = config_file or VELA_CONFIG
    parts = Path(name).parts
    if len(parts) == 2 and not name.startswith((".", "~", "/")):
        folder = vela_config_dir()
        if folder is not None and (folder / name).is_file():
            return folder / name
    path = Path(name).expanduser()
    return path if path.is_file() else None


# The config files the recipes validated in this process consulted: {what the recipe names: the file's
# identity, or "absent"}. A recipe's verdict depends on them as well as on its own bytes: the validated-
# recipe cache (recipe/cache.py) stores them with the verdict and validates again when one changed.
CONSULTED: dict[str, str] = {}


def file_identity(path: Path | None) -> str:
    """What the system says of a consulted file (``absent``: no such file, or Vela not installed): the
    file it is, links followed (device and inode: no path resolved, 10,000 recipes ask), and its times."""
    if path is None:
        return "absent"
    try:
        st = os.stat(path)
    except OSError:
        return "absent"
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"


# Within one batch of judged files (recipe/judging.py, `zoo list` of a folder), each config file named is
# located and stat'ed once: {what the recipe names: (the file, its identity)}. None outside a batch: a lone
# load_recipe looks again, so a long-lived process sees an edited file.
_LOOKED_UP: dict[str, tuple[Path | None, str]] | None = None


@contextmanager
def config_files_looked_up_once() -> Iterator[None]:
    """Each config file located and stat'ed once while judging many recipes (three system calls per
    recipe saved: a tenth of an ethos_u recipe's validation); the files are the same for the whole batch,
    as they are for one listing."""
    global _LOOKED_UP
    before, _LOOKED_UP = _LOOKED_UP, {}
    try:
        yield
    finally:
        _LOOKED_UP = before


def _located(name: str) -> tuple[Path | None, str]:
    """The config file ``name`` names (a recipe's ``config_file``, or Vela's own) and its identity
    (looked up once per batch)."""
    if _LOOKED_UP is not None and name in _LOOKED_UP:
        return _LOOKED_UP[name]
    path = config_path(name)
    found = path, file_identity(path)
    if _LOOKED_UP is not None:
        _LOOKED_UP[name] = found
    return found


def consulted_identity(name: str) -> str:
    """The identity of the config file ``name`` (a recipe's ``config_file``, or Vela's own) now."""
    return _located(name)[1]


def config_sections(path: Path) -> dict[str, list[str]]:
    """The system configurations and memory modes a Vela config file defines (read once per version of
    the file: 10,000 recipes naming Vela's own file read it once)."""
    return _config_sections(path, file_identity(path))


@functools.lru_cache(maxsize=16)
def _config_sections(path: Path, identity: str) -> dict[str, list[str]]:
    parser = configparser.ConfigParser()
    try:
        parser.read_string(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, configparser.Error) as exc:
        raise ValueError(f"cannot read the Vela config file {path}: {exc}") from None
    found: dict[str, list[str]] = {"system_config": [], "memory_mode": []}
    for section in parser.sections():
        kind, _, name = section.partition(".")
        if kind == "System_Config" and name:
            found["system_config"].append(name)
        elif kind == "Memory_Mode" and name:
            found["memory_mode"].append(name)
    return found


def config_problems(where: str, config: EthosUTarget, sections: dict[str, list[str]], file: str) -> list[str]:
    """A line per name of ``config`` that the config file does not define, with the valid names."""
    problems = []
    for field in ("system_config", "memory_mode"):
        value = getattr(config, field)
        if value not in sections[field]:
            problems.append(
                f"{where}.{field}: {value!r} is not defined in {file}; valid: {', '.join(sections[field])}"
            )
    return problems


def ethos_u_problems(recipe: Any) -> list[str]:
    """Checks of the ethos_u section that need the whole recipe (its targets, its config file)."""
    section = recipe.ethos_u
    if section is None:
        return []
    problems = []
    targets = {t.name: t for t in recipe.targets}
    int8 = [t.name for t in recipe.targets if t.format == "tflite" and t.quantization == "int8"]
    for i, name in enumerate(section.targets):
        target = targets.get(name)
        if target is None or target.format != "tflite" or target.quantization != "int8":
            what = (
                "not one of the targets"
                if target is None
                else f"a {target.format} {target.quantization} target"
            )
            problems.append(
                f"ethos_u.targets[{i}]: {name!r} is {what}; Vela compiles int8 TFLite targets "
                f"(those: {', '.join(int8) or 'none'})"
            )
    labels = [c.label for c in section.configs]
    for label in sorted({x for x in labels if labels.count(x) > 1}):
        problems.append(f"ethos_u.configs: {label!r} twice; give each its own name")
    name = section.config_file or VELA_CONFIG
    path, identity = _located(name)
    CONSULTED[name] = identity
    if path is None:
        if section.config_file is not None and vela_config_dir() is not None:
            problems.append(f"ethos_u.config_file: {section.config_file!r} is not a readable file")
        return problems
    try:
        sections = _config_sections(path, identity)
    except ValueError as exc:
        return [*problems, f"ethos_u.config_file: {exc}"]
    for i, c in enumerate(section.configs):
        problems += config_problems(f"ethos_u.configs[{i}]", c, sections, section.config_file or VELA_CONFIG)
    return problems
