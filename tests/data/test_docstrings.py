"""The examples in the fluxfit.data docstrings run and give the documented output."""

import doctest
import importlib

import pytest

MODULES = [
    "fluxfit.data",
    "fluxfit.data.data_store",
    "fluxfit.data.event_list",
    "fluxfit.data.gti",
    "fluxfit.data.hdu_index_table",
    "fluxfit.data.obs_table",
    "fluxfit.data.observations",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
