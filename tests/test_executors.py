"""`zoo run --scheduler`: models run on the workers of a real Dask cluster (``dask.distributed.LocalCluster``,
two worker processes on this machine), compared with local spawned processes (`-j 2`).
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import FileServer, write_recipe
from test_convert import real_recipe
from test_run import assert_complete_and_verified, statuses, two_models, zoo_process, zoo_run

pytestmark = pytest.mark.slow
distributed = pytest.importorskip("distributed", reason="the 'dask' extra is not installed")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """Two worker processes, one thread each (as `dask worker --nthreads 1` would run them)."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as local:
        yield local


def with_a_broken_model(server: FileServer, tmp_path: Path) -> None:
    """The two stand-in models, and a third whose download fails (the server answers 404)."""
    two_models(server, tmp_path)
    broken = real_recipe("mobilenet_v1")
    broken["name"] = "broken"
    broken["sources"][0]["urls"] = [f"{server.base}/missing.tgz"]  # never added: 404
    write_recipe(tmp_path / "recipes", broken)


def results(zoo: Path) -> dict[str, Any]:
    """What a run left in the zoo, without what differs between two honest runs (times, dates, paths):
    every converted file's checksum and verification figures, every package's files and checksums."""
    out: dict[str, Any] = {}
    for path in sorted(zoo.glob("*/*/manifest.json")):
        m = json.loads(path.read_text())
        verification = {k: v for k, v in m["verification"].items() if k not in ("seconds",)}
        out[str(path.parent.relative_to(zoo))] = (m["output"]["checksum"], verification)
    for path in sorted(zoo.glob("*/tidl/package.json")):
        package = json.loads(path.read_text())
        files = {k: v for k, v in package["files"].items() if k != "README.md"}  # README names the zoo folder
        out[str(path.parent.relative_to(zoo))] = (files, package["ready_to_import"])
    return out


def test_dask_cluster_gives_the_results_of_local_processes_and_a_failing_model_stops_no_other(
    server: FileServer, tmp_path: Path, cluster: Any
) -> None:
    with_a_broken_model(server, tmp_path)
    code, local, err = zoo_run(tmp_path, "-j", "2")
    assert code == 1, err
    reference = results(tmp_path / "zoo")
    os.rename(tmp_path / "zoo", tmp_path / "zoo-local")

    code, dask, err = zoo_run(tmp_path, "--scheduler", cluster.scheduler_address)
    assert code == 1, err
    assert statuses(dask) == statuses(local)
    done = statuses(dask)
    assert done[("broken", "fetch")] == "failed" and done[("broken", "convert:tflite-float32")] == "skipped"
    assert done[("resnet50_v1", "tidl")] == "done" and done[("resnet34_ssd1200", "tidl")] == "done"
    broken = next(m for m in dask["models"] if m["model"] == "broken")
    assert broken["stages"][0]["error"].startswith("broken/mobilenet_v1_1.0_224.tgz")  # named
    assert results(tmp_path / "zoo") == reference
    assert {"resnet50_v1/tidl", "resnet34_ssd1200/tidl", "resnet50_v1/tflite-float32"} <= set(reference)
    assert_complete_and_verified(tmp_path / "zoo")
    # Stage progress comes back from the workers (Dask events), as it does from local processes.
    assert "resnet50_v1: convert:tflite-float32" in err and "resnet34_ssd1200: tidl" in err

    code, warm, err = zoo_run(tmp_path, "--scheduler", cluster.scheduler_address)
    assert code == 1 and statuses(warm)[("resnet50_v1", "convert:tflite-float32")] == "skipped"


def test_a_worker_killed_mid_model_is_recovered_by_a_rerun(
    server: FileServer, tmp_path: Path, cluster: Any
) -> None:
    two_models(server, tmp_path)
    proc = zoo_process(tmp_path, "run", "--all", "--json", "--scheduler", cluster.scheduler_address)
    try:
        stamp = tmp_path / "zoo" / "resnet50_v1" / "source" / ".fetched-resnet50_v1.pb.json"
        deadline = time.monotonic() + 120
        while not stamp.exists() and time.monotonic() < deadline:  # fetched: its conversion is starting
            time.sleep(0.05)
        assert stamp.exists(), "the model was never fetched"
        with distributed.Client(cluster.scheduler_address) as client:
            pids = list(client.run(os.getpid).values())
        assert len(pids) == 2
        for pid in pids:  # both: whichever runs the model dies mid-model
            os.kill(pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=600)
    finally:
        proc.kill()
        proc.communicate()
    # Dask gives the lost task to a restarted worker, or reports it lost: either way the run ends.
    assert proc.returncode in (0, 1), err
    if proc.returncode == 1:
        report = json.loads(out)
        failed = [s for m in report["models"] for s in m["stages"] if s["status"] == "failed"]
        assert all("run again" in s["error"] for s in failed), failed
    # The workers come back (the nanny restarts them), and a rerun completes everything.
    with distributed.Client(cluster.scheduler_address) as client:
        client.wait_for_workers(2, timeout=60)
    code, rerun, err = zoo_run(tmp_path, "--scheduler", cluster.scheduler_address)
    assert code == 0, err
    assert set(statuses(rerun).values()) <= {"done", "skipped"}
    assert_complete_and_verified(tmp_path / "zoo")


def test_an_unreachable_scheduler_is_one_line(tmp_path: Path) -> None:
    write_recipe(tmp_path / "recipes", real_recipe("resnet50_v1"))
    code, _, err = zoo_run(tmp_path, "--scheduler", "tcp://127.0.0.1:9")
    assert code == 2
    assert err.strip().splitlines()[-1].startswith("zoo: --scheduler: cannot reach the Dask scheduler at")
    assert "Traceback" not in err
    code, _, err = zoo_run(tmp_path, "--scheduler", "tcp://127.0.0.1:9", "-j", "2")
    assert code == 2 and "give -j N (local processes) or --scheduler (a Dask cluster), not both" in err
