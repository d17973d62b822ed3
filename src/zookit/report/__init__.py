"""`zoo report`: one self-contained HTML page per zoo, built from its records (report.collect), with
charts (report.charts, pygal to inline SVG), rendered from a jinja2 template (report.page), and the
comparison with an earlier report's JSON (report.compare). Nothing here converts or imports TensorFlow.

    doc = build(zoo_dir, recipes)                 # the report's document (what report.json holds)
    doc["regressions"] = compare(load_baseline(path), doc)
    write(doc, out_dir)                           # out_dir/index.html and out_dir/report.json
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from zookit.errors import ZooError
from zookit.report.collect import FORMAT, VERSION, model_entry, now, zoo_models
from zookit.report.compare import compare, load_baseline

__all__ = ["FORMAT", "build", "compare", "load_baseline", "write"]

PAGE, DOCUMENT = "index.html", "report.json"


def _plan(recipe: Any, zoo_dir: Path) -> tuple[dict[str, str | None], str | None]:
    """Each stage of the model: None when current, else why `zoo run` would redo it (what `zoo run
    --dry-run` says), from the records; a problem reading them is returned, not raised."""
    from zookit.deploy.tidl.package import tools_path
    from zookit.pipeline.stages import RunOptions, plan

    try:
        options = RunOptions(zoo_dir=zoo_dir, tidl_tools=tools_path(None))
        return dict(plan(recipe, options)), None
    except (ZooError, OSError, ValueError) as exc:
        return {}, f"cannot tell what is out of date: {exc}"


def build(
    zoo_dir: Path,
    recipes: Iterable[Any],
    *,
    foreign: bool = False,
    run: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The report of ``recipes``' models in ``zoo_dir``; ``foreign``: also the zoo's model folders that no
    recipe names; ``run``: a `zoo run` report (its ``models`` list) whose stage results join the rows."""
    from zookit import __version__
    from zookit.layout import Layout

    layout = Layout(zoo_dir)
    recipes = list(recipes)
    models = []
    for recipe in recipes:
        plan, problem = _plan(recipe, zoo_dir)
        entry = model_entry(layout, recipe.name, recipe, plan)
        if problem:
            entry["todo"].append({"stage": "plan", "reason": problem})
        models.append(entry)
    if foreign:
        for name in zoo_models(layout, {r.name for r in recipes}):
            entry = model_entry(layout, name, None, {})
            entry["todo"].append({"stage": "recipe", "reason": "no recipe names this folder of the zoo"})
            models.append(entry)
    if run is not None:
        _join_run(models, run)
    return {
        "format": FORMAT,
        "version": VERSION,
        "created": now(),
        "zookit": __version__,
        "zoo_dir": str(zoo_dir),
        "models": models,
        "totals": totals(models),
        "regressions": None,
    }


def _join_run(models: list[dict[str, Any]], run: dict[str, Any]) -> None:
    """A run's stage results: a stage that failed in it marks its row failed, with the run's error."""
    by_name = {m["name"]: m for m in models}
    for result in run.get("models") or []:
        if not isinstance(result, dict) or not isinstance(result.get("model"), str):
            continue  # a row of a hostile or foreign file: not a model's results
        model = by_name.get(result["model"])
        stages = [s for s in result.get("stages") or [] if isinstance(s, dict)]
        if model is None or not isinstance(result.get("stages"), list):
            continue
        model["run"] = [
            {k: s.get(k) for k in ("stage", "status", "seconds")} | {"error": str(s.get("error") or "")}
            for s in stages
        ]
        for s in stages:
            if s.get("status") != "failed":
                continue
            error = str(s.get("error") or "failed").strip().splitlines()[0]
            stage = str(s.get("stage"))
            rows = [r for r in model["targets"] if f"convert:{r['target']}" == stage]
            rows += [d for d in model["deployers"] if d["deployer"] == stage]
            for row in rows:
                row.update(status="failed", problem=f"the run failed: {error}")
            if not rows:
                item = {"deployer": stage, "status": "failed", "problem": f"the run failed: {error}"}
                model["deployers"].append(item | {"stale": None})


def totals(models: list[dict[str, Any]]) -> dict[str, int]:
    rows = [r for m in models for r in m["targets"]]
    counts = {
        s: sum(1 for r in rows if r["status"] == s) for s in ("passed", "failed", "missing", "unreadable")
    }
    failed_deploys = sum(1 for m in models for d in m["deployers"] if d["status"] in ("failed", "unreadable"))
    return {
        "models": len(models),
        "targets": len(rows),
        **counts,
        "deploy_failed": failed_deploys,
        "out_of_date": sum(len(m["todo"]) for m in models),
    }


def write(doc: dict[str, Any], out: Path, page: str = PAGE, document: str = DOCUMENT) -> Path:
    """``out/index.html`` (the page) and ``out/report.json`` (the document, a later --baseline), each
    written to a temporary file in ``out`` and renamed."""
    import json

    from zookit.fsutil import write_text
    from zookit.report.page import render

    html = render(doc)
    write_text(out / document, json.dumps(doc, indent=1, sort_keys=False) + "\n")
    write_text(out / page, html)
    return out / page
