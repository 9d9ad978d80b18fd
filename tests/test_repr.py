"""Notebook and terminal displays (issue 10): every user-facing object has a concise
``__str__`` and a ``_repr_html_`` that is valid-looking HTML with its key numbers.

Covered: spectral models, parameters (one and many), sky models, models, datasets (one
and many), fit results, flux points, flux-point datasets and analysis results (MLE and
Bayesian). Synthetic data only (the demo's simulated ON/OFF spectra).
"""

from __future__ import annotations

import warnings

import astropy.units as u
import pytest

from fluxfit.cli.demo import simulate_crab_datasets
from fluxfit.datasets import FluxPointsDataset
from fluxfit.estimators import FluxPointsEstimator
from fluxfit.fit import Fit
from fluxfit.models import LogParabolaSpectralModel, Models, SkyModel
from fluxfit.results import AnalysisResults

MAX_STR_LINES = 40  # "concise": a terminal screen


@pytest.fixture(scope="module")
def analysis():
    datasets = simulate_crab_datasets(n_runs=2)
    spectral = LogParabolaSpectralModel(
        amplitude=3e-11 * u.Unit("cm-2 s-1 TeV-1"), reference=1 * u.TeV, alpha=2.5, beta=0.1
    )
    datasets.models = Models([SkyModel(spectral_model=spectral, name="crab")])
    fit_result = Fit().run(datasets)
    points = FluxPointsEstimator(energy_edges=[0.5, 2, 10] * u.TeV, source="crab").run(datasets)
    return {
        "spectral": spectral,
        "datasets": datasets,
        "fit_result": fit_result,
        "flux_points": points,
        "results": AnalysisResults.from_fit_result(fit_result, datasets),
    }


def _objects(a):
    spectral = a["spectral"]
    return {
        "spectral model": (spectral, ["alpha"]),
        "parameter": (spectral.alpha, ["alpha"]),
        "parameters": (spectral.parameters, ["amplitude", "beta"]),
        "sky model": (a["datasets"].models[0], ["crab"]),
        "models": (a["datasets"].models, ["crab"]),
        "dataset": (a["datasets"][0], [a["datasets"][0].name]),
        "datasets": (a["datasets"], a["datasets"].names),
        "fit result": (a["fit_result"], []),
        "flux points": (a["flux_points"], []),
        "flux points dataset": (
            FluxPointsDataset(data=a["flux_points"], models=a["datasets"].models, name="fp"),
            ["fp"],
        ),
        "analysis results": (a["results"], ["alpha"]),
    }


NAMES = [
    "spectral model",
    "parameter",
    "parameters",
    "sky model",
    "models",
    "dataset",
    "datasets",
    "fit result",
    "flux points",
    "flux points dataset",
    "analysis results",
]


@pytest.mark.parametrize("name", NAMES)
def test_str_is_concise_and_informative(analysis, name):
    obj, words = _objects(analysis)[name]
    text = str(obj)
    assert text.strip(), name
    assert len(text.splitlines()) <= MAX_STR_LINES, text
    assert not text.startswith("<"), "str must not be the default object repr"
    for word in words:
        assert word in text, (name, word, text)


@pytest.mark.parametrize("name", NAMES)
def test_repr_html(analysis, name):
    obj, words = _objects(analysis)[name]
    html = obj._repr_html_()
    assert isinstance(html, str) and "<" in html and ">" in html
    assert "<table" in html or "<pre>" in html, html[:200]
    for word in words:
        assert word in html, (name, word)


def test_parameter_str_states(analysis):
    text = str(analysis["spectral"].alpha)
    assert text.startswith("alpha = ") and "+-" in text  # fitted: has an error
    frozen = LogParabolaSpectralModel()
    frozen.beta.frozen = True
    assert str(frozen.beta).endswith("(frozen)")


def test_bayesian_results_display(analysis):
    pytest.importorskip("emcee")
    from fluxfit.fit import BayesianAnalysis
    from fluxfit.models import GaussianPrior, LogUniformPrior

    datasets = analysis["datasets"]
    spectral = datasets.models[0].spectral_model
    spectral.amplitude.prior = LogUniformPrior(min=1e-12, max=1e-9)
    spectral.alpha.prior = GaussianPrior(mu=2.5, sigma=1.0)
    spectral.beta.prior = GaussianPrior(mu=0.0, sigma=0.5)
    try:
        with warnings.catch_warnings():  # a short chain: emcee's autocorrelation warning
            warnings.simplefilter("ignore")
            results = BayesianAnalysis(None, datasets).sample(
                "emcee", seed=1, verbose=False, n_walkers=8, n_iterations=30
            )
    finally:
        for par in (spectral.amplitude, spectral.alpha, spectral.beta):
            par.prior = None
    assert "posterior" in str(results).lower() or "MAP" in str(results)
    assert "<table" in results._repr_html_()
