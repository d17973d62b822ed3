"""`zoo report`: one self-contained HTML page per zoo, built from its records (report.collect), with
charts (report.charts, pygal to inline SVG), rendered from a jinja2 template (report.page), and the
comparison with an earlier report's JSON (report.compare). Nothing here converts or imports TensorFlow:
it reads the zoo's records, and the pipeline's plan for the stages still to redo.

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
    from zookit.deploy.tidl import tools_path
    from zookit.pipeline.plan import plan
    from zookit.pipeline.stages import RunOptions

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
    recipe names (else their names are listed as ``left_out``); ``run``: a `zoo run` report (its
    ``models`` list) whose stage results join the rows. Each model's ``last-run.json`` joins the same way,
    for the stages that are still to redo."""
    from zookit.layout import Layout
    from zookit.version import __version__

    layout = Layout(zoo_dir)
    recipes = list(recipes)
    models, plans = [], {}
    for recipe in recipes:
        plan, problem = _plan(recipe, zoo_dir)
        entry = model_entry(layout, recipe.name, recipe, plan)
        if problem:
            entry["todo"].append({"stage": "plan", "reason": problem})
        models.append(entry)
        plans[recipe.name] = plan
    others = zoo_models(layout, {r.name for r in recipes})
    if foreign:
        for name in others:
            entry = model_entry(layout, name, None, {})
            entry["todo"].append({"stage": "recipe", "reason": "no recipe names this folder of the zoo"})
            models.append(entry)
    _join_last_runs(layout, models, plans)
    if run is not None:
        _join_run(models, run)
    return {
        "format": FORMAT,
        "version": VERSION,
        "created": now(),
        "zookit": __version__,
        "zoo_dir": str(zoo_dir),
        "models": models,
        "left_out": [] if foreign else others,  # model folders of the zoo that none of the recipes names
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
        _mark(model, stages, "the run")


def _join_last_runs(layout: Any, models: list[dict[str, Any]], plans: dict[str, dict[str, Any]]) -> None:
    """Each model's ``last-run.json`` (pipeline.run): a stage that failed in the model's last `zoo run`, or
    that a failure stopped, and is still not current, is shown so (a failed stage writes no record of
    its own: without this it would look merely not made yet)."""
    for model in models:
        plan = plans.get(model["name"])
        if not plan:
            continue
        record = _read_last_run(layout.last_run(model["name"]))
        if not isinstance(record, dict) or not isinstance(record.get("stages"), list):
            continue
        stages = [
            s for s in record["stages"] if isinstance(s, dict) and plan.get(str(s.get("stage"))) is not None
        ]
        _mark(model, stages, "the last run")


LAST_RUN_LIMIT = 1 << 20  # bytes: a record of a run is a few kB; anything bigger is not one


def _read_last_run(path: Path) -> Any:
    """The record, or None when it is absent, not a regular file (a link to a device would block), too big,
    or not JSON that parses (a document nested too deep included)."""
    import json
    import stat

    try:
        st = path.lstat()
        if not stat.S_ISREG(st.st_mode) or st.st_size > LAST_RUN_LIMIT:
            return None
        return json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return None


def _first_line(text: Any, default: str) -> str:
    lines = str(text or "").strip().splitlines()
    return lines[0] if lines else default


def _mark(model: dict[str, Any], stages: list[dict[str, Any]], run: str) -> None:
    """The rows of stages that failed in ``run`` marked failed (with its error), and of stages that a
    failure stopped, while they have no result, marked not run (with which failure)."""
    for s in stages:
        stage = str(s.get("stage"))
        rows = [r for r in model["targets"] if f"convert:{r['target']}" == stage]
        rows += [d for d in model["deployers"] if d["deployer"] == stage]
        rows += [e for e in model["ethos_u"] if e["stage"] == stage]  # ethos_u:<target>:<config>
        if s.get("status") == "failed":
            update = {"status": "failed", "problem": f"{run} failed: {_first_line(s.get('error'), 'failed')}"}
        elif s.get("status") == "skipped" and s.get("reason"):
            update = {"status": "missing", "problem": f"not run: {_first_line(s.get('reason'), 'skipped')}"}
            rows = [r for r in rows if r["status"] == "missing"]
        else:
            continue
        for row in rows:
            row.update(update)
        for todo in model["todo"]:  # "not packaged yet" says less than what happened
            if todo["stage"] == stage and (rows or update["status"] == "failed"):
                todo["reason"] = update["problem"]
        if not rows and update["status"] == "failed":
            model["deployers"].append({"deployer": stage, **update, "stale": None})


def totals(models: list[dict[str, Any]]) -> dict[str, int]:
    rows = [r for m in models for r in m["targets"]]
    counts = {
        s: sum(1 for r in rows if r["status"] == s) for s in ("passed", "failed", "missing", "unreadable")
    }
    failed_deploys = sum(1 for m in models for d in m["deployers"] if d["status"] in ("failed", "unreadable"))
    failed_deploys += sum(1 for m in models for e in m["ethos_u"] if e["status"] in ("failed", "unreadable"))
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
