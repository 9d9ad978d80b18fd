"""One small execution layer for independent tasks: serial, multiprocessing or Ray.

Estimators and batch analyses map a module-level function over tasks (energy
bins, time intervals, regions, simulations)::

    results = run_tasks(fit_one_bin, bins, shared=datasets, n_jobs=2,
                        backend="multiprocessing")

- ``func(shared, task)`` is called once per task; ``shared`` (e.g. datasets and
  models) is sent once per worker, not once per task: inherited by the forked
  workers (pickled once and sent to each worker with the ``spawn`` start
  method), put once in Ray's object store and deserialised once per Ray worker.
- Results come back in task order (`run_tasks`) or as they finish
  (`iter_tasks`). A task that raises does not lose the others: with
  ``on_error="return"`` its slot holds a `TaskFailure` naming the task (index
  and label) and the error; with ``on_error="raise"`` (default) a
  `ParallelTaskError` is raised after all tasks ran, carrying every result.
- A worker process that dies (killed, out of memory, a crash in compiled code)
  is reported as the `TaskFailure` of the task it was running; a new worker
  takes its place and the other tasks go on.
- Memory stays bounded: tasks are read lazily from the iterable and at most
  two chunks per worker are in flight; `iter_tasks` streams the results, so a
  consumer that writes them out holds none of them.
- Small tasks are sent in chunks (``chunksize``; by default chosen from the
  number of tasks) so that the messages do not cost more than the work.
- Ctrl-C (or any error in the caller) terminates the workers and waits for
  them: no process is left behind. Workers ignore SIGINT themselves (the
  parent decides) and, on Linux, die with the parent if it is killed.

The process pool is a set of ``multiprocessing`` processes, each with its own
pipe: the parent knows which task each worker runs, so a dead worker names its
task and nothing hangs (``multiprocessing.Pool`` waits for ever in that case).
Ray: a local instance started on first use (``ray.init(num_cpus=n_jobs)``) and
kept for the next calls (`shutdown` stops it), or the cluster at
``RAY_ADDRESS`` / an instance the caller initialised. Inside a worker, nested
calls run serially.

The backend and number of jobs come from the call, else from `set_defaults`,
else from the environment variables ``FLUXFIT_PARALLEL_BACKEND`` and
``FLUXFIT_N_JOBS``, else serial. ``FLUXFIT_MP_START_METHOD`` chooses the start
method of the process pool (default ``fork`` where available, else ``spawn``).

Examples
--------
>>> from fluxfit.parallel import run_tasks
>>> def scale(shared, task):
...     return shared * task
>>> run_tasks(scale, [1, 2, 3], shared=10)
[10, 20, 30]
"""

from __future__ import annotations

import collections
import logging
import multiprocessing
import os
import pickle
import queue
import signal
import threading
import traceback
from dataclasses import dataclass
from multiprocessing import connection

from fluxfit.errors import FluxfitError
from fluxfit.utils import progress as _progress

__all__ = [
    "BACKENDS",
    "ParallelTaskError",
    "TaskFailure",
    "get_defaults",
    "iter_tasks",
    "run_tasks",
    "set_defaults",
    "shutdown",
]

log = logging.getLogger(__name__)

BACKENDS = ("serial", "multiprocessing", "ray")
_DEFAULTS: dict = {"n_jobs": None, "backend": None}
_MAX_CHUNKSIZE = 16  # auto chunks: at most this many tasks per message
_STOP_TIMEOUT = 5.0  # s a worker is given to exit after the last task


class ParallelTaskError(FluxfitError, RuntimeError):
    """Some tasks failed; ``results`` holds every result (failures as `TaskFailure`)."""

    def __init__(self, message, results):
        super().__init__(message)
        self.results = results

    def __reduce__(self):  # pickles with its results (the default would drop them)
        return type(self), (str(self), self.results)

    @property
    def failures(self) -> list:
        return [r for r in self.results if isinstance(r, TaskFailure)]


@dataclass
class TaskFailure:
    """A task that raised, or whose worker died: which one, what happened, and where.

    ``worker_died`` is True when the process running the task died (killed, out of
    memory, a crash in compiled code) rather than the task raising an exception.
    """

    index: int
    label: str
    error: str
    traceback: str
    worker_died: bool = False

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
    if _IN_WORKER:  # nested call inside a worker: no pool of pools
        return 1, "serial"
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


