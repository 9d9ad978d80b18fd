"""Batch analyses: one model fitted to many datasets independently, and simulation studies.

Both map independent fits over the `fluxfit.parallel` layer, so they run serially,
on a process pool or on Ray with the same results; the datasets and models are sent
once per worker, and every task gets its own copy of the models.

Examples
--------
>>> from fluxfit.fit.batch import fit_independently, simulate_and_fit
>>> # table = fit_independently(datasets, models, n_jobs=2)
>>> # study = simulate_and_fit(dataset, models, n_simulations=200, ts_source="src")
"""

from __future__ import annotations

import logging

import numpy as np
from astropy.table import Table

from fluxfit.errors import FitError, FluxfitError
from fluxfit.fit.fit import Fit
from fluxfit.parallel import TaskFailure, run_tasks

__all__ = ["fit_independently", "simulate_and_fit"]

log = logging.getLogger(__name__)


def _free_labels(models) -> list[str]:
    return models.parameters.free_parameters.names


def _fit_one(shared, index):
    datasets, models, fit = shared
    dataset = datasets[index]
    local = models.copy()
    # a copy: assigning models must not touch the caller's dataset (serial backend)
    single = type(datasets)([dataset.copy(name=dataset.name)])
    single.models = local
    result = fit.run(single)
    free = local.parameters.free_parameters
    return {
        "name": dataset.name,
        "success": result.success,
        "message": result.message,
        "stat": result.total_stat,
        "values": [p.value for p in free],
        "errors": [p.error for p in free],
    }


def fit_independently(
    datasets, models, fit: Fit | None = None, n_jobs=None, parallel_backend=None, progress=None
) -> Table:
    """Fit ``models`` to each dataset on its own (e.g. thousands of time bins).

    Parameters
    ----------
    datasets : `~fluxfit.datasets.Datasets`
        The datasets; each is fitted alone with a fresh copy of ``models``.
    models : `~fluxfit.models.Models`
        Start models (not modified).
    fit : `Fit`, optional
        The fit settings (default ``Fit()``).
    n_jobs, parallel_backend : optional
        See `fluxfit.parallel.run_tasks`.
    progress : bool, optional
        Progress bar: True/False to force, None (default) automatic (see
        `fluxfit.utils.progress_enabled`).

    Returns
    -------
    `~astropy.table.Table`
        One row per dataset: name, success, message, stat, each free parameter and its
        ``_err``. A dataset whose fit raised is kept, with ``success`` False and the error
        in ``message``.
    """
    from fluxfit.models import Models

    models = models if isinstance(models, Models) else Models(models)
    labels = _free_labels(models)
    if not labels:
        raise FitError("fit_independently: the models have no free parameters")
    fit = fit or Fit()
    results = run_tasks(
        _fit_one,
        range(len(datasets)),
        shared=(datasets, models, fit),
        n_jobs=n_jobs,
        backend=parallel_backend,
        labels=[f"dataset {d.name!r}" for d in datasets],
        on_error="return",
        progress=progress,
        desc="fits",
    )
    rows = []
    for dataset, result in zip(datasets, results):
        if isinstance(result, TaskFailure):
            result = {
                "name": dataset.name,
                "success": False,
                "message": str(result),
                "stat": np.nan,
                "values": [np.nan] * len(labels),
                "errors": [np.nan] * len(labels),
            }
        rows.append(result)
    return _table(rows, labels)


def _table(rows, labels) -> Table:
    table = Table()
    for key in ("name", "success", "message", "stat"):
        table[key] = [row[key] for row in rows]
    for i, label in enumerate(labels):
        table[label] = [row["values"][i] for row in rows]
        table[f"{label}_err"] = [row["errors"][i] for row in rows]
    return table


def _simulate_one(shared, seed):
    dataset, truth, fit, ts_source = shared
    from fluxfit.datasets import Datasets

    rng = np.random.default_rng(seed)
    simulated = dataset.copy(name=dataset.name)
    simulated.models = truth.copy()
    simulated.fake(random_state=rng)
    fitted = truth.copy()
    datasets = Datasets([simulated])
    datasets.models = fitted
    result = fit.run(datasets)
    free = fitted.parameters.free_parameters
    row = {
        "seed": int(seed),
        "success": result.success,
        "stat": result.total_stat,
        "values": [p.value for p in free],
        "errors": [p.error for p in free],
        "ts": np.nan,
    }
    if ts_source is not None:
        null = fitted.copy()
        null.remove(ts_source)
        datasets.models = null
        if len(null.parameters.free_parameters):
            stat_null = fit.run(datasets).total_stat
        else:
            stat_null = datasets.stat_sum()
        row["ts"] = stat_null - result.total_stat
    return row


def simulate_and_fit(
    dataset,
    models,
    n_simulations: int,
    ts_source: str | None = None,
    fit: Fit | None = None,
    random_state=0,
    n_jobs=None,
    parallel_backend=None,
    progress=None,
) -> Table:
    """Simulate ``dataset`` from ``models`` ``n_simulations`` times and fit each realisation.

    The usual calibration study: the distribution of the fitted parameters (pull
    distributions) and, with ``ts_source``, of the test statistic of that source
    (stat without it minus stat with it, the other models refitted).

    Parameters
    ----------
    dataset : a dataset with ``fake(random_state=...)`` and ``copy(name=...)``
        The template (its counts are replaced in each copy; it is not modified).
    models : `~fluxfit.models.Models`
        The truth, also the start of every fit.
    n_simulations : int
        Number of realisations.
    ts_source : str, optional
        Name of the model whose TS to compute.
    random_state : int
        Seed of the study; realisation ``i`` uses a seed derived from it, so results do
        not depend on the backend or the number of workers.

    Returns
    -------
    `~astropy.table.Table`
        One row per realisation: seed, success, stat, ts, each free parameter and its ``_err``.
    """
    from fluxfit.models import Models

    models = models if isinstance(models, Models) else Models(models)
    if ts_source is not None and ts_source not in models.names:
        raise FluxfitError(
            f"simulate_and_fit: no model named {ts_source!r}; models are {models.names}"
        )
    labels = _free_labels(models)
    seeds = np.random.SeedSequence(random_state).generate_state(n_simulations)
    fit = fit or Fit()
    results = run_tasks(
        _simulate_one,
        [int(s) for s in seeds],
        shared=(dataset, models, fit, ts_source),
        n_jobs=n_jobs,
        backend=parallel_backend,
        labels=[f"simulation {i}" for i in range(n_simulations)],
        on_error="return",
        progress=progress,
        desc="simulations",
    )
    rows = []
    for seed, result in zip(seeds, results):
        if isinstance(result, TaskFailure):
            log.warning("%s", result)
            result = {
                "seed": int(seed),
                "success": False,
                "stat": np.nan,
                "ts": np.nan,
                "values": [np.nan] * len(labels),
                "errors": [np.nan] * len(labels),
            }
        rows.append(result)
    table = Table()
    for key in ("seed", "success", "stat", "ts"):
        table[key] = [row[key] for row in rows]
    for i, label in enumerate(labels):
        table[label] = [row["values"][i] for row in rows]
        table[f"{label}_err"] = [row["errors"][i] for row in rows]
    return table
