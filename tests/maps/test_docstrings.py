"""The examples in the fluxfit.maps docstrings run and give the documented output."""

import doctest
import importlib

import matplotlib
import pytest

matplotlib.use("Agg")

MODULES = [
    "fluxfit.maps",
    "fluxfit.maps.axes",
    "fluxfit.maps.axis_tables",
    "fluxfit.maps.coord",
    "fluxfit.maps.core",
    "fluxfit.maps.io",
    "fluxfit.maps.label_axis",
    "fluxfit.maps.map_axes",
    "fluxfit.maps.plotting",
    "fluxfit.maps.region",
    "fluxfit.maps.region_map",
    "fluxfit.maps.regions_helpers",
    "fluxfit.maps.time_axis",
    "fluxfit.maps.wcs",
    "fluxfit.maps.wcs_map",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    import matplotlib.pyplot as plt

    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    plt.close("all")
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
