"""The compiled spectrum statistic (`fluxfit.datasets.kernels`) equals the numpy path.

Every model with a kernel, in both integration modes, alone and summed with models that have
none, with Cash (with and without background) and W-stat, single and batched, at random
parameters: the statistic agrees with the numpy code to 1e-12 relative. The scalar model
kernels are also checked without numba (they are plain Python functions then).
"""

from __future__ import annotations

import itertools

import astropy.units as u
import numpy as np
import pytest

from fluxfit import _jit
from fluxfit.datasets import Datasets, SpectrumDataset, SpectrumDatasetOnOff
from fluxfit.fit import Objective
from fluxfit.irf import EnergyDispersionMatrix
from fluxfit.models import (
    BandSpectralModel,
    BlackbodySpectralModel,
    BrokenPowerLawSpectralModel,
    ConstantSpectralModel,
    ExpCutoffPowerLawSpectralModel,
    GaussianSpectralModel,
    LogParabola10SpectralModel,
    LogParabolaSpectralModel,
    Models,
    PowerLaw2SpectralModel,
    PowerLawFluxSpectralModel,
    PowerLawNormSpectralModel,
    PowerLawSpectralModel,
    SkyModel,
    SmoothBrokenPowerLawSpectralModel,
)
from fluxfit.models.spectral.kernels import (
    KERNEL_CODES,
    dnde_kernel,
    integral_kernel,
    kernel_code,
)

needs_numba = pytest.mark.skipif(not _jit.jit_enabled(), reason="numba not installed or disabled")

RTOL = 1e-12


def _models():
    """One instance per kernel-covered class, with parameters in the model's natural range."""
    return [
        PowerLawSpectralModel(index=2.3, amplitude=1e-11 * u.Unit("cm-2 s-1 TeV-1")),
        PowerLaw2SpectralModel(amplitude=1e-10 * u.Unit("cm-2 s-1"), index=1.9),
        PowerLawFluxSpectralModel(
            F=1e-9 * u.Unit("cm-2 s-1"), index=-2.1, a=1 * u.TeV, b=50 * u.TeV
        ),
        BrokenPowerLawSpectralModel(index1=1.8, index2=2.9, ebreak=3 * u.TeV),
        SmoothBrokenPowerLawSpectralModel(index1=1.7, index2=3.1, ebreak=2 * u.TeV, beta=1.3),
        LogParabolaSpectralModel(alpha=2.1, beta=0.2, reference=1 * u.TeV),
        LogParabola10SpectralModel(alpha=2.1, beta=0.3, reference=1 * u.TeV),
        ExpCutoffPowerLawSpectralModel(index=1.6, lambda_=0.1 / u.TeV, alpha=1.2),
        BandSpectralModel(K=1e-11, alpha=-0.8, xp=5 * u.TeV, beta=-2.4, piv=1 * u.TeV),
        BlackbodySpectralModel(K=1e-11 * u.Unit("cm-2 s-1 TeV-3"), kT=2 * u.TeV),
        ConstantSpectralModel(const=1e-12 * u.Unit("cm-2 s-1 TeV-1")),
        GaussianSpectralModel(
            amplitude=1e-11 * u.Unit("cm-2 s-1"), mean=4 * u.TeV, sigma=1 * u.TeV
        ),
    ]


def _response(n_true=60, n_chan=40, seed=0):
    rng = np.random.default_rng(seed)
    true_edges = np.geomspace(0.3, 100, n_true + 1)
    chan_edges = np.geomspace(0.5, 80, n_chan + 1)
    # a smeared diagonal with random widths: rows are banded, as real responses are
    centre = np.log(np.sqrt(true_edges[:-1] * true_edges[1:]))[:, None]
    chan = np.log(np.sqrt(chan_edges[:-1] * chan_edges[1:]))[None, :]
    width = rng.uniform(0.1, 0.3, size=(n_true, 1))
    matrix = np.exp(-0.5 * ((chan - centre) / width) ** 2)
    matrix[matrix < 1e-3] = 0.0
    matrix *= rng.uniform(0.5, 0.9, size=(n_true, 1)) / np.maximum(
        matrix.sum(1, keepdims=True), 1e-30
    )
    return EnergyDispersionMatrix(true_edges * u.TeV, chan_edges * u.TeV, matrix)


def _cash_dataset(integration, background=True, seed=0, name="cash"):
    edisp = _response(seed=seed)
    rng = np.random.default_rng(seed + 1)
    n_chan = edisp.shape[1]
    counts = rng.poisson(20, n_chan).astype(float)
    counts[::7] = 0.0
    return SpectrumDataset(
        counts=counts,
        exposure=np.full(edisp.shape[0], 1e11),
        edisp=edisp,
        background=rng.uniform(0, 5, n_chan) if background else None,
        integration=integration,
        name=name,
    )


