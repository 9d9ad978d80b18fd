"""Small helpers shared by every layer (no fluxfit imports)."""

from __future__ import annotations

import math
import os
import sys

__all__ = ["nested_equal", "progress", "progress_enabled", "set_progress"]

PROGRESS_ENV = "FLUXFIT_PROGRESS"
_PROGRESS: dict = {"enabled": None}  # None: automatic (see `progress_enabled`)


def nested_equal(a, b) -> bool:
    """Compare nested dicts/lists/scalars, treating NaN as equal to NaN.

    Floats must be equal exactly (this is for lossless round-trip checks).
    """
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(nested_equal(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(nested_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def set_progress(enabled: bool | None) -> None:
    """Turn fluxfit's progress bars on (True), off (False) or back to automatic (None).

    Automatic means: shown only when standard error is a terminal, unless the environment
    variable ``FLUXFIT_PROGRESS`` says otherwise (``0``/``false``/``off``: never,
    ``1``/``true``/``on``: always). ``fluxfit --quiet`` calls ``set_progress(False)``.

    Examples
    --------
    >>> from fluxfit.utils import set_progress, progress_enabled
    >>> set_progress(False)
    >>> progress_enabled()
    False
    >>> set_progress(None)
    """
    _PROGRESS["enabled"] = None if enabled is None else bool(enabled)


def progress_enabled(enabled: bool | None = None) -> bool:
    """Whether a progress bar is shown.

    Parameters
    ----------
    enabled : bool, optional
        An explicit choice of the caller (returned as is); None for the package setting
        (`set_progress`), then ``$FLUXFIT_PROGRESS``, then "standard error is a terminal".

    Returns
    -------
    bool
    """
    if enabled is not None:
        return bool(enabled)
    if _PROGRESS["enabled"] is not None:
        return _PROGRESS["enabled"]
    env = os.environ.get(PROGRESS_ENV, "").strip().lower()
    if env in ("0", "false", "no", "off"):
        return False
    if env in ("1", "true", "yes", "on"):
        return True
    stream = sys.stderr
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


def progress(iterable=None, total: int | None = None, desc: str | None = None, enabled=None):
    """A tqdm progress bar (``tqdm.auto``) over ``iterable``, or a manual bar without one.

    Used by every loop of fluxfit that can last more than a few seconds (reduction over
    observations, estimator bins, sampling). The bar writes to standard error, is removed
    when done and costs nothing when disabled.

    Parameters
    ----------
    iterable : iterable, optional
        What to iterate over; None for a bar advanced with ``bar.update()``.
    total : int, optional
        Number of steps (default ``len(iterable)`` where defined).
    desc : str, optional
        Label of the bar (e.g. "flux points").
    enabled : bool, optional
        True or False to force; None (default) for `progress_enabled`.

    Returns
    -------
    tqdm.tqdm
        Iterate over it, or call ``update()`` and ``close()`` (also a context manager).

    Examples
    --------
    >>> from fluxfit.utils import progress
    >>> sum(progress(range(4), desc="bins", enabled=False))
    6
    """
    from tqdm.auto import tqdm

    return tqdm(
        iterable,
        total=total,
        desc=desc,
        disable=not progress_enabled(enabled),
        leave=False,
        file=sys.stderr,
        dynamic_ncols=True,
    )
