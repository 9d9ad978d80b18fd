"""Optional compilation of hot loops with numba.

fluxfit's reference implementation is numpy everywhere. Where a single likelihood evaluation
is dominated by the per-call cost of many small numpy operations (a spectrum of ~100 channels),
a few fused loops compiled with numba make it several times faster. numba is optional
(``pip install fluxfit[fast]``): without it the same functions stay plain Python, the compiled
paths are not used and every result comes from the numpy code.

``FLUXFIT_NUMBA=0`` in the environment turns the compiled paths off even where numba is
installed (to compare, or to rule them out when chasing a problem).
"""

from __future__ import annotations

import importlib.util
import os

__all__ = ["HAVE_NUMBA", "jit", "jit_enabled", "jit_reassociate"]

#: True when numba is installed. numba itself is imported only by the kernel modules, which
#: are imported on first use (importing numba costs ~0.5 s and ~100 MB).
HAVE_NUMBA = importlib.util.find_spec("numba") is not None


def _numba():
    if not HAVE_NUMBA:
        return None
    import numba

    return numba


def jit_enabled() -> bool:
    """True when compiled kernels are used: numba is installed and ``FLUXFIT_NUMBA`` is not 0."""
    return HAVE_NUMBA and os.environ.get("FLUXFIT_NUMBA", "1").strip().lower() not in (
        "0",
        "false",
        "no",
        "off",
    )


def jit(function):
    """Compile ``function`` in nopython mode when numba is installed, else return it unchanged.

    Compiled with ``cache=True`` (machine code kept next to the module, compiled once per
    machine) and ``error_model="numpy"`` (division by zero gives inf/nan as in numpy instead of
    raising), so that a kernel and the numpy code it replaces agree on every input.
    """
    numba = _numba()
    if numba is None:
        return function
    return numba.njit(cache=True, error_model="numpy")(function)


def jit_reassociate(function):
    """`jit`, and sums may be reordered (LLVM ``reassoc`` and ``contract``), so that
    reductions such as dot products use SIMD instructions.

    NaN and inf keep their meaning (no ``nnan``/``ninf``); sums differ from numpy's by
    rounding only.
    """
    numba = _numba()
    if numba is None:
        return function
    flags = {"reassoc", "contract"}
    return numba.njit(cache=True, error_model="numpy", fastmath=flags)(function)
