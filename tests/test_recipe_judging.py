"""Judging many recipe files in worker processes (zookit.recipe.judging): the verdicts a cold survey and
`zoo validate` get from the pool are those judging each file here gives, in the same order (valid,
broken YAML, invalid fields, a misnamed file, a link, files in another folder); the pool is not used
where forking is unsafe (another thread running) or when it cannot start, and the verdicts are the
same then. The pool runs in a fresh process (one thread: pytest-xdist's workers have more)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from conftest import minimal_recipe, write_recipe
from zookit.recipe import recipe_files
from zookit.recipe.cache import judge

# in a fresh process: survey (or verdicts) with the pool from 10 files, reporting whether it ran
SCRIPT = textwrap.dedent(
    """
    import json, sys, threading
    from pathlib import Path
    from zookit.recipe import cache, judging, recipe_files

    judging.PARALLEL_FROM, judging.CHUNK = 10, 7
    mode, folder, *others = sys.argv[1:]
    if mode == "no-workers":
        judging.WORKERS = 0  # the pool cannot start: judged here
    if mode == "thread":
        threading.Thread(target=threading.Event().wait, args=(30,), daemon=True).start()
    ran = []
    real = judging._in_workers
    judging._in_workers = lambda *a: ran.append(1) or real(*a)
    files = recipe_files(Path(folder))
    found = cache.verdicts(files + [Path(p) for p in others]) if others else cache.survey(Path(folder), files)
    out = [[v.path.name, v.row, None if v.error is None else str(v.error)] for v in found]
    print(json.dumps({"pool": bool(ran), "verdicts": out}))
    """
)


def fresh(paths: list[Path]) -> list[list[object]]:
    out = []
    for path in paths:
        verdict = judge(path)
        out.append([path.name, verdict.row, None if verdict.error is None else str(verdict.error)])
    return out


def pooled(folder: Path, cache: Path, mode: str, *others: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, mode, str(folder), *map(str, others)],
        capture_output=True,
        text=True,
        env={**os.environ, "ZOO_CACHE_DIR": str(cache)},
        cwd=folder.parent,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.fixture(scope="module")
def zoo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("judging") / "recipes"
    for i in range(40):
        write_recipe(folder, minimal_recipe(f"toy_{i:02d}", description=f"toy number {i}"))
    (folder / "broken.yaml").write_text("name: broken\ntask: [classification\n")
    (folder / "typo.yaml").write_text(yaml.safe_dump({**minimal_recipe("typo"), "descripton": "x"}))
    write_recipe(folder, minimal_recipe("misnamed")).write_text(yaml.safe_dump(minimal_recipe("other")))
    (folder / "toy_99.yaml").symlink_to(folder / "toy_00.yaml")  # a link: its name is not its recipe's
    (folder / "merge.yaml").write_text("base: &b {name: merge}\n<<: *b\n")  # yaml.load's own path
    # ethos_u sections: their config files are looked up once per batch (in each worker), each name alone
    ini = folder.parent / "board.ini"
    ini.write_text("[System_Config.Board]\ncore_clock=1e8\n\n[Memory_Mode.Sram_Only]\nconst_mem_area=Axi0\n")
    for i, (config_file, system) in enumerate(
        [(str(ini), "Board"), (str(ini), "Wrong"), ("missing.ini", "Board"), (None, "Board")] * 3
    ):
        data = minimal_recipe(f"npu_{i:02d}")
        data["targets"].append({"name": "tflite-int8", "format": "tflite", "quantization": "int8"})
        data["ethos_u"] = {
            "targets": ["tflite-int8"],
            "config_file": config_file,
            "configs": [
                {"accelerator": "ethos-u55-128", "system_config": system, "memory_mode": "Sram_Only"}
            ],
        }
        write_recipe(folder, data)
    return folder


@pytest.mark.parametrize(("mode", "pool"), [("pool", True), ("thread", False), ("no-workers", True)])
def test_a_cold_survey_in_workers_says_what_judging_each_file_says(
    zoo: Path, tmp_path: Path, mode: str, pool: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(zoo.parent)  # where the pool's process runs: errors name the files from there
    expected = fresh(recipe_files(zoo))
    # broken, typo, misnamed, the link, merge; the npu recipes naming a wrong system configuration or a
    # missing config file (Vela's own file: an error where Vela is installed but lacks 'Board')
    npu_errors = [error for name, _, error in expected if name.startswith("npu_")]
    assert sum("'Wrong' is not defined in" in str(e) for e in npu_errors) == 3
    assert sum("'missing.ini' is not a readable file" in str(e) for e in npu_errors) == 3
    assert sum(row is None for _, row, _ in expected) == 5 + sum(e is not None for e in npu_errors)
    cold = pooled(zoo, tmp_path / "cache", mode)
    assert cold["pool"] is pool  # tried (and, with no workers, failed: judged here)
    assert cold["verdicts"] == expected
    warm = pooled(zoo, tmp_path / "cache", mode)
    assert warm == {"pool": False, "verdicts": expected}  # nothing left to judge


def test_zoo_validate_in_workers_says_what_judging_each_file_says(
    zoo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(zoo.parent)
    other = tmp_path / "elsewhere"
    extra = [write_recipe(other, minimal_recipe("far")), other / "gone.yaml"]
    result = pooled(zoo, tmp_path / "cache", "pool", *extra)
    expected = fresh(recipe_files(zoo) + extra[:1])
    gone = result["verdicts"][-1]  # type: ignore[index]
    assert result["pool"] is True and result["verdicts"][:-1] == expected  # type: ignore[index]
    assert gone[0] == "gone.yaml" and gone[1] is None and "cannot read the file" in gone[2]


def test_where_a_file_is_shown_is_display_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """VerdictCache.where (a folder resolved once) names each file as display_path does: from several
    working folders, through a linked folder, a linked file and '..', relative and absolute."""
    from zookit.fsutil import display_path
    from zookit.recipe.cache import VerdictCache

    folder = tmp_path / "a" / "recipes"
    plain = write_recipe(folder, minimal_recipe("plain"))
    far = write_recipe(tmp_path / "other", minimal_recipe("far"))
    (folder / "linked.yaml").symlink_to(far)
    (tmp_path / "via").symlink_to(folder)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    for cwd in (tmp_path / "a", tmp_path, folder, tmp_path / "elsewhere", Path("/")):
        monkeypatch.chdir(cwd)
        paths = [
            plain,
            folder / "linked.yaml",
            tmp_path / "via" / "plain.yaml",
            folder / ".." / "recipes" / "x.yaml",
        ]
        paths += [Path(os.path.relpath(p, cwd)) for p in paths]
        cache = VerdictCache(folder)
        for path in paths:
            assert cache.where(path) == display_path(path), (cwd, path)
