"""Agreement of `zoo check` with TI's operator table, probe by probe (the table in issue #19's note).

Runs every probe of tests/tidl_probes.py (each expects TI's verdict for its row) through the current
zookit and, with --before REV, through the check.py of an earlier commit, and prints one line per probe
and the totals. Usage: python tools/tidl_rule_agreement.py [--before 8e98c96]
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from tidl_probes import CASES  # noqa: E402


def _old_checker(rev: str, folder: Path) -> Any:
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{rev}:src/zookit/deploy/tidl/check.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = folder / "old_check.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("old_check", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["old_check"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _runs_on_accelerator(findings: list[Any]) -> bool:
    return not any(f.node in ("probe", "out0") and not f.accelerated for f in findings)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--before", metavar="REV", help="also judge the probes with check.py at this commit")
    args = parser.parse_args()
    from zookit.deploy.tidl.check import check_model

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        old = _old_checker(args.before, folder) if args.before else None
        agree = {"before": 0, "after": 0}
        print(f"{'table':<7} {'row':<12} {'probe':<46} {'TI':<5} {'before':<7} {'after':<6}")
        for i, case in enumerate(CASES):
            path = case.build(folder / f"p{i}.{'onnx' if case.framework == 'onnx' else 'tflite'}")
            ti = "acc" if case.inside else "ARM"
            after = "acc" if _runs_on_accelerator(check_model(path)) else "ARM"
            before = ("acc" if _runs_on_accelerator(old.check_model(path)) else "ARM") if old else "-"
            agree["after"] += after == ti
            agree["before"] += before == ti
            print(f"{case.framework:<7} {case.row:<12} {case.name:<46} {ti:<5} {before:<7} {after:<6}")
        total = len(CASES)
        print(
            f"agree with TI: after {agree['after']}/{total}"
            + (f", before {agree['before']}/{total}" if old else "")
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
