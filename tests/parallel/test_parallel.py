"""The execution layer: identical results on every backend, failures named, defaults."""

import os
import pickle

import numpy as np
import pytest

from fluxfit.errors import FluxfitError
from fluxfit.parallel import ParallelTaskError, TaskFailure, get_defaults, run_tasks, set_defaults


def power(shared, task):
    return np.sum(shared["data"] ** task)


def fails_on_three(shared, task):
    if task == 3:
        raise ValueError("bad bin")
    return task * shared


def pid(shared, task):
    return os.getpid()


@pytest.mark.parametrize("backend", ["serial", "multiprocessing"])
def test_results_identical_across_backends(backend):
    shared = {"data": np.linspace(0.1, 2, 1000)}
    serial = run_tasks(power, range(8), shared=shared, backend="serial")
    other = run_tasks(power, range(8), shared=shared, n_jobs=2, backend=backend)
    assert other == serial  # bit for bit


def test_multiprocessing_uses_workers():
    pids = run_tasks(pid, range(6), n_jobs=2, backend="multiprocessing")
    assert os.getpid() not in pids


@pytest.mark.parametrize("backend", ["serial", "multiprocessing"])
def test_failure_names_the_task_and_keeps_others(backend):
    labels = [f"energy bin {i}" for i in range(5)]
    results = run_tasks(
        fails_on_three,
        range(5),
        shared=2,
        n_jobs=2,
        backend=backend,
        labels=labels,
        on_error="return",
    )
    assert results[:3] == [0, 2, 4] and results[4] == 8
    assert isinstance(results[3], TaskFailure)
    assert results[3].label == "energy bin 3" and "bad bin" in results[3].error
    with pytest.raises(ParallelTaskError, match="energy bin 3") as info:
        run_tasks(fails_on_three, range(5), shared=2, backend=backend, n_jobs=2, labels=labels)
    assert info.value.results[4] == 8


def test_defaults_and_environment(monkeypatch):
    monkeypatch.setenv("FLUXFIT_N_JOBS", "2")
    monkeypatch.setenv("FLUXFIT_PARALLEL_BACKEND", "multiprocessing")
    assert get_defaults() == (2, "multiprocessing")
    set_defaults(n_jobs=1, backend="serial")
    try:
        assert get_defaults() == (1, "serial")
    finally:
        set_defaults()
    monkeypatch.setenv("FLUXFIT_PARALLEL_BACKEND", "threads")
    with pytest.raises(FluxfitError, match="threads"):
        get_defaults()
    monkeypatch.delenv("FLUXFIT_PARALLEL_BACKEND")
    with pytest.raises(FluxfitError, match="unknown"):
        run_tasks(power, [1], backend="dask")


def test_failures_pickle():
    failure = TaskFailure(1, "bin 1", "ValueError: x", "tb")
    assert pickle.loads(pickle.dumps(failure)) == failure


def test_ray_backend_matches_serial(ray_local):
    shared = {"data": np.linspace(0.1, 2, 100)}
    serial = run_tasks(power, range(4), shared=shared)
    assert run_tasks(power, range(4), shared=shared, n_jobs=2, backend="ray") == serial
