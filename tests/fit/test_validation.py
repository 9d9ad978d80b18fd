"""Validation with clear messages: what cannot be fitted, or ends badly, says so by name.

* a fit with no free parameter: `FitError` naming the datasets;
* no channel in the fit range of any dataset: `FitError` (nothing to fit); one dataset
  without channels: a warning naming it (it contributes nothing); a dataset with channels
  but no counts: accepted silently (a non-detection constrains the flux from above);
* a free parameter ending on a bound: a `ConvergenceWarning` naming the parameter, its
  model and the bound, and the same text in the fit result's message;
* datasets whose arrays or axes disagree: `DatasetError` at construction.
"""

from __future__ import annotations

import warnings

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from fluxfit.datasets import Datasets, SpectrumDataset
from fluxfit.datasets.map import MapDataset
from fluxfit.errors import ConvergenceWarning, DatasetError, FitError
from fluxfit.fit import Fit
from fluxfit.irf import EnergyDispersionMatrix
from fluxfit.maps import Map, MapAxis, WcsGeom
from fluxfit.models import Models, PowerLawSpectralModel, SkyModel

EDGES = np.geomspace(0.5, 50, 21) * u.TeV


def source(index=2.5, amplitude=1e-11):
    return SkyModel(
        PowerLawSpectralModel(index=index, amplitude=f"{amplitude} cm-2 s-1 TeV-1"), name="src"
    )


def spectrum(name="a", seed=1, counts=None):
    edisp = EnergyDispersionMatrix(EDGES, EDGES, np.eye(20))
    truth = SpectrumDataset(
        counts=np.zeros(20),
        exposure=np.full(20, 2e13),
        edisp=edisp,
        background=np.full(20, 2.0),
        name=name,
    )
    truth.models = Models([source()])
    if counts is None:
        counts = np.random.default_rng(seed).poisson(truth.npred()).astype(float)
    return SpectrumDataset(
        counts=counts,
        exposure=np.full(20, 2e13),
        edisp=edisp,
        background=np.full(20, 2.0),
        name=name,
    )


def fitted(*datasets, model=None):
    out = Datasets(list(datasets))
    out.models = Models([model or source()])
    return out


# ---------------------------------------------------------------- nothing to fit
def test_no_free_parameter_names_the_datasets():
    datasets = fitted(spectrum("crab-run-1"))
    datasets.models["src"].freeze()
    with pytest.raises(FitError, match=r"no free parameters .*\['crab-run-1'\]"):
        Fit().run(datasets)


def test_no_channel_in_any_fit_range_is_an_error():
    dataset = spectrum("empty-range")
    dataset.mask_fit = np.zeros(20, dtype=bool)
    with pytest.raises(
        FitError, match=r"no channel in the fit range of any dataset \['empty-range'\]"
    ):
        Fit().run(fitted(dataset))


def test_one_dataset_without_channels_warns_and_the_fit_runs():
    empty = spectrum("empty-range", seed=2)
    empty.mask_safe = np.zeros(20, dtype=bool)
    alone = Fit().run(fitted(spectrum("good")))
    with pytest.warns(UserWarning, match=r"\['empty-range'\] have no channel in their fit range"):
        joint = Fit().run(fitted(spectrum("good"), empty))
    assert joint.success
    assert joint.total_stat == pytest.approx(alone.total_stat, rel=1e-9)


def test_dataset_without_counts_is_a_valid_non_detection():
    """Zero counts in the fit range: no warning about it, the fit is driven down by it."""
    silent = spectrum("no-counts", counts=np.zeros(20))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        joint = Fit().run(fitted(spectrum("good"), silent))
    assert not [w for w in caught if "no-counts" in str(w.message)]
    alone = Fit().run(fitted(spectrum("good")))
    assert joint.success
    assert joint.parameters["amplitude"].value < alone.parameters["amplitude"].value


# ---------------------------------------------------------------- parameter at a bound
def test_parameter_at_bound_warns_and_is_in_the_message():
    model = source(index=3.5)
    model.spectral_model.index.min = 3.0  # the data say 2.5: the fit ends on the bound
    with pytest.warns(ConvergenceWarning, match=r"'index' of model 'src' is at its bound min=3"):
        result = Fit().run(fitted(spectrum(), model=model))
    assert result.success
    assert "parameter 'index' of model 'src' is at its bound min=3" in result.message
    assert result.parameters["index"].value == pytest.approx(3.0)


def test_parameter_inside_its_bounds_gives_no_note():
    model = source()
    model.spectral_model.index.min, model.spectral_model.index.max = 1.0, 4.0
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        result = Fit().run(fitted(spectrum(), model=model))
    assert "bound" not in result.message


# ---------------------------------------------------------------- construction
def test_spectrum_arrays_must_agree():
    edisp = EnergyDispersionMatrix(EDGES, EDGES, np.eye(20))
    with pytest.raises(DatasetError, match=r"SpectrumDataset 'x': background has shape \(19,\)"):
        SpectrumDataset(
            counts=np.zeros(20),
            exposure=np.ones(20),
            edisp=edisp,
            background=np.ones(19),
            name="x",
        )
    with pytest.raises(DatasetError, match=r"'x': counts\[2\] = -1.0 is negative"):
        SpectrumDataset(counts=[0, 0, -1.0] + [0] * 17, exposure=np.ones(20), edisp=edisp, name="x")


def _geom(lo="10 GeV", hi="1 TeV", npix=8):
    energy = MapAxis.from_energy_bounds(lo, hi, nbin=3)
    center = SkyCoord(0, 0, unit="deg", frame="galactic")
    return WcsGeom.create(npix=npix, binsz=0.1, frame="galactic", skydir=center).to_cube([energy])


def test_map_dataset_axes_must_agree():
    counts = Map.from_geom(_geom(), data=np.zeros(_geom().data_shape))
    other_energy = Map.from_geom(_geom("20 GeV", "2 TeV"), data=np.ones(_geom().data_shape))
    with pytest.raises(DatasetError, match=r"'m': the energy axis of background .* differs"):
        MapDataset(counts=counts, background=other_energy, name="m")
    other_shape = Map.from_geom(_geom(npix=9), data=np.ones(_geom(npix=9).data_shape))
    with pytest.raises(DatasetError, match="'m': background has shape"):
        MapDataset(counts=counts, background=other_shape, name="m")
    same = Map.from_geom(_geom(), data=np.ones(_geom().data_shape))
    MapDataset(counts=counts, background=same, name="m")


def test_duplicate_dataset_names_are_refused():
    with pytest.raises(DatasetError, match="a dataset named 'a' is already present"):
        Datasets([spectrum("a"), spectrum("a", seed=2)])
