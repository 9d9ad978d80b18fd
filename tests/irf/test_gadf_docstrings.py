"""The examples in the fluxfit.irf.gadf docstrings run and give the documented output."""

import doctest
import importlib

import pytest

MODULES = [
    "fluxfit.irf.gadf",
    "fluxfit.irf.gadf._interp",
    "fluxfit.irf.gadf.background",
    "fluxfit.irf.gadf.core",
    "fluxfit.irf.gadf.edisp",
    "fluxfit.irf.gadf.effective_area",
    "fluxfit.irf.gadf.io",
    "fluxfit.irf.gadf.psf",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
