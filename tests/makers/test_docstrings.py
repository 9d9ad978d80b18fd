"""The examples in the fluxfit.makers docstrings run and give the documented output."""

import doctest
import importlib

import pytest

MODULES = [
    "fluxfit.makers",
    "fluxfit.makers.core",
    "fluxfit.makers.fov",
    "fluxfit.makers.irf_maps",
    "fluxfit.makers.map",
    "fluxfit.makers.reduce",
    "fluxfit.makers.reflected",
    "fluxfit.makers.safe",
    "fluxfit.makers.spectrum",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
