"""Batch fits and simulation studies: independent of the backend, failures kept."""

import astropy.units as u
import numpy as np
import pytest

from fluxfit.datasets import Datasets, SpectrumDataset
from fluxfit.fit.batch import fit_independently, simulate_and_fit
from fluxfit.irf import EnergyDispersionMatrix
from fluxfit.models import Models, PowerLawSpectralModel, SkyModel


def make_dataset(name, seed, amplitude=2e-11):
    edges = np.geomspace(0.5, 50, 21) * u.TeV
    edisp = EnergyDispersionMatrix(edges, edges, np.eye(20))
    dataset = SpectrumDataset(
        exposure=np.full(20, 3e13), edisp=edisp, background=np.full(20, 5.0), name=name
    )
    dataset.models = Models(
        [
            SkyModel(
                PowerLawSpectralModel(index=2.3, amplitude=amplitude * u.Unit("cm-2 s-1 TeV-1")),
                name="src",
            )
        ]
    )
    dataset.fake(random_state=seed)
    dataset.models = None
    return dataset


def start_models():
    return Models(
        [SkyModel(PowerLawSpectralModel(index=2.0, amplitude="1e-11 cm-2 s-1 TeV-1"), name="src")]
    )


@pytest.mark.parametrize("backend", ["serial", "multiprocessing"])
def test_fit_independently(backend):
    datasets = Datasets([make_dataset(f"bin{i}", i, amplitude=(1 + i) * 1e-11) for i in range(4)])
    table = fit_independently(datasets, start_models(), n_jobs=2, parallel_backend=backend)
    assert list(table["name"]) == ["bin0", "bin1", "bin2", "bin3"]
    assert all(table["success"])
    amplitude = table["src.spectral.amplitude"]
    assert np.all(np.diff(amplitude) > 0)  # the injected trend is recovered
    # the caller's datasets got no models
    assert all(len(d.models) == 0 for d in datasets)
    serial = fit_independently(datasets, start_models())
    assert np.allclose(table["src.spectral.index"], serial["src.spectral.index"], rtol=1e-10)


def test_simulation_study_pulls_and_ts():
    truth = Models(
        [SkyModel(PowerLawSpectralModel(index=2.3, amplitude="2e-11 cm-2 s-1 TeV-1"), name="src")]
    )
    template = make_dataset("sim", 0)
    study = simulate_and_fit(template, truth, n_simulations=30, ts_source="src", random_state=1)
    assert len(study) == 30 and all(study["success"])
    pulls = (study["src.spectral.index"] - 2.3) / study["src.spectral.index_err"]
    assert abs(np.mean(pulls)) < 0.6 and 0.6 < np.std(pulls) < 1.5
    assert np.all(study["ts"] > 25)
    again = simulate_and_fit(
        template,
        truth,
        n_simulations=4,
        random_state=1,
        n_jobs=2,
        parallel_backend="multiprocessing",
    )
    assert np.allclose(again["src.spectral.index"], study["src.spectral.index"][:4], rtol=1e-10)
