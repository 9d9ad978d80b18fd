"""Fixtures of the execution-layer tests: a local Ray instance, and the helpers on sys.path.

The task functions and data builders live in ``_parallel_helpers.py`` (an importable module:
``spawn`` workers and Ray workers unpickle functions by module name, which the test modules
themselves are not under ``--import-mode=importlib``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)


@pytest.fixture(scope="session")
def ray_local():
    """A local Ray instance with 2 CPUs (skipped where Ray is not installed), stopped at the end."""
    ray = pytest.importorskip(
        "ray", reason="ray is not installed (pip install 'fluxfit[distributed]')"
    )
    import os

    from fluxfit import parallel

    # the workers import the helpers by name: give them this folder on their path
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (HERE, saved) if p)
    if not ray.is_initialized() or parallel._RAY_STATE["started"]:
        parallel.shutdown()  # our own instance, maybe started without that path
        parallel._ray(2)
    yield ray
    parallel.shutdown()
    if saved is None:
        os.environ.pop("PYTHONPATH", None)
    else:
        os.environ["PYTHONPATH"] = saved
