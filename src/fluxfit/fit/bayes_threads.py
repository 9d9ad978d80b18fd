"""Run BLAS single-threaded while sampling or fitting.

Samplers and fits (gradients and Hessians are batches too) evaluate the likelihood for
batches of tens of parameter sets: the response
folding is then a small matrix product (e.g. 64 x 140 x 128 for seed 000) for which
OpenBLAS's threads bring nothing on an idle machine and cost up to 100x on a busy one
(threads spin and wait for a core; measured 0.04 ms single-threaded against 0.7-15 ms with
two threads while another process ran; the seed-000 fit takes 20 ms single-threaded and
21-71 ms with two threads on a machine running other work, and the Fermi-LAT and joint Crab
map fits are as fast single-threaded on an idle machine: bench/RESULTS.md). `single_threaded_blas` sets the thread count of
every OpenBLAS library loaded in the process to 1 and restores it afterwards; it does
nothing where it cannot find one (other platforms or BLAS builds), like ``threadpoolctl``
on which it is modelled (not a dependency of fluxfit).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import sys

__all__ = ["single_threaded_blas", "openblas_libraries"]

_GETTERS = (
    "openblas_get_num_threads",
    "openblas_get_num_threads64_",
    "scipy_openblas_get_num_threads64_",
    "scipy_openblas_get_num_threads",
)
_SETTERS = (
    "openblas_set_num_threads",
    "openblas_set_num_threads64_",
    "scipy_openblas_set_num_threads64_",
    "scipy_openblas_set_num_threads",
)


@functools.lru_cache(maxsize=1)
def openblas_libraries() -> tuple:
    """(getter, setter) pairs of the OpenBLAS libraries loaded in this process (Linux).

    Looked up once (numpy and scipy load theirs at import).
    """
    if not sys.platform.startswith("linux"):
        return ()
    paths = []
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.rsplit(None, 1)[-1] if "/" in line else ""
                if "openblas" in path.lower() and path not in paths:
                    paths.append(path)
    except OSError:
        return ()
    out = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        getter = next((getattr(lib, n) for n in _GETTERS if hasattr(lib, n)), None)
        setter = next((getattr(lib, n) for n in _SETTERS if hasattr(lib, n)), None)
        if getter is not None and setter is not None:
            out.append((getter, setter))
    return tuple(out)


@contextlib.contextmanager
def single_threaded_blas(enabled: bool = True):
    """Context in which OpenBLAS uses one thread (restored on exit)."""
    libraries = openblas_libraries() if enabled else ()
    previous = []
    for getter, setter in libraries:
        try:
            previous.append((setter, int(getter())))
            setter(1)
        except (OSError, ValueError):  # pragma: no cover - foreign ABI
            continue
    try:
        yield
    finally:
        for setter, count in previous:
            setter(count)
