"""Fit engine on a small analytic problem whose answer is known in closed form.

The dataset is a Poisson spectrum with an ideal response (counts = exposure x
integral of the model over each bin) and the Cash statistic, written in the test
so that the fit layer is checked independently of the dataset classes.
"""

import numpy as np
import pytest
from scipy import optimize

from fluxfit.datasets.core import Dataset, Datasets
from fluxfit.errors import FitError
from fluxfit.fit import Fit, Objective
from fluxfit.models import Models, PowerLawSpectralModel, SkyModel


class IdealCashDataset(Dataset):
    def __init__(self, name, edges, counts, exposure):
        super().__init__(name)
        self.edges = edges
        self.counts = counts
        self.exposure = exposure

    def npred(self, overrides=None):
        total = 0.0
        for model in self.models:
            total = total + model.spectral_model.integral_array(
                self.edges[:-1], self.edges[1:], overrides
            )
        return self.exposure * total

    def _cash(self, mu):
        return 2.0 * np.sum(mu - self.counts * np.log(mu), axis=-1)

    def stat_sum(self):
        return float(self._cash(self.npred()))

    def stat_sum_batch(self, overrides):
        return self._cash(self.npred(overrides))


@pytest.fixture
def problem():
    rng = np.random.default_rng(42)
    edges = np.geomspace(1, 100, 31)  # TeV
    truth = PowerLawSpectralModel(index=2.4, amplitude="1e-11 cm-2 s-1 TeV-1")
    exposure = 1e13  # cm2 s
    mu = exposure * truth.integral_array(edges[:-1], edges[1:])
    counts = rng.poisson(mu).astype(float)
    dataset = IdealCashDataset("ideal", edges, counts, exposure)
    model = SkyModel(PowerLawSpectralModel(index=2.0, amplitude="3e-12 cm-2 s-1 TeV-1"), name="src")
    datasets = Datasets([dataset])
    datasets.models = Models([model])
    return datasets, model


def reference_fit(datasets):
    """Independent answer: scipy Nelder-Mead on the same statistic, numerical Hessian."""
    dataset = datasets[0]
    model = dataset.models[0].spectral_model

    def stat(x):
        overrides = {model.index: np.array([[x[0]]]), model.amplitude: np.array([[x[1] * 1e-12]])}
        return float(dataset.stat_sum_batch(overrides)[0])

    res = optimize.minimize(
        stat,
        [2.0, 3.0],
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-10, "maxiter": 20000},
    )
    return res.x, res.fun, stat


@pytest.mark.parametrize("backend", ["minuit", "scipy"])
def test_fit_recovers_reference(problem, backend):
    datasets, model = problem
    best, stat_min, stat = reference_fit(datasets)
    result = Fit(backend=backend).run(datasets)
    assert result.success, result.message
    assert model.spectral_model.index.value == pytest.approx(best[0], rel=1e-4)
    assert model.spectral_model.amplitude.value == pytest.approx(best[1] * 1e-12, rel=1e-4)
    assert result.total_stat == pytest.approx(stat_min, abs=1e-4)
    # errors from the curvature: compare with a finite-difference Hessian of the reference
    h = np.array([1e-3, 1e-3])
    hess = np.empty((2, 2))
    for i in range(2):
        for j in range(2):

            def f(di, dj, i=i, j=j):
                x = best.copy()
                x[i] += di
                x[j] += dj
                return stat(x)

            hess[i, j] = (f(h[i], h[j]) - f(h[i], -h[j]) - f(-h[i], h[j]) + f(-h[i], -h[j])) / (
                4 * h[i] * h[j]
            )
    cov = 2 * np.linalg.inv(hess)
    assert model.spectral_model.index.error == pytest.approx(np.sqrt(cov[0, 0]), rel=0.02)
    assert model.spectral_model.amplitude.error == pytest.approx(
        np.sqrt(cov[1, 1]) * 1e-12, rel=0.02
    )
    # the result holds an independent copy with the covariance
    assert result.models["src"].spectral_model.index.value == pytest.approx(best[0], rel=1e-4)
    assert result.covariance.shape == (3, 3)
    assert "index" in str(result)


def test_confidence_minos_and_profile(problem):
    datasets, model = problem
    fit = Fit()
    fit.run(datasets)
    index = model.spectral_model.index
    best = index.value
    minos = fit.confidence(datasets, index, sigma=1)
    assert minos["success"]
    # the statistic rises by 1 at best + errp when the amplitude is refitted
    profile = Fit(backend="scipy").confidence(datasets, "index", sigma=1, reoptimize=True)
    assert profile["errp"] == pytest.approx(minos["errp"], rel=0.02)
    assert profile["errn"] == pytest.approx(minos["errn"], rel=0.02)
    assert index.value == best  # parameters restored
    fixed = fit.confidence(datasets, index, sigma=1, reoptimize=False)
    assert fixed["errp"] < minos["errp"]  # correlated amplitude held fixed: narrower


def test_stat_profile_and_surface_batched(problem):
    datasets, model = problem
    Fit().run(datasets)
    index = model.spectral_model.index
    values = np.linspace(index.value - 0.2, index.value + 0.2, 11)
    profile = Fit().stat_profile(datasets, index, values=values)
    assert np.argmin(profile["stat_scan"]) == 5
    loop = []
    for v in values:
        index.value = v
        loop.append(datasets.stat_sum())
    index.value = values[5]
    assert np.allclose(profile["stat_scan"], loop, rtol=1e-12)
    amp = model.spectral_model.amplitude
    surface = Fit().stat_surface(datasets, index, amp, values, np.linspace(0.8, 1.2, 5) * amp.value)
    assert surface["stat_scan"].shape == (11, 5)
    prof_re = Fit().stat_profile(datasets, index, values=values[::5], reoptimize=True)
    assert np.all(prof_re["stat_scan"] <= np.asarray(profile["stat_scan"])[::5] + 1e-6)


def test_no_free_parameters_is_a_clear_error(problem):
    datasets, model = problem
    model.freeze()
    with pytest.raises(FitError, match="no free parameters"):
        Fit().run(datasets)


def test_objective_batch_equals_loop(problem):
    datasets, _ = problem
    objective = Objective(datasets)
    values = np.array([[2.0, 1e-11], [2.5, 2e-11], [3.0, 5e-12]])
    batch = objective.batch(values)
    loop = [objective.stat_values(v) for v in values]
    assert np.allclose(batch, loop, rtol=1e-12)


def test_nonconvergence_is_reported(problem):
    datasets, _ = problem
    with pytest.warns(Warning, match="did not converge"):
        result = Fit(optimize_opts={"ncall": 3}).run(datasets)
    assert not result.success
    assert "call limit" in result.message
