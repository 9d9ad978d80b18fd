"""The examples in the fluxfit.estimators docstrings run and give the documented output."""

import doctest
import importlib

import pytest

MODULES = [
    "fluxfit.estimators",
    "fluxfit.estimators.core",
    "fluxfit.estimators.norm_solver",
    "fluxfit.estimators.points",
    "fluxfit.estimators.scale",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 or name == "fluxfit.estimators.core", name
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