def _onoff_dataset(integration, seed=3):
    edisp = _response(seed=seed)
    rng = np.random.default_rng(seed)
    n_chan = edisp.shape[1]
    counts = rng.poisson(20, n_chan).astype(float)
    counts_off = rng.poisson(30, n_chan).astype(float)
    counts[::5] = 0.0
    counts_off[::3] = 0.0
    mask = np.ones(n_chan, bool)
    mask[:3] = False
    return SpectrumDatasetOnOff(
        counts=counts,
        counts_off=counts_off,
        acceptance=1.0,
        acceptance_off=rng.uniform(3, 6, n_chan),
        exposure=np.full(edisp.shape[0], 1e11),
        edisp=edisp,
        mask_safe=mask,
        integration=integration,
        name="onoff",
    )


def _numpy_stat(dataset, overrides=None):
    cache = dataset._cache or dataset._prepare()
    return np.asarray(dataset._stat_sum_fit(cache, dataset._npred_signal_fit(overrides)), float)


def _batch(parameters, k=7, seed=5):
    rng = np.random.default_rng(seed)
    return {
        par: np.reshape(par.value * rng.uniform(0.9, 1.1, k), (k, 1))
        for par in parameters
        if not par.frozen
    }


# ----------------------------------------------------------------- scalar kernels
@pytest.mark.parametrize("model", _models(), ids=lambda m: type(m).__name__)
def test_dnde_kernel_equals_evaluate(model):
    energies = np.geomspace(0.3, 100, 57)
    values = np.array([float(v) for v in model.canonical_values().values()])
    code, _ = KERNEL_CODES[type(model)]
    got = np.array([dnde_kernel(code, e, values, 0) for e in energies])
    np.testing.assert_allclose(got, model.dnde_array(energies), rtol=RTOL, atol=0)


@pytest.mark.parametrize(
    "model", [m for m in _models() if KERNEL_CODES[type(m)][1]], ids=lambda m: type(m).__name__
)
def test_integral_kernel_equals_closed_form(model):
    edges = np.geomspace(0.3, 100, 31)
    values = np.array([float(v) for v in model.canonical_values().values()])
    code, _ = KERNEL_CODES[type(model)]
    got = np.array([integral_kernel(code, a, b, values, 0) for a, b in itertools.pairwise(edges)])
    np.testing.assert_allclose(got, model.integral_array(edges[:-1], edges[1:]), rtol=RTOL)


def test_kernel_code_rules():
    # exact integration needs a closed-form kernel for a model that has a closed form
    gauss = GaussianSpectralModel()
    assert kernel_code(gauss, closed_form=True) is None
    assert kernel_code(gauss, closed_form=False) == KERNEL_CODES[GaussianSpectralModel][0]

    class MyPowerLaw(PowerLawSpectralModel):
        tag = ("MyPowerLawForKernelTest",)

    # a subclass may redefine evaluate: never a kernel
    assert kernel_code(MyPowerLaw(), closed_form=False) is None


# ----------------------------------------------------------------- dataset kernel
@needs_numba
@pytest.mark.parametrize("integration", ["exact", "simpson"])
@pytest.mark.parametrize("model", _models(), ids=lambda m: type(m).__name__)
def test_cash_kernel_equals_numpy(model, integration):
    dataset = _cash_dataset(integration)
    dataset.models = Models([SkyModel(model, name="src")])
    cache = dataset._prepare()
    assert cache.kernel is not None
    np.testing.assert_allclose(dataset.stat_sum(), _numpy_stat(dataset), rtol=RTOL)
    overrides = _batch(model.parameters)
    np.testing.assert_allclose(
        dataset.stat_sum_batch(overrides), _numpy_stat(dataset, overrides), rtol=RTOL
    )


@needs_numba
@pytest.mark.parametrize("integration", ["exact", "simpson"])
def test_wstat_kernel_with_mixed_models(integration):
    """Kernel components plus numpy-only ones (a product, a Gaussian in exact mode)."""
    dataset = _onoff_dataset(integration)
    absorbed = PowerLawSpectralModel(index=2.5) * PowerLawNormSpectralModel(norm=0.7, tilt=0.1)
    summed = BlackbodySpectralModel(K=1e-11, kT=2 * u.TeV) + LogParabolaSpectralModel(
        alpha=2.0, beta=0.1, reference=1 * u.TeV
    )
    line = GaussianSpectralModel(amplitude=1e-12, mean=4 * u.TeV, sigma=1 * u.TeV)
    dataset.models = Models(
        [
            SkyModel(summed, name="a"),
            SkyModel(absorbed, name="b"),
            SkyModel(line, name="c"),
        ]
    )
    kernel = dataset._prepare().kernel
    assert kernel is not None
    assert len(kernel._numpy_models) == (2 if integration == "exact" else 1)
    np.testing.assert_allclose(dataset.stat_sum(), _numpy_stat(dataset), rtol=RTOL)
    overrides = _batch(dataset.models.parameters)
    np.testing.assert_allclose(
        dataset.stat_sum_batch(overrides), _numpy_stat(dataset, overrides), rtol=RTOL
    )


