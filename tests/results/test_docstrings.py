"""The examples in the docstrings of the results, Bayesian and plotting modules run."""

import doctest
import importlib

import matplotlib
import pytest

matplotlib.use("Agg")

MODULES = [
    "fluxfit.results",
    "fluxfit.results.analysis_results",
    "fluxfit.results.flux",
    "fluxfit.results.io",
    "fluxfit.results.statistics",
    "fluxfit.results.summary",
    "fluxfit.fit.bayes",
    "fluxfit.fit.bayes_threads",
    "fluxfit.plotting.bayes",
    "fluxfit.plotting.counts",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"


def test_single_threaded_blas_restores():
    from fluxfit.fit.bayes_threads import openblas_libraries, single_threaded_blas

    before = [getter() for getter, _ in openblas_libraries()]
    with single_threaded_blas():
        assert all(getter() == 1 for getter, _ in openblas_libraries())
    assert [getter() for getter, _ in openblas_libraries()] == before
