"""Dataset base class and the `Datasets` collection (the joint likelihood).

A dataset turns models into predicted counts and a statistic turns counts and
predictions into a number; `Datasets` sums the statistics of its members. Every
dataset implements

- ``stat_sum()``: its fit statistic (-2 ln L up to a data-only constant) at
  the current parameter values;
- ``stat_sum_batch(overrides)``: the same for k parameter sets at once, where
  ``overrides`` maps `~fluxfit.models.Parameter` objects to arrays of shape
  (k, 1) (see `fluxfit.models.ModelBase.batch_overrides`).

Models are assigned with ``datasets.models = models``: each dataset keeps the
models whose ``datasets_names`` include it (all, when unset).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import astropy.units as u
import numpy as np

from fluxfit.errors import DatasetError, FluxfitError
from fluxfit.models import Models

__all__ = ["Dataset", "Datasets"]


class Dataset(ABC):
    """Base class of datasets; subclasses implement the statistic."""

    tag = "Dataset"
    stat_type = ""

    def __init__(self, name: str):
        if not isinstance(name, str) or not name:
            raise DatasetError(
                f"{type(self).__name__}: name must be a non-empty string, got {name!r}"
            )
        self._name = name
        self._models = Models()

    @property
    def name(self) -> str:
        return self._name

    @property
    def models(self) -> Models:
        """The models this dataset sees (those naming it, or naming no dataset)."""
        return self._models

    @models.setter
    def models(self, models):
        if models is None:
            models = Models()
        elif not isinstance(models, Models):
            models = Models(models)
        self._models = models.for_dataset(self.name)
        self._on_models_changed()

    def _on_models_changed(self) -> None:  # noqa: B027 - optional hook, empty by default
        """Hook for subclasses caching per-model quantities."""

    @abstractmethod
    def stat_sum(self) -> float:
        """Fit statistic at the current parameter values."""

    @abstractmethod
    def stat_sum_batch(self, overrides) -> np.ndarray:
        """Fit statistic for k parameter sets (``overrides``: Parameter -> (k, 1) arrays)."""

    def _compiled_kernel(self):
        """The compiled statistic of this dataset (`fluxfit.datasets.kernels`), or None.

        `Datasets` evaluates the datasets that have one together, in one compiled call.
        """
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    def _repr_html_(self) -> str:
        """The text summary (`str`) in a ``<pre>`` block (subclasses show a table)."""
        import html

        return f"<pre>{html.escape(str(self))}</pre>"


#: Largest batch the compiled kernels evaluate: beyond it numpy's vectorised (SIMD) exp and log
#: over the whole batch are faster per parameter set than the kernels' scalar ones.
KERNEL_MAX_BATCH = 32


def batch_size(overrides) -> int:
    """Number of parameter sets in batch ``overrides`` (arrays of shape (k, 1) or scalars)."""
    return max((np.shape(v)[0] for v in overrides.values() if np.ndim(v)), default=1)


class Datasets:
    """An ordered collection of uniquely named datasets, fitted jointly.

    Parameters
    ----------
    datasets : iterable of `Dataset` or a single one

    Examples
    --------
    >>> from fluxfit.datasets import Datasets
    >>> datasets = Datasets([])
    >>> len(datasets)
    0
    """

    def __init__(self, datasets=()):
        if isinstance(datasets, Dataset):
            datasets = [datasets]
        self._datasets: list[Dataset] = []
        self._compiled = None
        for dataset in datasets:
            self.append(dataset)

    def append(self, dataset: Dataset) -> None:
        if not isinstance(dataset, Dataset):
            raise DatasetError(f"Datasets holds Dataset objects, got {type(dataset).__name__}")
        if dataset.name in self.names:
            raise DatasetError(f"Datasets: a dataset named {dataset.name!r} is already present")
        self._datasets.append(dataset)
        self._compiled = None

    def __len__(self) -> int:
        return len(self._datasets)

    def __iter__(self):
        return iter(self._datasets)

    @property
    def names(self) -> list[str]:
        return [d.name for d in self._datasets]

    def __getitem__(self, key):
        if isinstance(key, str):
            if key not in self.names:
                raise DatasetError(f"Datasets: no dataset named {key!r}; names are {self.names}")
            return self._datasets[self.names.index(key)]
        if isinstance(key, slice):
            return Datasets(self._datasets[key])
        if isinstance(key, list | tuple):
            return Datasets([self[k] for k in key])
        return self._datasets[key]

    def __add__(self, other) -> Datasets:
        return Datasets(list(self) + list(other))

    # ------------------------------------------------------------------ models
    @property
    def models(self) -> Models:
        """All models of all datasets (each once), and the models holding the masters of
        their linked parameters (a master must be fitted and written with the parameters
        that follow it, even when its own model applies to no dataset here)."""
        seen, out = set(), []
        for dataset in self._datasets:
            for model in dataset.models:
                if id(model) not in seen:
                    seen.add(id(model))
                    out.append(model)
        assigned = getattr(self, "_assigned_models", None)
        if assigned is not None:
            owner = {id(par): model for model in assigned for par in model.parameters}
            queue = list(out)
            while queue:
                for par in queue.pop().parameters:
                    link = getattr(par, "_link", None)
                    master = owner.get(id(link.master)) if link is not None else None
                    if master is not None and id(master) not in seen:
                        seen.add(id(master))
                        out.append(master)
                        queue.append(master)
        return Models(out)

    @models.setter
    def models(self, models):
        if not isinstance(models, Models):
            models = Models(models)
        for dataset in self._datasets:
            dataset.models = models
        self._assigned_models = models
        covered = {name for m in models if m.datasets_names for name in m.datasets_names}
        unknown = covered - set(self.names)
        if unknown:
            import logging

            logging.getLogger(__name__).warning(
                "models name datasets that are not here: %s", sorted(unknown)
            )

    @property
    def parameters(self):
        return self.models.parameters

    # -------------------------------------------------------------- statistic
    def _compiled_plan(self):
        """(joint kernel or None, datasets evaluated one by one), rebuilt when a dataset's
        fit cache was replaced (new data, masks or models) since it was made."""
        plan = getattr(self, "_compiled", None)
        if plan is not None:
            for dataset, cache in plan[2]:
                if getattr(dataset, "_cache", None) is not cache:
                    plan = None
                    break
        if plan is None:
            kernels, others = [], []
            for dataset in self._datasets:
                kernel = dataset._compiled_kernel()
                (others if kernel is None else kernels).append(kernel or dataset)
            joint = None
            if kernels:
                from fluxfit.datasets.kernels import JointSpectrumKernel

                joint = JointSpectrumKernel(kernels)
            tokens = [(d, getattr(d, "_cache", None)) for d in self._datasets]
            plan = self._compiled = (joint, others, tokens)
        return plan

    def stat_sum(self) -> float:
        """Total fit statistic of all datasets.

        Datasets with a compiled statistic (1D spectra, where numba is installed) are
        evaluated together in one call; the others one by one.
        """
        joint, others, _ = self._compiled_plan()
        total = 0.0 if joint is None else float(joint.single())
        for dataset in others:
            total += dataset.stat_sum()
        return total

    def stat_sum_batch(self, overrides) -> np.ndarray:
        """Total statistic for a batch of parameter sets (shape (k,))."""
        joint, others, _ = self._compiled_plan()
        if joint is not None and batch_size(overrides) > KERNEL_MAX_BATCH:
            joint, others = None, self._datasets
        total = 0.0 if joint is None else joint(overrides)
        for dataset in others:
            total = total + dataset.stat_sum_batch(overrides)
        return np.asarray(total, dtype=float)

    # ----------------------------------------------------------------- files
    @classmethod
    def read(cls, filename, filename_models=None) -> Datasets:
        """Read a datasets YAML (Gammapy layout) and, optionally, its models YAML."""
        from fluxfit.datasets.io import read_datasets

        return read_datasets(filename, filename_models)

    def write(self, path, prefix: str = "", overwrite: bool = False, write_covariance: bool = True):
        """Write the datasets YAML, the models YAML (+ covariance) and one file per dataset."""
        from fluxfit.datasets.io import write_datasets

        return write_datasets(
            self, path, prefix=prefix, overwrite=overwrite, write_covariance=write_covariance
        )

    def select_time(self, time_min, time_max, atol=1e-6 * u.s) -> Datasets:
        """The datasets whose good time intervals lie inside ``[time_min, time_max]``."""
        from fluxfit.datasets.time import select_datasets_time

        return select_datasets_time(self, time_min, time_max, atol)

    def stack_reduce(self, name: str | None = None):
        """All datasets stacked into one (see each dataset type's ``stack``).

        Models are not carried over: assign them to the stacked dataset.
        """
        if len(self) == 0:
            raise DatasetError("stack_reduce: no datasets to stack")
        stacked = self._datasets[0]
        for dataset in self._datasets[1:]:
            stacked = stacked.stack(dataset)
        if len(self) == 1:
            stacked = stacked.copy(name=name)
            stacked.models = None
            return stacked
        if name is not None:
            stacked._name = name
        return stacked

    def stat_sums(self) -> dict:
        """Statistic per dataset name."""
        return {d.name: d.stat_sum() for d in self._datasets}

    def __repr__(self) -> str:
        return f"Datasets({self.names})"

    def summary_table(self):
        """One row per dataset: name, type, fit statistic at the current parameters, models.

        Returns
        -------
        `~astropy.table.Table`
            Columns ``name``, ``type``, ``stat_sum`` (NaN where the statistic cannot be
            evaluated, e.g. a dataset without models) and ``models`` (comma-separated names).
        """
        from astropy.table import Table

        rows = []
        for dataset in self._datasets:
            try:
                stat = float(dataset.stat_sum())
            except (FluxfitError, ValueError, TypeError):  # no models or no data yet
                stat = np.nan
            models = getattr(dataset, "models", None)
            names = ", ".join(models.names) if models is not None else ""
            rows.append((dataset.name, type(dataset).__name__, stat, names))
        table = Table(
            rows=rows or None,
            names=("name", "type", "stat_sum", "models"),
            dtype=(str, str, float, str),
        )
        table["stat_sum"].format = ".6g"
        return table

    def __str__(self) -> str:
        table = self.summary_table()
        lines = [f"Datasets ({len(self)})", ""]
        return "\n".join(lines + table.pformat(max_lines=-1, max_width=-1))

    def _repr_html_(self) -> str:
        return f"<b>Datasets</b> ({len(self)})" + self.summary_table()._repr_html_()
