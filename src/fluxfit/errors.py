"""Exception and warning classes used throughout fluxfit.

Every error raised on bad input is one of these, so callers can catch
``fluxfit.errors.FluxfitError`` for anything fluxfit refuses, or the usual
built-in base class (``ValueError``, ``TypeError``, ``OSError``) that each one
also derives from. Messages name the file, the HDU or key path, the field and
the offending value, and, where one exists, what would be valid.

Examples
--------
>>> from fluxfit.errors import ParameterError
>>> try:
...     raise ParameterError("Parameter 'index': value nan is not a finite number")
... except ValueError as exc:
...     print(type(exc).__name__)
ParameterError
"""

from __future__ import annotations

import reprlib

__all__ = [
    "FluxfitError",
    "ParameterError",
    "PriorError",
    "UnitError",
    "ModelError",
    "FormatError",
    "MissingFileError",
    "DatasetError",
    "FitError",
    "ConvergenceWarning",
    "OverwriteError",
    "PathSafetyError",
    "short_repr",
]


class FluxfitError(Exception):
    """Base class of every exception raised by fluxfit."""


class ParameterError(FluxfitError, ValueError):
    """A parameter received an invalid value, bound, link or prior."""


class PriorError(FluxfitError, ValueError):
    """A prior is ill-defined (e.g. non-positive width, empty support)."""


class UnitError(FluxfitError, ValueError):
    """A quantity has a unit incompatible with what is expected."""


class ModelError(FluxfitError, ValueError):
    """A model is malformed: unknown type, missing key, wrong component."""


class FormatError(FluxfitError, ValueError):
    """A file does not follow the format it claims (missing HDU, column, key...)."""


class MissingFileError(FluxfitError, FileNotFoundError):
    """A file named by the user or referenced by another file does not exist."""


class DatasetError(FluxfitError, ValueError):
    """A dataset is inconsistent (shapes, axes, masks) or unusable for the request."""


class FitError(FluxfitError, RuntimeError):
    """A fit could not be set up or run (no free parameters, NaN statistic...)."""


class OverwriteError(FluxfitError, FileExistsError):
    """An output file exists and ``overwrite=True`` was not given."""


class PathSafetyError(FluxfitError, PermissionError):
    """A path derived from file contents points outside the folder allowed."""


class ConvergenceWarning(UserWarning):
    """A fit or an estimator bin did not converge; the result says so too."""


_REPR = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = _REPR.maxfrozenset = 4
_REPR.maxstring = _REPR.maxother = 80
_REPR.maxlong = 40


def short_repr(value) -> str:
    """A bounded ``repr`` of a value read from a file, for error messages.

    YAML aliases can give a value with millions of shared elements (an "alias bomb") whose
    full ``repr`` would take minutes and gigabytes; this one stays under a few hundred
    characters.

    Examples
    --------
    >>> short_repr(list(range(1000)))
    '[0, 1, 2, 3, ...]'
    """
    return _REPR.repr(value)
