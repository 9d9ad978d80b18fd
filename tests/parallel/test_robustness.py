"""The execution layer under stress: dead workers, Ctrl-C, killed parents, memory, chunks.

Process checks read ``/proc`` (Linux); a zombie (state Z) counts as gone -- in a container
whose PID 1 does not reap, orphans that exited stay zombies.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from _parallel_helpers import (
    BreaksOnLoad,
    double,
    exit_on,
    kill_on,
    light_curve_datasets,
    nested,
    payload_first,
    pid_of,
    unpicklable_result,
)

from fluxfit.errors import FluxfitError
from fluxfit.parallel import ParallelTaskError, TaskFailure, iter_tasks, run_tasks

linux_only = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


# -------------------------------------------------------------------- processes
def _running(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return text.rsplit(")", 1)[1].split()[0] != "Z"


def _descendants(pid: int) -> list[int]:
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def _wait_gone(pids, timeout=20.0) -> list[int]:
    deadline = time.monotonic() + timeout
    alive = [p for p in pids if _running(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [p for p in alive if _running(p)]
    return alive


SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    from fluxfit.parallel import run_tasks

    def slow(folder, task):
        with open(os.path.join(folder, f"task{task}"), "w") as handle:
            handle.write(str(os.getpid()))
        time.sleep(120)
        return task

    if __name__ == "__main__":
        run_tasks(slow, range(8), shared=sys.argv[1], n_jobs=2, backend=sys.argv[2])
    """
)


