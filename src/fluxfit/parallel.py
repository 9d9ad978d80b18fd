"""One small execution layer for independent tasks: serial, multiprocessing or Ray.

Estimators and batch analyses map a module-level function over tasks (energy
bins, time intervals, regions, simulations)::

    results = run_tasks(fit_one_bin, bins, shared=datasets, n_jobs=2,
                        backend="multiprocessing")

- ``func(shared, task)`` must be picklable (a module-level function) and is
  called once per task; ``shared`` (e.g. datasets and models) is sent once per
  worker, not once per task (a pool initializer for multiprocessing, the
  object store for Ray).
- Results come back in task order. A task that raises does not lose the
  others: with ``on_error="return"`` its slot holds a `TaskFailure` naming the
  task (index and label) and the error; with ``on_error="raise"`` (default) a
  `ParallelTaskError` is raised after all tasks ran, carrying every result.
- Tasks are consumed lazily and results streamed, so memory stays bounded by
  the pool's in-flight work, not by the number of tasks.
- Ctrl-C terminates the workers; no process is left behind.

The backend and number of jobs come from the call, else from `set_defaults`,
else from the environment variables ``FLUXFIT_PARALLEL_BACKEND`` and
``FLUXFIT_N_JOBS``, else serial.

Examples
--------
>>> from fluxfit.parallel import run_tasks
>>> def scale(shared, task):
...     return shared * task
>>> run_tasks(scale, [1, 2, 3], shared=10)
[10, 20, 30]
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import traceback
from dataclasses import dataclass

from fluxfit.errors import FluxfitError

__all__ = [
    "BACKENDS",
    "ParallelTaskError",
    "TaskFailure",
    "get_defaults",
    "run_tasks",
    "set_defaults",
]

log = logging.getLogger(__name__)

BACKENDS = ("serial", "multiprocessing", "ray")
_DEFAULTS: dict = {"n_jobs": None, "backend": None}


class ParallelTaskError(FluxfitError, RuntimeError):
    """Some tasks failed; ``results`` holds every result (failures as `TaskFailure`)."""

    def __init__(self, message, results):
        super().__init__(message)
        self.results = results

    @property
    def failures(self) -> list:
        return [r for r in self.results if isinstance(r, TaskFailure)]


@dataclass
class TaskFailure:
    """A task that raised: which one, what it raised, and where."""

    index: int
    label: str
    error: str
    traceback: str

    def __str__(self) -> str:
        return f"task {self.index} ({self.label}) failed: {self.error}"


def set_defaults(n_jobs: int | None = None, backend: str | None = None) -> None:
    """Set the default number of jobs and backend for calls that give none."""
    if backend is not None and backend not in BACKENDS:
        raise FluxfitError(f"parallel backend {backend!r} is unknown; use one of {BACKENDS}")
    _DEFAULTS["n_jobs"] = n_jobs
    _DEFAULTS["backend"] = backend


def get_defaults() -> tuple[int, str]:
    """(n_jobs, backend) in force: `set_defaults`, else the environment, else (1, "serial")."""
    n_jobs = _DEFAULTS["n_jobs"]
    if n_jobs is None:
        env = os.environ.get("FLUXFIT_N_JOBS")
        if env:
            try:
                n_jobs = int(env)
            except ValueError:
                raise FluxfitError(f"FLUXFIT_N_JOBS={env!r} is not an integer") from None
    backend = _DEFAULTS["backend"] or os.environ.get("FLUXFIT_PARALLEL_BACKEND")
    if backend is not None and backend not in BACKENDS:
        raise FluxfitError(f"FLUXFIT_PARALLEL_BACKEND={backend!r}; use one of {BACKENDS}")
    n_jobs = 1 if n_jobs is None else n_jobs
    if backend is None:
        backend = "serial" if n_jobs == 1 else "multiprocessing"
    return n_jobs, backend


def _resolve(n_jobs, backend) -> tuple[int, str]:
    default_jobs, default_backend = get_defaults()
    if n_jobs is None:
        n_jobs = default_jobs
    n_jobs = int(n_jobs)
    if n_jobs < 1:  # -1: all cores, -2: all but one...
        n_jobs = max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    if backend is None:
        if default_backend != "serial":
            backend = default_backend
        else:
            backend = "serial" if n_jobs == 1 else "multiprocessing"
    if backend not in BACKENDS:
        raise FluxfitError(f"parallel backend {backend!r} is unknown; use one of {BACKENDS}")
    if backend == "multiprocessing" and n_jobs == 1:
        backend = "serial"
    return n_jobs, backend


def _label(task, index: int, labels) -> str:
    if labels is not None:
        return str(labels[index])
    return f"#{index}"


# ----------------------------------------------------------------- workers
_WORKER_SHARED = None


def _init_worker(shared) -> None:
    global _WORKER_SHARED
    _WORKER_SHARED = shared


def _call(func, shared, index, task):
    try:
        return index, True, func(shared, task)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # reported per task with its traceback, never swallowed
        return index, False, (f"{type(exc).__name__}: {exc}", traceback.format_exc())


def _call_in_worker(args):
    func, index, task = args
    return _call(func, _WORKER_SHARED, index, task)


# ---------------------------------------------------------------- the call
def run_tasks(
    func,
    tasks,
    shared=None,
    n_jobs: int | None = None,
    backend: str | None = None,
    labels=None,
    on_error: str = "raise",
    progress: bool = False,
    desc: str | None = None,
):
    """Apply ``func(shared, task)`` to every task; results in task order.

    Parameters
    ----------
    func : callable
        Module-level function ``func(shared, task)``.
    tasks : iterable
        The tasks (consumed lazily).
    shared : object, optional
        Sent once per worker (must pickle for the process backends).
    n_jobs : int, optional
        Workers (-1: all cores). Default from `get_defaults`.
    backend : {"serial", "multiprocessing", "ray"}, optional
        Default from `get_defaults`.
    labels : sequence of str, optional
        Names of the tasks for messages (e.g. "energy bin 3: 1-2 TeV").
    on_error : {"raise", "return"}
        Raise `ParallelTaskError` after all tasks if any failed, or return the
        `TaskFailure` objects in place of the failed results.
    progress : bool
        Show a tqdm progress bar.
    desc : str, optional
        Progress bar label.
    """
    if on_error not in ("raise", "return"):
        raise FluxfitError(f"on_error={on_error!r}; use 'raise' or 'return'")
    n_jobs, backend = _resolve(n_jobs, backend)
    tasks = list(tasks) if not hasattr(tasks, "__len__") else tasks
    n_tasks = len(tasks)
    results = [None] * n_tasks
    failures = []

    def collect(index, ok, value):
        if ok:
            results[index] = value
        else:
            failure = TaskFailure(index, _label(tasks[index], index, labels), value[0], value[1])
            log.warning("%s", failure)
            results[index] = failure
            failures.append(failure)

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n_tasks, desc=desc, leave=False)
    try:
        if backend == "serial" or n_tasks <= 1:
            for index, task in enumerate(tasks):
                collect(*_call(func, shared, index, task))
                if bar is not None:
                    bar.update()
        elif backend == "multiprocessing":
            _run_pool(func, tasks, shared, n_jobs, collect, bar)
        else:
            _run_ray(func, tasks, shared, n_jobs, collect, bar)
    finally:
        if bar is not None:
            bar.close()
    if failures and on_error == "raise":
        names = ", ".join(f.label for f in failures[:10])
        raise ParallelTaskError(
            f"{len(failures)} of {n_tasks} tasks failed ({names}); first error: {failures[0].error}",
            results,
        )
    return results


def _run_pool(func, tasks, shared, n_jobs, collect, bar) -> None:
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    pool = context.Pool(processes=n_jobs, initializer=_init_worker, initargs=(shared,))
    try:
        arguments = ((func, index, task) for index, task in enumerate(tasks))
        for index, ok, value in pool.imap_unordered(_call_in_worker, arguments, chunksize=1):
            collect(index, ok, value)
            if bar is not None:
                bar.update()
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()


def _run_ray(func, tasks, shared, n_jobs, collect, bar) -> None:
    try:
        import ray
    except ImportError:
        raise FluxfitError(
            "the 'ray' backend needs Ray: pip install 'fluxfit[distributed]'"
        ) from None
    started = False
    if not ray.is_initialized():
        ray.init(num_cpus=n_jobs, include_dashboard=False, log_to_driver=False)
        started = True
    try:
        shared_ref = ray.put(shared)
        remote = ray.remote(_call)
        pending = {}
        task_iter = enumerate(tasks)
        window = 4 * n_jobs
        for index, task in task_iter:
            pending[remote.remote(func, shared_ref, index, task)] = index
            if len(pending) >= window:
                break
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                pending.pop(ref)
                collect(*ray.get(ref))
                if bar is not None:
                    bar.update()
            for index, task in task_iter:
                pending[remote.remote(func, shared_ref, index, task)] = index
                break
    except BaseException:
        if started:
            ray.shutdown()
            started = False
        raise
    finally:
        if started:
            ray.shutdown()
