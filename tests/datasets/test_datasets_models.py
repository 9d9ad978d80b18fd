"""`Datasets.models` keeps the models holding the masters of linked parameters."""

import astropy.units as u
import numpy as np

from fluxfit.datasets import Datasets, SpectrumDataset
from fluxfit.fit import Objective
from fluxfit.irf import EnergyDispersionMatrix
from fluxfit.models import Models, PowerLawSpectralModel, SkyModel


def _dataset(name):
    edges = np.geomspace(1, 100, 11) * u.TeV
    edisp = EnergyDispersionMatrix(edges, edges, np.eye(10))
    return SpectrumDataset(
        counts=np.full(10, 5.0), exposure=np.full(10, 1e12), edisp=edisp, name=name
    )


def test_link_master_model_of_another_dataset_is_kept(tmp_path):
    here = PowerLawSpectralModel(index=2.0)
    elsewhere = PowerLawSpectralModel(index=2.5)
    here.index.link(elsewhere.index)
    datasets = Datasets([_dataset("a")])
    datasets.models = Models(
        [
            SkyModel(here, name="here", datasets_names=["a"]),
            SkyModel(elsewhere, name="elsewhere", datasets_names=["not-here"]),
        ]
    )
    assert datasets.models.names == ["here", "elsewhere"]
    assert datasets[0].models.names == ["here"]
    # the master is a free parameter of the joint likelihood, and it moves the linked index
    objective = Objective(datasets)
    assert "elsewhere.spectral.index" in objective.names
    # and the collection writes and reads back (the link's master is in the file)
    written = datasets.write(tmp_path / "out", prefix="crab", overwrite=True)
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert "crab_datasets.yaml" in names and "crab_models.yaml" in names, (written, names)
    out = tmp_path / "out"
    read = Datasets.read(out / "crab_datasets.yaml", out / "crab_models.yaml")
    assert read.models.names == ["here", "elsewhere"]