@needs_numba
def test_kernel_follows_links_units_and_nan():
    one = _cash_dataset("exact", seed=1, name="one")
    two = _cash_dataset("exact", background=False, seed=2, name="two")
    bb1 = BlackbodySpectralModel(K=1e-11, kT=2 * u.TeV)
    bb2 = BlackbodySpectralModel(K=2e-11, kT=2 * u.TeV)
    bb1.kT.link(bb2.kT)
    datasets = Datasets([one, two])
    datasets.models = Models(
        [
            SkyModel(bb1, name="s1", datasets_names=["one"]),
            SkyModel(bb2 + PowerLawSpectralModel(index=2.2), name="s2", datasets_names=["two"]),
        ]
    )
    for dataset in datasets:
        assert dataset._prepare().kernel is not None
    objective = Objective(datasets)
    values = objective.x_to_values(objective.start_x) * 1.05
    got = objective.stat_values(values)  # sets the values, then the kernels
    expected = sum(float(_numpy_stat(d)) for d in datasets)
    np.testing.assert_allclose(got, expected, rtol=RTOL)
    # the link: changing the master's temperature moves both datasets
    bb2.kT.value = 3.0
    np.testing.assert_allclose(one.stat_sum(), _numpy_stat(one), rtol=RTOL)
    # a unit change after the kernel was built is followed
    bb2.kT.unit = "GeV"
    np.testing.assert_allclose(one.stat_sum(), _numpy_stat(one), rtol=RTOL)
    np.testing.assert_allclose(two.stat_sum(), _numpy_stat(two), rtol=RTOL)
    # NaN parameters give NaN, as in numpy
    bb2.K._value = np.nan  # as an optimiser may set it (Objective.set_values)
    assert np.isnan(two.stat_sum()) and np.isnan(_numpy_stat(two))


@needs_numba
def test_kernel_not_used_for_pgstat_or_when_disabled(monkeypatch):
    dataset = _onoff_dataset("exact")
    dataset.models = Models([SkyModel(PowerLawSpectralModel(), name="pl")])
    assert dataset._prepare().kernel is not None
    monkeypatch.setenv("FLUXFIT_NUMBA", "0")
    assert dataset._prepare().kernel is None
    monkeypatch.delenv("FLUXFIT_NUMBA")
    pg = SpectrumDatasetOnOff(
        counts=dataset.counts,
        counts_off=dataset.counts_off,
        counts_off_error=np.sqrt(dataset.counts_off + 1.0),
        exposure=dataset.exposure,
        edisp=dataset.edisp,
        name="pg",
    )
    pg.models = dataset.models
    assert pg.stat_type == "pgstat"
    assert pg._prepare().kernel is None
    assert np.isfinite(pg.stat_sum())


@needs_numba
def test_kernel_rebuilt_when_data_change():
    dataset = _cash_dataset("exact")
    dataset.models = Models([SkyModel(PowerLawSpectralModel(), name="pl")])
    before = dataset.stat_sum()
    mask = np.ones(dataset.n_channels, bool)
    mask[10:20] = False
    dataset.mask_fit = mask
    after = dataset.stat_sum()
    assert after != before
    np.testing.assert_allclose(after, _numpy_stat(dataset), rtol=RTOL)


@needs_numba
def test_large_batches_take_the_numpy_path_with_the_same_numbers():
    """Beyond KERNEL_MAX_BATCH sets numpy evaluates the batch; both paths agree."""
    from fluxfit.datasets.core import KERNEL_MAX_BATCH

    one = _cash_dataset("exact", seed=1, name="one")
    two = _onoff_dataset("simpson")
    datasets = Datasets([one, two])
    datasets.models = Models(
        [SkyModel(LogParabolaSpectralModel(alpha=2.2, beta=0.1, reference=1 * u.TeV), name="lp")]
    )
    objective = Objective(datasets)
    rng = np.random.default_rng(2)
    start = objective.x_to_values(objective.start_x)
    values = start * rng.uniform(0.95, 1.05, size=(3 * KERNEL_MAX_BATCH, start.size))
    large = objective.batch(values)
    small = np.concatenate(
        [objective.batch(chunk) for chunk in np.array_split(values, 6)]  # kernel batches
    )
    singles = np.array([objective.stat_values(row) for row in values])
    np.testing.assert_allclose(large, small, rtol=RTOL)
    np.testing.assert_allclose(singles, small, rtol=RTOL)