def _start_method() -> str:
    method = os.environ.get("FLUXFIT_MP_START_METHOD")
    available = multiprocessing.get_all_start_methods()
    if method:
        if method not in available:
            raise FluxfitError(
                f"FLUXFIT_MP_START_METHOD={method!r}; this platform offers {available}"
            )
        return method
    return "fork" if "fork" in available else "spawn"


def _label(index: int, labels) -> str:
    if labels is None:
        return f"#{index}"
    if callable(labels):
        return str(labels(index))
    try:
        return str(labels[index])
    except (IndexError, KeyError, TypeError):
        return f"#{index}"


def _auto_chunksize(n_tasks: int | None, n_jobs: int) -> int:
    """Tasks per message: about 32 messages per worker, at most `_MAX_CHUNKSIZE` tasks each."""
    if not n_tasks:
        return 1
    return max(1, min(_MAX_CHUNKSIZE, n_tasks // (32 * n_jobs)))


# ----------------------------------------------------------------- workers
_IN_WORKER = False  # True in pool and Ray workers: nested calls run serially


def _call(func, shared, index, task):
    try:
        return index, True, func(shared, task)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # reported per task with its traceback, never swallowed
        return index, False, (f"{type(exc).__name__}: {exc}", traceback.format_exc())


def _die_with_parent() -> None:
    """Linux: the kernel sends SIGTERM to this worker if the parent dies (best effort)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _worker_main(tasks_in, results_out, payload, parent_pid: int) -> None:
    """Loop of a pool worker: receive chunks of (index, task), send one result per task.

    A thread reads the incoming chunks into a queue, so the parent can always send
    (no deadlock of two full pipes) while the main thread computes and sends results.
    """
    global _IN_WORKER
    _IN_WORKER = True
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _die_with_parent()
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        return
    try:
        func, shared = pickle.loads(payload) if isinstance(payload, bytes) else payload
    except Exception as exc:
        results_out.send(("init-error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
        return
    results_out.send(("ready", os.getpid()))
    inbox: queue.SimpleQueue = queue.SimpleQueue()

    def read() -> None:
        while True:
            try:
                chunk = tasks_in.recv()
            except (EOFError, OSError):  # the parent went away
                chunk = None
            inbox.put(chunk)
            if chunk is None:
                return

    threading.Thread(target=read, name="fluxfit-task-reader", daemon=True).start()
    while True:
        chunk = inbox.get()
        if chunk is None:
            return
        for index, task in chunk:
            outcome = _call(func, shared, index, task)
            try:
                results_out.send(outcome)
            except (BrokenPipeError, ConnectionResetError, EOFError):
                return
            except Exception as exc:  # the result does not pickle: say so, keep going
                message = f"the result does not pickle ({type(exc).__name__}: {exc})"
                results_out.send((index, False, (message, traceback.format_exc())))
            del outcome


class _Worker:
    """One pool process, its two pipes and the (index, task) pairs it was sent, in order."""

    def __init__(self, context, payload):
        tasks_in, self.tasks = context.Pipe(duplex=False)
        self.results, results_out = context.Pipe(duplex=False)
        self.process = context.Process(
            target=_worker_main,
            args=(tasks_in, results_out, payload, os.getpid()),
            daemon=True,
            name="fluxfit-worker",
        )
        self.process.start()
        tasks_in.close()
        results_out.close()
        self.inflight: collections.deque = collections.deque()
        self.ready = False
        self.init_error: str | None = None

    def drain(self, out: list) -> bool:
        """Read every message waiting; False once the worker's pipe is closed (it died)."""
        while True:
            try:
                if not self.results.poll():
                    return True
                message = self.results.recv()
            except (EOFError, OSError):
                return False
            if message[0] == "ready":
                self.ready = True
            elif message[0] == "init-error":
                self.init_error = message[1]
            else:
                index, ok, value = message
                if self.inflight and self.inflight[0][0] == index:
                    self.inflight.popleft()
                else:  # cannot happen (one task at a time, in order); keep the books anyway
                    self.inflight = collections.deque(i for i in self.inflight if i[0] != index)
                out.append((index, ok, value, False))

    def stop(self, graceful: bool) -> None:
        """Ask the worker to exit (graceful) or terminate it; always reap the process."""
        if graceful and self.process.is_alive():
            try:
                self.tasks.send(None)
            except (OSError, ValueError):
                pass
            self.process.join(_STOP_TIMEOUT)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(1.0)
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self.tasks.close()
        self.results.close()


def _describe_exit(code) -> str:
    if code is None:
        return "exit code unknown"
    if code < 0:
        try:
            return f"signal {-code} ({signal.Signals(-code).name})"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


def _died_message(pid, code) -> str:
    return (
        f"WorkerDied: the worker process (pid {pid}) died ({_describe_exit(code)}) while running "
        "this task (killed, out of memory or a crash in compiled code)"
    )


def _iter_processes(func, indexed, shared, n_jobs, chunksize, n_tasks):
    """Yield (index, ok, value, died) from a pool of processes; see `iter_tasks`."""
    method = _start_method()
    context = multiprocessing.get_context(method)
    if method == "fork":
        payload = (func, shared)  # inherited by the children, never pickled
    else:
        try:
            payload = pickle.dumps((func, shared), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            raise FluxfitError(
                f"run_tasks: the function and shared data must pickle for the {method!r} start "
                f"method ({type(exc).__name__}: {exc})"
            ) from exc
    n_workers = n_jobs if n_tasks is None else max(1, min(n_jobs, n_tasks))
    requeued: collections.deque = collections.deque()  # tasks of dead workers, not yet run
    source = iter(indexed)
    exhausted = False
    workers: list[_Worker] = []

    def work_left() -> bool:
        return bool(requeued) or not exhausted

    def next_chunk() -> list:
        nonlocal exhausted
        chunk = []
        while requeued and len(chunk) < chunksize:
            chunk.append(requeued.popleft())
        while not exhausted and len(chunk) < chunksize:
            try:
                chunk.append(next(source))
            except StopIteration:
                exhausted = True
        return chunk

    def feed(worker: _Worker, out: list) -> None:
        """Keep at most two chunks in flight on ``worker`` (one running, one waiting)."""
        while len(worker.inflight) <= chunksize:
            chunk = next_chunk()
            if not chunk:
                return
            try:
                worker.tasks.send(chunk)
            except (BrokenPipeError, ConnectionResetError, EOFError, OSError):
                requeued.extendleft(reversed(chunk))  # the worker died: the loop sees it
                return
            except Exception:  # some task does not pickle: send them one by one
                for item in chunk:
                    try:
                        worker.tasks.send([item])
                    except Exception as exc:
                        message = f"the task does not pickle ({type(exc).__name__}: {exc})"
                        out.append((item[0], False, (message, traceback.format_exc()), False))
                    else:
                        worker.inflight.append(item)
                continue
            worker.inflight.extend(chunk)

    def bury(worker: _Worker, out: list) -> None:
        """A worker died: its current task failed, the ones queued behind it run elsewhere."""
        worker.process.join(1.0)
        code = worker.process.exitcode
        if not worker.ready:
            detail = worker.init_error or _describe_exit(code)
            raise FluxfitError(f"run_tasks: a worker process failed to start: {detail}")
        if worker.inflight:
            index, _ = worker.inflight.popleft()
            message = _died_message(worker.process.pid, code)
            out.append((index, False, (message, ""), True))
            requeued.extendleft(reversed(worker.inflight))
            worker.inflight.clear()
        worker.stop(graceful=False)
        workers.remove(worker)

    graceful = False
    try:
        for _ in range(n_workers):
            workers.append(_Worker(context, payload))
        while True:
            out: list = []
            for worker in workers:
                feed(worker, out)
            yield from out
            if not work_left() and not any(w.inflight for w in workers):
                break
            waitables = {}
            for worker in workers:
                waitables[worker.results] = worker
                waitables[worker.process.sentinel] = worker
            touched = []
            for obj in connection.wait(list(waitables)):
                if waitables[obj] not in touched:
                    touched.append(waitables[obj])
            out = []
            for worker in touched:
                alive = worker.drain(out)
                if not alive or not worker.process.is_alive():
                    worker.drain(out)
                    bury(worker, out)
                    if work_left():
                        workers.append(_Worker(context, payload))
            yield from out
        graceful = True
    finally:
        for worker in workers:
            worker.stop(graceful)


# ------------------------------------------------------------------------- ray
_RAY_STATE: dict = {"started": False, "num_cpus": None}
_RAY_CACHE: dict = {}  # in a Ray worker: (func, shared) by object id, deserialised once


def _ray_chunk(box, chunk):
    """A Ray task: one chunk of (index, task) with (func, shared) from the object store."""
    global _IN_WORKER
    import ray

    ref = box[0]
    key = ref.hex()
    if key not in _RAY_CACHE:
        _RAY_CACHE.clear()  # keep only the current call's data
        _RAY_CACHE[key] = ray.get(ref)
    func, shared = _RAY_CACHE[key]
    previous, _IN_WORKER = _IN_WORKER, True
    try:
        return [_call(func, shared, index, task) for index, task in chunk]
    finally:
        _IN_WORKER = previous


def _ray(n_jobs: int):
    """Ray, initialised: the caller's instance or cluster, else a local one we keep."""
    try:
        import ray
    except ImportError:
        raise FluxfitError(
            "the 'ray' backend needs Ray: pip install 'fluxfit[distributed]'"
        ) from None
    if ray.is_initialized() and _RAY_STATE["started"] and _RAY_STATE["num_cpus"] != n_jobs:
        shutdown()  # our own local instance, with another number of workers
    if not ray.is_initialized():
        kwargs = dict(include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
        if os.environ.get("RAY_ADDRESS"):
            ray.init(address=os.environ["RAY_ADDRESS"], **kwargs)
        else:
            ray.init(num_cpus=n_jobs, **kwargs)
            _RAY_STATE.update(started=True, num_cpus=n_jobs)
    return ray


def shutdown() -> None:
    """Stop the local Ray instance `run_tasks` started (a no-op otherwise)."""
    if _RAY_STATE["started"]:
        import ray

        ray.shutdown()
        _RAY_STATE.update(started=False, num_cpus=None)


def _cancel_ray(ray, pending) -> None:
    """Cancel the unfinished Ray tasks of ``pending`` (force: kills the workers running them).

    Finished tasks are left alone (cancelling them is a no-op). A task that cannot be
    cancelled (Ray already shut down, the reference no longer owned) is logged with the
    reason; the exception that stopped the loop is the one the caller sees.
    """
    if not pending or not ray.is_initialized():
        return
    refs = list(pending)
    try:
        _, running = ray.wait(refs, num_returns=len(refs), timeout=0)
    except ray.exceptions.RayError:  # cannot tell which finished: cancel them all
        running = refs
    for ref in running:
        try:
            ray.cancel(ref, force=True)
        except (ray.exceptions.RayError, TypeError, ValueError) as exc:
            log.warning("could not cancel Ray task %s: %s: %s", ref, type(exc).__name__, exc)


def _iter_ray(func, indexed, shared, n_jobs, chunksize):
    """Yield (index, ok, value, died) from Ray tasks; see `iter_tasks`."""
    ray = _ray(n_jobs)
    remote = ray.remote(max_retries=0)(_ray_chunk)
    box = [ray.put((func, shared))]
    source = iter(indexed)
    singles: collections.deque = collections.deque()  # tasks of a crashed chunk, run alone
    exhausted = False
    pending: dict = {}

    def submit() -> bool:
        nonlocal exhausted
        if singles:
            chunk = [singles.popleft()]
        else:
            chunk = []
            while not exhausted and len(chunk) < chunksize:
                try:
                    chunk.append(next(source))
                except StopIteration:
                    exhausted = True
            if not chunk:
                return False
        pending[remote.remote(box, chunk)] = chunk
        return True

    try:
        while len(pending) < 2 * n_jobs and submit():
            pass
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                chunk = pending.pop(ref)
                try:
                    outcomes = ray.get(ref)
                except ray.exceptions.RayError as exc:
                    if len(chunk) > 1:  # which task broke the worker? run them one by one
                        singles.extend(chunk)
                    else:
                        index = chunk[0][0]
                        died = isinstance(
                            exc, ray.exceptions.WorkerCrashedError | ray.exceptions.NodeDiedError
                        )
                        text = str(exc).strip().splitlines()
                        message = f"{type(exc).__name__}: {text[0] if text else ''}"
                        if died:
                            message = f"WorkerDied: the Ray worker died while running this task ({message})"
                        yield index, False, (message, str(exc)), died
                else:
                    for index, ok, value in outcomes:
                        yield index, ok, value, False
                while len(pending) < 2 * n_jobs and submit():
                    pass
    except BaseException as exc:
        _cancel_ray(ray, pending)
        pending.clear()
        if isinstance(exc, KeyboardInterrupt) and _RAY_STATE["started"]:
            shutdown()  # Ctrl-C: stop our local instance, nothing left behind
        raise


# ---------------------------------------------------------------- the calls
def iter_tasks(
    func,
    tasks,
    shared=None,
    n_jobs: int | None = None,
    backend: str | None = None,
    labels=None,
    chunksize: int | None = None,
):
    """Apply ``func(shared, task)`` to every task; yield ``(index, result)`` as tasks finish.

    The streaming form of `run_tasks`: tasks are read lazily, at most two chunks per
    worker are in flight, and nothing is kept once yielded -- thousands of tasks run in
    bounded memory. A failed task yields a `TaskFailure` as its result. Closing the
    generator early (or an exception in the consumer) stops the workers.

    Parameters
    ----------
    func, tasks, shared, n_jobs, backend, labels, chunksize
        See `run_tasks`.

    Yields
    ------
    index : int
        Position of the task in ``tasks``.
    result : object or `TaskFailure`
    """
    n_jobs, backend = _resolve(n_jobs, backend)
    n_tasks = len(tasks) if hasattr(tasks, "__len__") else None
    if chunksize is None:
        chunksize = _auto_chunksize(n_tasks, n_jobs)
    chunksize = int(chunksize)
    if chunksize < 1:
        raise FluxfitError(f"chunksize must be >= 1, got {chunksize}")
    indexed = enumerate(tasks)
    if backend == "serial" or (n_tasks is not None and n_tasks <= 1):
        outcomes = ((*_call(func, shared, index, task), False) for index, task in indexed)
    elif backend == "multiprocessing":
        outcomes = _iter_processes(func, indexed, shared, n_jobs, chunksize, n_tasks)
    else:
        outcomes = _iter_ray(func, indexed, shared, n_jobs, chunksize)
    try:
        for index, ok, value, died in outcomes:
            if ok:
                yield index, value
            else:
                failure = TaskFailure(index, _label(index, labels), value[0], value[1], died)
                log.warning("%s", failure)
                yield index, failure
    finally:
        outcomes.close()  # stops the workers now, also when the consumer stops early


def run_tasks(
    func,
    tasks,
    shared=None,
    n_jobs: int | None = None,
    backend: str | None = None,
    labels=None,
    on_error: str = "raise",
    progress: bool | None = None,
    desc: str | None = None,
    chunksize: int | None = None,
):
    """Apply ``func(shared, task)`` to every task; results in task order.

    Parameters
    ----------
    func : callable
        ``func(shared, task)``; module-level (picklable) for the ``spawn`` start
        method and Ray.
    tasks : iterable
        The tasks (consumed lazily: a generator is read as workers free up).
    shared : object, optional
        Sent once per worker (must pickle for ``spawn`` and Ray).
    n_jobs : int, optional
        Workers (-1: all cores). Default from `get_defaults`.
    backend : {"serial", "multiprocessing", "ray"}, optional
        Default from `get_defaults`.
    labels : sequence of str or callable, optional
        Names of the tasks for messages (e.g. "energy bin 3: 1-2 TeV"), or
        ``labels(index) -> str``.
    on_error : {"raise", "return"}
        Raise `ParallelTaskError` after all tasks if any failed, or return the
        `TaskFailure` objects in place of the failed results.
    progress : bool, optional
        Show a tqdm progress bar: True or False to force, None (default) for
        `fluxfit.utils.progress_enabled` (on when standard error is a terminal and
        fluxfit is not quietened).
    desc : str, optional
        Progress bar label.
    chunksize : int, optional
        Tasks sent to a worker per message (default: about 32 messages per worker, at
        most 16 tasks each; 1 for a generator of unknown length). A worker that dies
        loses only its current task, whatever the chunk size.

    Returns
    -------
    list
        One result per task, in task order.
    """
    if on_error not in ("raise", "return"):
        raise FluxfitError(f"on_error={on_error!r}; use 'raise' or 'return'")
    n_tasks = len(tasks) if hasattr(tasks, "__len__") else None
    results: list = [None] * n_tasks if n_tasks is not None else []
    failures = []
    bar = _progress(total=n_tasks, desc=desc, enabled=progress)
    stream = iter_tasks(func, tasks, shared, n_jobs, backend, labels, chunksize)
    try:
        for index, result in stream:
            if index >= len(results):
                results.extend([None] * (index + 1 - len(results)))
            results[index] = result
            if isinstance(result, TaskFailure):
                failures.append(result)
            bar.update()
    finally:
        stream.close()  # on Ctrl-C or any error: the workers are stopped before we return
        bar.close()
    if failures and on_error == "raise":
        failures.sort(key=lambda f: f.index)
        names = ", ".join(f.label for f in failures[:10])
        raise ParallelTaskError(
            f"{len(failures)} of {len(results)} tasks failed ({names}); first error: "
            f"{failures[0].error}",
            results,
        )
    return results