def _start_long_run(tmp_path, backend):
    """A script running 8 two-minute tasks on 2 workers; returns once both tasks started."""
    script = tmp_path / "long_run.py"
    script.write_text(SCRIPT)
    folder = tmp_path / "started"
    folder.mkdir()
    process = subprocess.Popen(
        [sys.executable, str(script), str(folder), backend],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while len(list(folder.iterdir())) < 2:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the script did not start its tasks: {process.communicate()}")
        time.sleep(0.05)
    time.sleep(0.3)
    workers = [int(p.read_text()) for p in folder.iterdir() if p.read_text()]
    return process, workers


# ------------------------------------------------------------------ dead workers
@pytest.mark.parametrize("chunksize", [1, 4])
@pytest.mark.parametrize("die", [kill_on, exit_on])
def test_dead_worker_names_its_task_and_others_finish(die, chunksize):
    labels = [f"time bin {i}" for i in range(20)]
    results = run_tasks(
        die,
        range(20),
        shared=7,
        n_jobs=2,
        backend="multiprocessing",
        labels=labels,
        on_error="return",
        chunksize=chunksize,
    )
    failure = results[7]
    assert isinstance(failure, TaskFailure) and failure.worker_died
    assert failure.label == "time bin 7" and "WorkerDied" in failure.error
    expected = "SIGKILL" if die is kill_on else "exit code 3"
    assert expected in failure.error
    kept = [r for i, r in enumerate(results) if i != 7]
    assert kept == [die(None, i) for i in range(20) if i != 7]
    with pytest.raises(ParallelTaskError, match=r"time bin 7.*WorkerDied") as info:
        run_tasks(die, range(20), shared=7, n_jobs=2, backend="multiprocessing", labels=labels)
    assert info.value.results[19] == die(None, 19)


def test_every_worker_dying_does_not_hang():
    results = run_tasks(
        kill_on, [5] * 6, shared=5, n_jobs=2, backend="multiprocessing", on_error="return"
    )
    assert all(isinstance(r, TaskFailure) and r.worker_died for r in results)


def test_dead_worker_in_light_curve_names_the_time_bin(monkeypatch):
    """The estimator's own error names the interval whose worker was killed."""
    from fluxfit.estimators import LightCurveEstimator, lightcurve

    datasets = light_curve_datasets(6)
    original = lightcurve._fit_time_bin

    def killer(shared, members):
        if 3 in members:
            os.kill(os.getpid(), signal.SIGKILL)
        return original(shared, members)

    monkeypatch.setattr(lightcurve, "_fit_time_bin", killer)  # inherited by the forked workers
    estimator = LightCurveEstimator(
        source="src", reoptimize=True, n_jobs=2, parallel_backend="multiprocessing"
    )
    with pytest.raises(ParallelTaskError, match=r"time interval 3 .*WorkerDied") as info:
        estimator.run(datasets)
    results = info.value.results
    assert [isinstance(r, TaskFailure) for r in results] == [i == 3 for i in range(6)]


def test_ray_dead_worker_names_its_task(ray_local):
    labels = [f"time bin {i}" for i in range(12)]
    results = run_tasks(
        kill_on,
        range(12),
        shared=5,
        n_jobs=2,
        backend="ray",
        labels=labels,
        on_error="return",
        chunksize=3,
    )
    assert isinstance(results[5], TaskFailure) and results[5].worker_died
    assert results[5].label == "time bin 5"
    assert [r for i, r in enumerate(results) if i != 5] == [10 * i for i in range(12) if i != 5]


# ---------------------------------------------------------------------- Ctrl-C
@linux_only
def test_ctrl_c_stops_the_pool_and_leaves_no_process(tmp_path):
    process, workers = _start_long_run(tmp_path, "multiprocessing")
    children = _descendants(process.pid)
    assert set(workers) <= set(children) and len(children) >= 2
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode != 0 and "KeyboardInterrupt" in stderr
    assert _wait_gone(children) == []


@linux_only
def test_ctrl_c_stops_ray_and_leaves_no_process(tmp_path):
    pytest.importorskip("ray", reason="ray is not installed (pip install 'fluxfit[distributed]')")
    process, workers = _start_long_run(tmp_path, "ray")
    children = _descendants(process.pid)
    assert set(workers) <= set(children)  # the local instance is the script's
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode != 0 and "KeyboardInterrupt" in stderr
    assert _wait_gone(children, timeout=30) == []


@linux_only
def test_killed_parent_takes_its_workers_along(tmp_path):
    process, workers = _start_long_run(tmp_path, "multiprocessing")
    process.kill()  # no cleanup possible in the parent: the kernel signals the workers
    process.communicate(timeout=30)
    assert _wait_gone(workers) == []


@linux_only
def test_consumer_stopping_early_stops_the_workers():
    stream = iter_tasks(pid_of, range(1000), n_jobs=2, backend="multiprocessing", chunksize=1)
    pids = {next(stream)[1] for _ in range(3)}
    assert os.getpid() not in pids
    stream.close()
    assert _wait_gone(pids, timeout=10) == []


@linux_only
def test_error_in_the_caller_stops_the_workers():
    stream = iter_tasks(pid_of, range(1000), n_jobs=2, backend="multiprocessing")
    pids = set()
    with pytest.raises(ZeroDivisionError):
        for _, pid in stream:
            pids.add(pid)
            1 / 0  # noqa: B018
    del stream  # the generator is closed by its finaliser
    assert _wait_gone(pids, timeout=10) == []


# ---------------------------------------------------------------------- memory
@pytest.mark.parametrize("backend", ["serial", "multiprocessing"])
def test_thousands_of_tasks_in_bounded_memory(backend):
    """4000 tasks of 200 kB each (800 MB in all) streamed with a few MB held at any time."""
    n_tasks, size = 4000, 25_000
    pulled = [0]

    def tasks():
        for i in range(n_tasks):
            pulled[0] += 1
            yield i, np.full(size, float(i))

    tracemalloc.start()
    try:
        done, ahead = 0, 0
        for index, (i, first) in iter_tasks(
            payload_first, tasks(), n_jobs=2, backend=backend, chunksize=8
        ):
            assert index == i and first == float(i)
            done += 1
            ahead = max(ahead, pulled[0] - done)  # read from the generator, not yet returned
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert done == n_tasks
    assert ahead <= 2 * 2 * 8 + 1  # two chunks per worker in flight, at most
    assert peak < 40e6, f"peak {peak / 1e6:.0f} MB"


def test_lazy_tasks_of_unknown_length_keep_their_order():
    generator = (i for i in range(300))
    assert run_tasks(double, generator, n_jobs=2, backend="multiprocessing") == [
        2 * i for i in range(300)
    ]


# ---------------------------------------------------------------- chunks, misc
@pytest.mark.parametrize("chunksize", [None, 1, 3, 50, 1000])
def test_chunks_keep_order_and_results(chunksize):
    tasks = list(range(257))
    out = run_tasks(double, tasks, n_jobs=2, backend="multiprocessing", chunksize=chunksize)
    assert out == [2 * t for t in tasks]


def test_bad_chunksize():
    with pytest.raises(FluxfitError, match="chunksize"):
        run_tasks(double, range(4), chunksize=0)


def test_nested_calls_run_serially_in_workers():
    out = run_tasks(nested, range(4), n_jobs=2, backend="multiprocessing")
    assert out == [[2 * i for i in range(t + 1)] for t in range(4)]


def test_unpicklable_result_is_a_named_failure():
    results = run_tasks(
        unpicklable_result, range(5), n_jobs=2, backend="multiprocessing", on_error="return"
    )
    assert isinstance(results[2], TaskFailure) and "does not pickle" in results[2].error
    assert [results[i] for i in (0, 1, 3, 4)] == [0, 1, 3, 4]


def test_unpicklable_task_is_a_named_failure():
    tasks = [1, 2, lambda: 3, 4]
    results = run_tasks(
        double, tasks, n_jobs=2, backend="multiprocessing", on_error="return", chunksize=2
    )
    assert isinstance(results[2], TaskFailure) and "does not pickle" in results[2].error
    assert [results[i] for i in (0, 1, 3)] == [2, 4, 8]


def test_spawn_start_method(monkeypatch):
    monkeypatch.setenv("FLUXFIT_MP_START_METHOD", "spawn")
    shared = {"data": np.arange(5.0)}
    out = run_tasks(double, range(6), shared=shared, n_jobs=2, backend="multiprocessing")
    assert out == [0, 2, 4, 6, 8, 10]
    with pytest.raises(FluxfitError, match=r"failed to start.*cannot rebuild"):
        run_tasks(double, range(6), shared=BreaksOnLoad(), n_jobs=2, backend="multiprocessing")
    with pytest.raises(FluxfitError, match="must pickle"):
        run_tasks(double, range(6), shared=lambda: 1, n_jobs=2, backend="multiprocessing")
    monkeypatch.setenv("FLUXFIT_MP_START_METHOD", "no-such-method")
    with pytest.raises(FluxfitError, match="FLUXFIT_MP_START_METHOD"):
        run_tasks(double, range(6), n_jobs=2, backend="multiprocessing")


def test_fork_needs_no_pickling_of_the_function():
    if "fork" not in __import__("multiprocessing").get_all_start_methods():
        pytest.skip("no fork start method on this platform")
    offset = 5
    out = run_tasks(lambda shared, task: task + offset, range(4), n_jobs=2)
    assert out == [5, 6, 7, 8]


def test_labels_may_be_a_function():
    results = run_tasks(
        kill_on,
        range(4),
        shared=2,
        n_jobs=2,
        backend="multiprocessing",
        labels=lambda i: f"region {i}",
        on_error="return",
    )
    assert results[2].label == "region 2"


def test_task_failure_with_worker_flag_pickles():
    failure = TaskFailure(3, "bin 3", "WorkerDied: ...", "", worker_died=True)
    assert pickle.loads(pickle.dumps(failure)) == failure
