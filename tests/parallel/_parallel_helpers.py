"""Task functions and small synthetic datasets for the execution-layer tests.

Module-level so that every backend can pickle them (``spawn`` and Ray import this module).
"""

from __future__ import annotations

import itertools
import os
import signal

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.time import Time

from fluxfit.parallel import run_tasks

T0 = Time("2020-01-01T00:00:00", scale="tt")
RUN = 1800.0  # s
STEP = 2400.0  # s from run start to run start


# ------------------------------------------------------------------ task functions
def kill_on(shared, task):
    """Task ``shared`` kills its own worker with SIGKILL; the others return 10 * task."""
    if task == shared:
        os.kill(os.getpid(), signal.SIGKILL)
    return 10 * task


def exit_on(shared, task):
    """Task ``shared`` leaves at once with exit code 3 (like a crash in compiled code)."""
    if task == shared:
        os._exit(3)
    return 10 * task


def double(shared, task):
    return 2 * task


def power(shared, task):
    return np.sum(shared["data"] ** task)


def payload_first(shared, task):
    index, payload = task
    return index, float(payload[0])


def nested(shared, task):
    """A parallel call inside a task: runs serially in the worker."""
    return run_tasks(double, range(task + 1), n_jobs=2, backend="multiprocessing")


def pid_of(shared, task):
    return os.getpid()


def unpicklable_result(shared, task):
    if task == 2:
        return lambda: None
    return task


def _raise_on_load():
    raise RuntimeError("cannot rebuild the shared data")


class BreaksOnLoad:
    """Pickles, but raises when unpickled (a worker cannot read the shared data)."""

    def __reduce__(self):
        return (_raise_on_load, ())


# ------------------------------------------------------------------------ datasets
def ogip_header(reference=T0):
    header = fits.Header()
    header["MJDREFI"] = int(reference.mjd)
    header["MJDREFF"] = reference.mjd - int(reference.mjd)
    header["TIMESYS"] = reference.scale.upper()
    header["TIMEUNIT"] = "s"
    return header


def source_model(amplitude=1e-11, index=2.5, name="src"):
    from fluxfit.models import PowerLawSpectralModel, SkyModel

    spectral = PowerLawSpectralModel(index=index, amplitude=f"{amplitude} cm-2 s-1 TeV-1")
    return SkyModel(spectral, name=name)


def other_model(amplitude=2e-12):
    """A second, fainter source with a free amplitude: refitted by ``reoptimize``."""
    model = source_model(amplitude=amplitude, index=1.8, name="other")
    model.spectral_model.index.frozen = True
    model.spectral_model.amplitude.min = 0.0
    return model


def light_curve_datasets(n_runs, seed=1, nbin=16, two_sources=True):
    """ON/OFF spectra of ``n_runs`` 30-minute runs, 10 min apart, a varying source."""
    from fluxfit.datasets import Datasets, GoodTimeIntervals, SpectrumDatasetOnOff
    from fluxfit.irf import EnergyDispersionMatrix
    from fluxfit.models import Models

    rng = np.random.default_rng(seed)
    edges = np.geomspace(0.5, 50, nbin + 1) * u.TeV
    edisp = EnergyDispersionMatrix(edges, edges, np.eye(nbin))
    factors = 1 + 0.5 * np.sin(np.arange(n_runs))
    out = []
    for i, factor in enumerate(factors):
        start = i * STEP
        dataset = SpectrumDatasetOnOff(
            counts=np.zeros(nbin),
            counts_off=np.zeros(nbin),
            acceptance=1,
            acceptance_off=5,
            exposure=np.full(nbin, 2e13),
            edisp=edisp,
            name=f"run{i:03d}",
            livetime=RUN,
            gti=GoodTimeIntervals([start], [start + RUN], ogip_header()),
        )
        truth = [source_model(1e-11 * factor)]
        if two_sources:
            truth.append(other_model())
        dataset.models = Models(truth)
        dataset.fake(npred_background=np.full(nbin, 2.0), random_state=rng)
        out.append(dataset)
    datasets = Datasets(out)
    models = [source_model()]
    if two_sources:
        models.append(other_model())
    datasets.models = Models(models)
    return datasets


def time_intervals(n_runs):
    times = T0 + np.arange(n_runs + 1) * STEP * u.s - 60 * u.s
    return [Time([a, b]) for a, b in itertools.pairwise(times)]


def map_dataset(seed=3, npix=24, name="toy-map"):
    """A small Galactic map (3 energy bins) with a point source on a flat background."""
    from astropy.coordinates import SkyCoord

    from fluxfit.datasets.map import MapDataset
    from fluxfit.maps import Map, MapAxis, WcsGeom
    from fluxfit.models import Models, PointSpatialModel, PowerLawSpectralModel, SkyModel

    energy = MapAxis.from_energy_bounds("10 GeV", "1 TeV", nbin=3)
    geom = WcsGeom.create(
        npix=npix, binsz=0.1, frame="galactic", skydir=SkyCoord(0, 0, unit="deg", frame="galactic")
    ).to_cube([energy])
    true_geom = geom.to_image().to_cube([energy.copy(name="energy_true")])
    exposure = Map.from_geom(true_geom, unit="cm2 s", data=np.full(true_geom.data_shape, 3e11))
    background = Map.from_geom(geom, data=np.full(geom.data_shape, 0.5))
    dataset = MapDataset(
        counts=Map.from_geom(geom, data=np.zeros(geom.data_shape)),
        exposure=exposure,
        background=background,
        name=name,
    )
    source = SkyModel(
        PowerLawSpectralModel(index=2.3, amplitude="1e-9 cm-2 s-1 TeV-1", reference="0.1 TeV"),
        PointSpatialModel(lon_0="0.3 deg", lat_0="0 deg", frame="galactic"),
        name="src",
    )
    dataset.models = Models([source])
    dataset.fake(random_state=seed)
    dataset.models = None
    return dataset
