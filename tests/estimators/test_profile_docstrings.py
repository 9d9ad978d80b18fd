"""The examples in the docstrings of the flux profile and light curve estimators run."""

import doctest
import importlib

import pytest


@pytest.mark.parametrize("name", ["fluxfit.estimators.profile", "fluxfit.estimators.lightcurve"])
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, name
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
