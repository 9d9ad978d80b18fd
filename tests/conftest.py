"""Shared test fixtures: where the real data and the peers' reference numbers live.

Tests needing ``../shared/data`` or ``../shared/reference`` use the ``data_dir``
and ``reference_dir`` fixtures, which skip with a clear reason when absent. The
location is ``$FLUXFIT_DATA`` (the folder holding ``gammapy-data`` and
``threeml``) or the sibling ``../shared/data`` of the repository.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _shared_dir() -> Path:
    return REPO.parent / "shared"


def find_data_dir() -> Path | None:
    env = os.environ.get("FLUXFIT_DATA")
    if env:
        return Path(env)
    candidate = _shared_dir() / "data"
    return candidate if candidate.is_dir() else None


def find_reference_dir() -> Path | None:
    env = os.environ.get("FLUXFIT_REFERENCE")
    if env:
        return Path(env)
    data = find_data_dir()
    for candidate in ([data.parent / "reference"] if data else []) + [_shared_dir() / "reference"]:
        if candidate.is_dir():
            return candidate
    return None


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = find_data_dir()
    if path is None or not path.is_dir():
        pytest.skip("real data not found: set FLUXFIT_DATA or place ../shared/data beside the repo")
    return path


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    path = find_reference_dir()
    if path is None or not path.is_dir():
        pytest.skip(
            "peer reference results not found: set FLUXFIT_REFERENCE or place "
            "../shared/reference beside the repo"
        )
    return path
