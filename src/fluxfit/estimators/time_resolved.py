"""Time-resolved spectroscopy: the full spectral model fitted in each time interval.

`TimeResolvedSpectroscopyEstimator` is Gammapy's "time resolved spectroscopy" tutorial as an
estimator. Where `LightCurveEstimator` fits only a norm per time bin with the spectral shape
frozen, here every free parameter of the model is fitted in each interval (e.g. the index
and amplitude of a power law), to follow spectral changes during flares.

For each time interval:

1. the datasets whose GTIs lie inside it are selected (Gammapy's ``Datasets.select_time``:
   first GTI start >= interval start and last GTI stop <= interval stop, 1 us tolerance);
2. intervals without data (no dataset, or no fitted bin with live time) are skipped and
   logged;
3. a copy of the model (named ``<model>_bin_<k>``) is fitted to them with `~fluxfit.fit.Fit`;
4. a table row: ``tstart``, ``tstop``, ``n_datasets``, ``success``, ``message``, ``nfev``,
   each free parameter and its error (``<name>``, ``<name>_err``, with units), ``stat``
   (the total statistic at the best fit), ``npred`` and ``counts`` summed over the fitted
   bins, ``flux`` and ``flux_err`` (integral photon flux over ``energy_range`` with its
   error propagated from the covariance).

The intervals are independent tasks mapped with `fluxfit.parallel.run_tasks` (serial by
default; ``n_jobs``/``parallel_backend`` choose a process pool or Ray). The datasets' own
models are restored after each fit.

`TimeResolvedSpectroscopyResult` holds the table, the fit results and the fitted models, and
draws the parameters against time (`~TimeResolvedSpectroscopyResult.plot_parameters`) and the
hysteresis plot, one parameter against another coloured by time
(`~TimeResolvedSpectroscopyResult.plot_hysteresis`).

Examples
--------
>>> import astropy.units as u
>>> import numpy as np
>>> from astropy.time import Time
>>> from fluxfit.estimators.time_resolved import TimeResolvedSpectroscopyEstimator
>>> from fluxfit.models import PowerLawSpectralModel, SkyModel
>>> times = Time("2006-07-29T20:30") + np.arange(3) * 15 * u.min
>>> intervals = [Time([a, b]) for a, b in zip(times[:-1], times[1:])]
>>> model = SkyModel(PowerLawSpectralModel(index=3, amplitude="2e-11 cm-2 s-1 TeV-1"),
...                  name="pks2155")
>>> estimator = TimeResolvedSpectroscopyEstimator(intervals, model,
...                                               energy_range=[1, 10] * u.TeV)
>>> len(estimator.time_intervals)
2
>>> # result = estimator.run(datasets); result.table; result.plot_hysteresis("hyst.png")
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.table import Table
from astropy.time import Time

from fluxfit._files import check_output
from fluxfit.datasets import Datasets
from fluxfit.datasets.time import dataset_time_bounds, select_datasets_time
from fluxfit.errors import FitError, FluxfitError
from fluxfit.fit import Fit
from fluxfit.models import Models, SkyModel
from fluxfit.parallel import run_tasks

__all__ = [
    "TimeResolvedSpectroscopyEstimator",
    "TimeResolvedSpectroscopyResult",
    "dataset_time_bounds",
    "select_datasets_time",
]

log = logging.getLogger(__name__)

_ATOL_DEFAULT = 1e-6 * u.s


def _as_intervals(time_intervals) -> list[Time]:
    """A list of ``Time([start, stop])`` from a list of pairs, a (n, 2) Time or a TimeMapAxis."""
    if hasattr(time_intervals, "time_min") and hasattr(time_intervals, "time_max"):
        return [Time([a, b]) for a, b in zip(time_intervals.time_min, time_intervals.time_max)]
    if isinstance(time_intervals, Time):
        if time_intervals.shape == (2,):
            return [time_intervals]
        if time_intervals.ndim == 2 and time_intervals.shape[1] == 2:
            return [time_intervals[i] for i in range(time_intervals.shape[0])]
    intervals = []
    for interval in time_intervals:
        interval = Time(interval)
        if interval.shape != (2,):
            raise FluxfitError(
                f"time intervals must be Time([start, stop]) pairs, got shape {interval.shape}"
            )
        if interval[1] < interval[0]:
            raise FluxfitError(f"time interval {interval.isot} ends before it starts")
        intervals.append(interval)
    return intervals


# ------------------------------------------------------------------------------- the estimator
class TimeResolvedSpectroscopyEstimator:
    """Fit a sky model, all its free parameters, in each time interval.

    Parameters
    ----------
    time_intervals : list of `~astropy.time.Time`, (n, 2) `~astropy.time.Time` or TimeMapAxis
        The intervals ``Time([start, stop])``.
    model : `~fluxfit.models.SkyModel` or `~fluxfit.models.Models`
        Model fitted in every interval (a copy per interval; the one given is not changed).
        Which parameters are free is taken from it.
    energy_range : `~astropy.units.Quantity`, optional
        ``[energy_min, energy_max]`` of the integral flux in the table (default 1-10 TeV).
    fit : `~fluxfit.fit.Fit`, optional
        Fitter (default ``Fit()``: migrad + hesse).
    atol : `~astropy.units.Quantity`
        Tolerance of the time selection (default 1 us).
    n_jobs : int, optional
        Number of workers for the intervals (default from `fluxfit.parallel`).
    parallel_backend : {"serial", "multiprocessing", "ray"}, optional
        Execution backend (default from `fluxfit.parallel`).

    Examples
    --------
    >>> import astropy.units as u
    >>> from astropy.time import Time
    >>> from fluxfit.estimators.time_resolved import TimeResolvedSpectroscopyEstimator
    >>> from fluxfit.models import PowerLawSpectralModel, SkyModel
    >>> model = SkyModel(PowerLawSpectralModel(), name="src")
    >>> est = TimeResolvedSpectroscopyEstimator(
    ...     [Time(["2020-01-01T00:00", "2020-01-01T01:00"])], model)
    >>> est.energy_range
    <Quantity [ 1., 10.] TeV>
    """

    tag = "TimeResolvedSpectroscopyEstimator"

    def __init__(
        self,
        time_intervals,
        model,
        energy_range=None,
        fit=None,
        atol=_ATOL_DEFAULT,
        n_jobs=None,
        parallel_backend=None,
    ):
        self.time_intervals = _as_intervals(time_intervals)
        self.model = model
        if energy_range is None:
            energy_range = [1.0, 10.0] * u.TeV
        energy_range = u.Quantity(energy_range)
        if energy_range.shape != (2,) or not energy_range.unit.is_equivalent(u.TeV):
            raise FluxfitError(
                f"energy_range must be [energy_min, energy_max] in energy units, got {energy_range}"
            )
        if not energy_range[0] < energy_range[1]:
            raise FluxfitError(f"energy_range {energy_range} is empty")
        self.energy_range = energy_range.to(u.TeV)
        self.fit = fit if fit is not None else Fit()
        self.atol = u.Quantity(atol, u.s)
        self.n_jobs = n_jobs
        self.parallel_backend = parallel_backend

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(n_intervals={len(self.time_intervals)}, "
            f"energy_range={self.energy_range}, n_jobs={self.n_jobs}, "
            f"parallel_backend={self.parallel_backend!r})"
        )

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _models(model) -> Models:
        if isinstance(model, Models):
            return model
        if isinstance(model, SkyModel):
            return Models([model])
        if isinstance(model, list | tuple):
            return Models(list(model))
        raise FluxfitError(
            f"TimeResolvedSpectroscopyEstimator: model must be a SkyModel or Models, "
            f"got {type(model).__name__}"
        )

    def _tasks(self, datasets):
        """Per interval: (index, interval, dataset indices) or a reason to skip it."""
        start, stop, reference = dataset_time_bounds(datasets)
        atol = self.atol.to_value(u.s)
        tasks, skipped = [], []
        for index, interval in enumerate(self.time_intervals):
            if reference is not None:
                tmin, tmax = (interval - reference).to_value(u.s)
                members = np.flatnonzero((start >= tmin - atol) & (stop <= tmax + atol))
            else:
                members = np.zeros(0, dtype=int)
            reason = None
            if members.size == 0:
                reason = "no dataset"
            elif not any(_has_data(datasets[int(i)]) for i in members):
                reason = "no fitted bin with live time in its datasets"
            if reason is not None:
                log.info(
                    "No data for the time interval %s to %s (%s). Skipping interval.",
                    interval[0].isot,
                    interval[1].isot,
                    reason,
                )
                skipped.append((index, interval, reason))
                continue
            tasks.append((index, interval, [int(i) for i in members]))
        return tasks, skipped

    # ------------------------------------------------------------------ run
    def run(self, datasets, model=None) -> TimeResolvedSpectroscopyResult:
        """Fit the model in every interval with data.

        Parameters
        ----------
        datasets : `~fluxfit.datasets.Datasets` or list of datasets
            Datasets carrying GTIs (e.g. the time pieces of observations reduced with
            `fluxfit.makers`).
        model : `~fluxfit.models.SkyModel` or `~fluxfit.models.Models`, optional
            Overrides the estimator's model.

        Returns
        -------
        result : `TimeResolvedSpectroscopyResult`
            ``result.table`` has one row per fitted interval.
        """
        if not isinstance(datasets, Datasets):
            datasets = Datasets(list(datasets))
        models = self._models(self.model if model is None else model)
        tasks, skipped = self._tasks(datasets)
        shared = _Shared(datasets, models, self.fit, self.energy_range)
        labels = [f"interval {t[0]}: {t[1][0].isot} - {t[1][1].isot}" for t in tasks]
        outcomes = run_tasks(
            _fit_interval,
            tasks,
            shared=shared,
            n_jobs=self.n_jobs,
            backend=self.parallel_backend,
            labels=labels,
            on_error="return",
            desc="time intervals",
        )
        rows, fit_results, fitted = [], [], []
        for (index, interval, members), outcome in zip(tasks, outcomes):
            if not isinstance(outcome, dict):  # a TaskFailure: keep the row, say why
                outcome = _failed_row(models, str(outcome), len(members))
            rows.append((index, interval, outcome))
            fit_results.append(outcome.pop("fit_result", None))
            fitted.append(outcome.pop("models", None))
        table = _make_table(rows, models, self.energy_range)
        return TimeResolvedSpectroscopyResult(
            table=table,
            fit_results=fit_results,
            models=fitted,
            skipped=[(interval, reason) for _, interval, reason in skipped],
        )


def _has_data(dataset) -> bool:
    mask = getattr(dataset, "mask", None)
    if mask is not None and not np.any(mask):
        return False
    livetime = getattr(dataset, "livetime", None)
    return livetime is None or livetime > 0


class _Shared:
    """What every interval task needs (sent once per worker)."""

    def __init__(self, datasets, models, fit, energy_range):
        self.datasets = datasets
        self.models = models
        self.fit = fit
        self.energy_range = energy_range


def _free_parameter_names(models) -> list[tuple[str, object]]:
    """(column name, parameter) of the free parameters; names prefixed by the model if ambiguous."""
    entries = []
    for model in models:
        for par in model.parameters.free_parameters:
            entries.append((model.name, par))
    names = [par.name for _, par in entries]
    out = []
    for (model_name, par), name in zip(entries, names):
        column = name if names.count(name) == 1 else f"{model_name}.{name}"
        out.append((column, par))
    return out


def _fit_interval(shared: _Shared, task) -> dict:
    """Fit one interval (module-level so that process pools can pickle it)."""
    index, _interval, members = task
    selected = Datasets([shared.datasets[i] for i in members])
    models = Models([m.copy(name=f"{m.name}_bin_{index}") for m in shared.models])
    saved = [d.models for d in selected]
    try:
        selected.models = models
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                result = shared.fit.run(selected)
            except FitError as exc:
                row = _failed_row(models, f"{type(exc).__name__}: {exc}", len(members))
                return row
        fitted = result.models
        values = {}
        for column, par in _free_parameter_names(fitted):
            values[column] = (par.value, par.error, par.unit)
        npred = counts = 0.0
        for dataset in selected:
            mask = dataset.mask
            npred += float(np.sum(dataset.npred()[mask]))
            counts += float(np.sum(dataset.counts[mask]))
        flux, flux_err, flux_note = _integral_flux(fitted, shared.energy_range)
        message = str(result.message)
        if flux_note:
            message = f"{message}; {flux_note}" if message else flux_note
        return {
            "n_datasets": len(members),
            "success": bool(result.success),
            "message": message,
            "nfev": int(result.nfev),
            "parameters": values,
            "stat": float(result.total_stat),
            "npred": npred,
            "counts": counts,
            "flux": flux,
            "flux_err": flux_err,
            "fit_result": result,
            "models": fitted,
        }
    finally:
        for dataset, previous in zip(selected, saved):
            dataset.models = previous


def _integral_flux(models, energy_range) -> tuple[float, float, str]:
    """Summed integral flux (cm-2 s-1) of the models' spectra, its error and a note.

    When the covariance cannot be propagated (e.g. it has NaN or the wrong shape) the error
    is NaN and the note says why (it goes into the interval's message); otherwise "".
    """
    total, variance, notes = 0.0, 0.0, []
    parameters = models.parameters
    covariance = models.covariance
    for model in models:
        spectral = getattr(model, "spectral_model", None)
        if spectral is None:
            continue
        try:
            flux, error = spectral.integral_error(
                energy_range[0], energy_range[1], parameters=parameters, covariance=covariance
            )
        except (FluxfitError, ValueError, IndexError, np.linalg.LinAlgError) as exc:
            flux = spectral.integral(energy_range[0], energy_range[1])
            error = np.nan * flux
            notes.append(
                f"flux error of {model.name!r} not propagated ({type(exc).__name__}: {exc})"
            )
        total += float(np.ravel(flux.to_value("cm-2 s-1"))[0])
        variance += float(np.ravel(error.to_value("cm-2 s-1"))[0]) ** 2
    return total, float(np.sqrt(variance)), "; ".join(notes)


def _failed_row(models, message: str, n_datasets: int) -> dict:
    values = {column: (np.nan, np.nan, par.unit) for column, par in _free_parameter_names(models)}
    return {
        "n_datasets": n_datasets,
        "success": False,
        "message": message,
        "nfev": 0,
        "parameters": values,
        "stat": np.nan,
        "npred": np.nan,
        "counts": np.nan,
        "flux": np.nan,
        "flux_err": np.nan,
        "fit_result": None,
        "models": None,
    }


def _make_table(rows, models, energy_range) -> Table:
    columns = _free_parameter_names(models)
    table = Table()
    if rows:
        table["tstart"] = Time([interval[0] for _, interval, _ in rows])
        table["tstop"] = Time([interval[1] for _, interval, _ in rows])
    else:
        table["tstart"] = Time([], format="mjd")
        table["tstop"] = Time([], format="mjd")
    table["interval_index"] = np.array([index for index, _, _ in rows], dtype=int)
    table["n_datasets"] = np.array([r["n_datasets"] for _, _, r in rows], dtype=int)
    table["success"] = np.array([r["success"] for _, _, r in rows], dtype=bool)
    table["message"] = np.array([r["message"] for _, _, r in rows], dtype=str)
    table["nfev"] = np.array([r["nfev"] for _, _, r in rows], dtype=int)
    for column, par in columns:
        unit = par.unit
        values = [r["parameters"].get(column, (np.nan, np.nan, unit)) for _, _, r in rows]
        table[column] = u.Quantity([v[0] for v in values], unit)
        table[f"{column}_err"] = u.Quantity([v[1] for v in values], unit)
    table["stat"] = np.array([r["stat"] for _, _, r in rows], dtype=float)
    table["npred"] = np.array([r["npred"] for _, _, r in rows], dtype=float)
    table["counts"] = np.array([r["counts"] for _, _, r in rows], dtype=float)
    table["flux"] = u.Quantity([r["flux"] for _, _, r in rows], "cm-2 s-1")
    table["flux_err"] = u.Quantity([r["flux_err"] for _, _, r in rows], "cm-2 s-1")
    table.meta["energy_min"] = str(energy_range[0])
    table.meta["energy_max"] = str(energy_range[1])
    table.meta["parameters"] = [c for c, _ in columns]
    return table


# ----------------------------------------------------------------------------------- result
class TimeResolvedSpectroscopyResult:
    """Fits of a time-resolved spectroscopy: table, fit results, fitted models and plots.

    Attributes
    ----------
    table : `~astropy.table.Table`
        One row per fitted interval (see the module documentation for the columns).
    fit_results : list of `~fluxfit.fit.FitResult`
        In the table's order (None where the fit raised).
    models : list of `~fluxfit.models.Models`
        Best-fit models with covariance, in the table's order.
    skipped : list of (Time, str)
        Intervals without data and why.
    """

    def __init__(self, table, fit_results, models, skipped):
        self.table = table
        self.fit_results = fit_results
        self.models = models
        self.skipped = skipped

    def __len__(self) -> int:
        return len(self.table)

    def __getitem__(self, key):
        return self.table[key]

    def __repr__(self) -> str:
        return (
            f"TimeResolvedSpectroscopyResult(n_fitted={len(self.table)}, "
            f"n_skipped={len(self.skipped)}, parameters={self.parameter_names})"
        )

    @property
    def parameter_names(self) -> list[str]:
        """Columns of the fitted parameters."""
        return list(self.table.meta.get("parameters", []))

    @property
    def time_mid(self) -> Time:
        """Centres of the fitted intervals."""
        tstart, tstop = self.table["tstart"], self.table["tstop"]
        return tstart + 0.5 * (tstop - tstart)

    def to_table(self) -> Table:
        """A copy of the table."""
        return self.table.copy()

    def write(self, filename, overwrite: bool = False, **kwargs) -> None:
        """Write the table (format from the extension: .ecsv, .fits, .csv...).

        Raises `~fluxfit.errors.OverwriteError` if the file exists and ``overwrite`` is False,
        `~fluxfit.errors.MissingFileError` if its folder does not exist.
        """
        path = check_output(filename, overwrite, "time-resolved table")
        self.table.write(str(path), overwrite=overwrite, **kwargs)

    # ------------------------------------------------------------------ plots
    def _hours(self):
        """Interval starts and stops in hours since the first start, and that start (ISO)."""
        if len(self.table) == 0:
            return np.zeros(0), np.zeros(0), "-"
        tstart, tstop = self.table["tstart"], self.table["tstop"]
        origin = tstart[0]
        start = (tstart - origin).to_value(u.h)
        stop = (tstop - origin).to_value(u.h)
        return np.asarray(start), np.asarray(stop), f"{origin.isot[:19]} {origin.scale.upper()}"

    def plot_parameters(
        self, parameters=None, axes=None, flux=True, filename=None, overwrite=False, **kwargs
    ):
        """Fitted parameters (and the integral flux) against time, one panel each.

        Parameters
        ----------
        parameters : list of str, optional
            Parameter columns (default all fitted parameters).
        axes : list of `~matplotlib.axes.Axes`, optional
            One per panel; default a new figure.
        flux : bool
            Add a panel with the integral flux.
        filename : str or Path, optional
            Save the figure (PNG, PDF... from the extension).
        overwrite : bool
            Replace an existing ``filename`` (else `~fluxfit.errors.OverwriteError`, raised
            before anything is drawn).
        **kwargs
            Passed to ``errorbar``.

        Returns
        -------
        axes : list of `~matplotlib.axes.Axes`
        """
        import matplotlib.pyplot as plt

        if filename is not None:
            filename = check_output(filename, overwrite, "figure")
        names = list(parameters or self.parameter_names)
        panels = names + (["flux"] if flux else [])
        if axes is None:
            fig, axes = plt.subplots(
                len(panels), 1, figsize=(8, 2.6 * len(panels)), sharex=True, squeeze=False
            )
            axes = list(axes[:, 0])
        else:
            axes = list(np.atleast_1d(axes))
            fig = axes[0].figure
        if len(axes) != len(panels):
            raise FluxfitError(f"plot_parameters: {len(panels)} panels but {len(axes)} axes")
        tstart, tstop, origin = self._hours()
        mid = 0.5 * (tstart + tstop)
        half = 0.5 * (tstop - tstart)
        options = {"fmt": "o", "markersize": 4, "capsize": 0}
        options.update(kwargs)
        for ax, name in zip(axes, panels):
            values = u.Quantity(self.table[name])
            errors = u.Quantity(self.table[f"{name}_err"])
            ax.errorbar(mid, values.value, xerr=half, yerr=errors.value, **options)
            label = name if values.unit == u.one else f"{name} [{values.unit.to_string()}]"
            ax.set_ylabel(label)
        axes[-1].set_xlabel(f"Time since {origin} [h]")
        fig.tight_layout()
        if filename is not None:
            fig.savefig(str(filename), dpi=120)
        return axes

    def plot_hysteresis(
        self, filename=None, x=None, y=None, ax=None, cmap="viridis", overwrite=False, **kwargs
    ):
        """One parameter against another, points coloured by time (the hysteresis plot).

        Parameters
        ----------
        filename : str or Path, optional
            Save the figure.
        x, y : str, optional
            Columns (default ``amplitude`` and ``index`` when fitted, else the first two
            fitted parameters, else flux and the first parameter).
        ax : `~matplotlib.axes.Axes`, optional
        cmap : str
            Colour map of the time axis.
        overwrite : bool
            Replace an existing ``filename`` (else `~fluxfit.errors.OverwriteError`).

        Returns
        -------
        ax : `~matplotlib.axes.Axes`
        """
        import matplotlib.pyplot as plt

        if filename is not None:
            filename = check_output(filename, overwrite, "figure")
        names = self.parameter_names
        if x is None:
            x = "amplitude" if "amplitude" in names else (names[0] if names else "flux")
        if y is None:
            others = [n for n in names if n != x]
            y = "index" if "index" in others else (others[0] if others else "flux")
        if ax is None:
            fig, ax = plt.subplots(figsize=(7, 5))
        else:
            fig = ax.figure
        xv, yv = u.Quantity(self.table[x]), u.Quantity(self.table[y])
        xe, ye = u.Quantity(self.table[f"{x}_err"]), u.Quantity(self.table[f"{y}_err"])
        options = {"linestyle": ":", "linewidth": 0.5, "color": "0.5"}
        options.update(kwargs)
        ax.errorbar(xv.value, yv.value, xerr=xe.value, yerr=ye.value, **options)
        tstart, tstop, origin = self._hours()
        points = ax.scatter(xv.value, yv.value, c=0.5 * (tstart + tstop), cmap=cmap, zorder=3)
        colorbar = fig.colorbar(points, ax=ax)
        colorbar.set_label(f"Time since {origin} [h]")
        ax.set_xlabel(x if xv.unit == u.one else f"{x} [{xv.unit.to_string()}]")
        ax.set_ylabel(y if yv.unit == u.one else f"{y} [{yv.unit.to_string()}]")
        fig.tight_layout()
        if filename is not None:
            fig.savefig(str(filename), dpi=120)
        return ax

    def save_plots(
        self, folder, prefix: str = "time_resolved", overwrite: bool = False
    ) -> list[Path]:
        """Write ``<prefix>_parameters.png`` and ``<prefix>_hysteresis.png`` into ``folder``.

        The folder is created if needed. If either file exists and ``overwrite`` is False,
        `~fluxfit.errors.OverwriteError` is raised before anything is written.
        """
        import matplotlib.pyplot as plt

        folder = Path(folder)
        paths = [folder / f"{prefix}_parameters.png", folder / f"{prefix}_hysteresis.png"]
        folder.mkdir(parents=True, exist_ok=True)
        for path in paths:
            check_output(path, overwrite, "figure")
        axes = self.plot_parameters(filename=paths[0], overwrite=overwrite)
        plt.close(axes[0].figure)
        ax = self.plot_hysteresis(filename=paths[1], overwrite=overwrite)
        plt.close(ax.figure)
        return paths
