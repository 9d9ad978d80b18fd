"""`AnalysisResults`: one result type for maximum-likelihood and Bayesian analyses.

It holds the models at the best fit (the MAP sample for a Bayesian analysis), the free
parameters' labels, their covariance (MLE) or posterior samples with weights,
log-likelihoods and log-priors (Bayesian), the statistics per dataset, information
criteria and facts about the run. Everything flux-related works from these alone, so a
result written to disk and read back (`write`, `read`) gives the same fluxes, tables and
plots without the data.

Examples
--------
>>> import astropy.units as u
>>> from fluxfit.results import AnalysisResults
>>> # results = bayes.results              (or AnalysisResults.from_fit_result(fit_result, datasets))
>>> # results.to_table()                   parameter table (value, errors, interval)
>>> # results.get_flux(1 * u.keV, 1 * u.MeV, flux_unit="erg/(cm2 s)")
>>> # results.write("results.fits"); AnalysisResults.read("results.fits")
"""

from __future__ import annotations

import numpy as np
from astropy.table import QTable, Table

from fluxfit.errors import FluxfitError, ModelError
from fluxfit.results import summary
from fluxfit.results.flux import band_integrals, flux_kind, flux_rows
from fluxfit.results.statistics import aic, bic, loglike_constant, n_data_points

__all__ = ["AnalysisResults", "ANALYSIS_TYPES"]

ANALYSIS_TYPES = ("MLE", "Bayesian")
ERROR_PROPAGATIONS = ("sampling", "linear")


class ResultsError(FluxfitError, ValueError):
    """An analysis result is inconsistent or cannot answer the request."""


def _statistics_table(names, stats, log_likes, n_points, log_prior=None) -> Table:
    """Per-dataset table plus a "total" row."""
    names = [*list(names), "total"]
    stats = np.append(stats, np.sum(stats))
    log_likes = np.append(log_likes, np.sum(log_likes))
    n_points = np.append(n_points, np.sum(n_points)).astype(int)
    table = Table()
    table["dataset"] = names
    table["n_data_points"] = n_points
    table["stat"] = stats
    table["-log(likelihood)"] = -log_likes
    if log_prior is not None:
        table["-log(posterior)"] = -(log_likes + log_prior)
    for name in table.colnames[2:]:
        table[name].format = ".6f"
    return table


class AnalysisResults:
    """Result of a maximum-likelihood or Bayesian analysis, independent of the data.

    Parameters
    ----------
    models : `~fluxfit.models.Models`
        The models at the best fit (MLE) or at the MAP sample (Bayesian); kept as given.
    parameter_names : list of str
        Labels (``models.parameters`` names, e.g. ``"src2.spectral.kT_1"``) of the free
        parameters: the columns of ``samples`` and of ``covariance``.
    analysis_type : {"MLE", "Bayesian"}
    best_fit : array (n,), optional
        Best-fit (MLE) or MAP values; default the models' current values.
    covariance : array (n, n), optional
        Covariance of the free parameters (MLE).
    samples : array (k, n), optional
        Posterior samples (Bayesian), with ``weights`` (k,) (default equal),
        ``log_likelihood`` and ``log_prior`` (k,) (natural logs; the likelihood normalised
        as 3ML's, see `fluxfit.results.statistics`).
    statistics : `~astropy.table.Table`, optional
        Per-dataset statistics ("dataset", "n_data_points", "stat", "-log(likelihood)",
        and "-log(posterior)" for a Bayesian analysis) with a "total" row.
    measures : dict, optional
        Information criteria and evidence ("AIC", "BIC", "DIC", "pDIC", "ln(Z)", ...).
    meta : dict, optional
        Facts about the run (sampler, settings, seed, calls, timings, versions).
    """

    def __init__(
        self,
        models,
        parameter_names,
        analysis_type: str = "MLE",
        best_fit=None,
        covariance=None,
        samples=None,
        weights=None,
        log_likelihood=None,
        log_prior=None,
        statistics=None,
        measures=None,
        meta=None,
    ):
        if analysis_type not in ANALYSIS_TYPES:
            raise ResultsError(
                f"AnalysisResults: analysis_type={analysis_type!r}; use one of {ANALYSIS_TYPES}"
            )
        self.models = models
        self.parameter_names = list(parameter_names)
        pars = models.parameters
        try:
            self._parameters = [pars[name] for name in self.parameter_names]
        except FluxfitError as exc:
            raise ResultsError(f"AnalysisResults: {exc}") from None
        n = len(self.parameter_names)
        self.analysis_type = analysis_type
        if best_fit is None:
            best_fit = [p.value for p in self._parameters]
        self.best_fit = np.array(best_fit, dtype=float).reshape(n)
        self._covariance = None
        if covariance is not None:
            covariance = np.array(covariance, dtype=float)
            if covariance.shape != (n, n):
                raise ResultsError(
                    f"AnalysisResults: covariance has shape {covariance.shape}, expected ({n}, {n})"
                )
            self._covariance = covariance
        self.samples = None
        self.weights = None
        self.log_likelihood = None
        self.log_prior = None
        if samples is not None:
            samples = np.array(samples, dtype=float)
            if samples.ndim != 2 or samples.shape[1] != n:
                raise ResultsError(
                    f"AnalysisResults: samples have shape {samples.shape}, expected (k, {n})"
                )
            k = samples.shape[0]
            self.samples = samples
            self.weights = summary.normalised_weights(k, weights)
            for name, value in (("log_likelihood", log_likelihood), ("log_prior", log_prior)):
                if value is not None:
                    value = np.array(value, dtype=float).reshape(k)
                setattr(self, name, value)
        if analysis_type == "Bayesian" and self.samples is None:
            raise ResultsError("AnalysisResults: a Bayesian result needs samples")
        self.statistics = statistics
        self.measures = dict(measures or {})
        self.meta = dict(meta or {})

    # ------------------------------------------------------------- creation
    @classmethod
    def from_fit_result(cls, fit_result, datasets=None, meta=None) -> AnalysisResults:
        """Maximum-likelihood results from a `~fluxfit.fit.FitResult`.

        With ``datasets`` (fitted, parameters at the best fit), the per-dataset
        statistics, log-likelihoods (3ML's normalisation), AIC and BIC are included.
        """
        models = fit_result.models.copy()
        pars = models.parameters
        free = pars.free_parameters
        names = free.names
        idx = [pars.index(name) for name in names]
        covariance = np.asarray(models.covariance)[np.ix_(idx, idx)]
        from fluxfit import __version__

        info = {
            "fluxfit_version": __version__,
            "numpy_version": np.__version__,
            "backend": getattr(fit_result.optimize_result, "backend", ""),
            "method": getattr(fit_result.optimize_result, "method", ""),
            "success": bool(fit_result.success),
            "message": str(fit_result.message),
            "nfev": int(fit_result.nfev),
            "total_stat": float(fit_result.total_stat),
        }
        info.update(meta or {})
        statistics, measures = None, {}
        if datasets is not None:
            statistics, measures = _mle_statistics(datasets, fit_result, names)
        return cls(
            models,
            names,
            "MLE",
            best_fit=free.free_values,
            covariance=covariance,
            statistics=statistics,
            measures=measures,
            meta=info,
        )

    # ----------------------------------------------------------- properties
    @property
    def is_bayesian(self) -> bool:
        return self.analysis_type == "Bayesian"

    @property
    def parameters(self):
        """The free parameters of `models` (objects), in the order of `parameter_names`."""
        return list(self._parameters)

    @property
    def units(self) -> list[str]:
        return [p.unit.to_string() for p in self._parameters]

    @property
    def n_samples(self) -> int:
        return 0 if self.samples is None else self.samples.shape[0]

    @property
    def covariance(self) -> np.ndarray:
        """Covariance of the free parameters (MLE: as fitted; Bayesian: of the samples)."""
        if self._covariance is not None:
            return self._covariance
        if self.samples is not None:
            return summary.weighted_covariance(self.samples, self.weights)
        raise ResultsError("AnalysisResults: no covariance and no samples")

    @property
    def correlation(self) -> np.ndarray:
        cov = self.covariance
        err = np.sqrt(np.diag(cov))
        with np.errstate(divide="ignore", invalid="ignore"):
            return cov / np.outer(err, err)

    @property
    def errors(self) -> np.ndarray:
        """1-sigma errors: sqrt of the covariance diagonal (posterior std for Bayesian)."""
        return np.sqrt(np.clip(np.diag(self.covariance), 0, None))

    @property
    def median(self) -> np.ndarray:
        """Posterior medians (Bayesian) or best-fit values (MLE)."""
        if self.samples is None:
            return self.best_fit.copy()
        return summary.weighted_quantile(self.samples, 0.5, self.weights)

    @property
    def mean(self) -> np.ndarray:
        if self.samples is None:
            return self.best_fit.copy()
        return summary.weighted_mean(self.samples, self.weights)

    @property
    def map(self) -> np.ndarray:
        """The best-fit values (the MAP sample of a Bayesian analysis)."""
        return self.best_fit.copy()

    @property
    def ess(self) -> float:
        """Effective sample size of the weighted samples (Kish)."""
        if self.samples is None:
            return 0.0
        return summary.effective_sample_size(self.weights)

    def credible_intervals(self, confidence_level: float = 0.68, error_type: str = "equal_tail"):
        """(low, high) arrays per free parameter.

        Bayesian: equal-tailed or highest-density interval of the posterior samples.
        MLE: best fit -/+ z sigma from the covariance (Gaussian approximation).
        """
        if self.samples is not None:
            return summary.credible_interval(
                self.samples, confidence_level, self.weights, error_type
            )
        z = _gaussian_z(confidence_level)
        return self.best_fit - z * self.errors, self.best_fit + z * self.errors

    def equal_weight_samples(self, n: int | None = None, random_state=0) -> np.ndarray:
        """Samples with equal weights (systematic resampling of the weighted ones)."""
        if self.samples is None:
            raise ResultsError("equal_weight_samples: an MLE result has no samples")
        if np.allclose(self.weights, self.weights[0]) and n is None:
            return self.samples.copy()
        idx = summary.systematic_resample(self.weights, n, random_state)
        return self.samples[idx]

    def samples_dict(self) -> dict:
        """Equal-weight samples per parameter label (as 3ML's ``results.samples``)."""
        draws = self.equal_weight_samples()
        return {name: draws[:, i] for i, name in enumerate(self.parameter_names)}

    # -------------------------------------------------------------- tables
    def to_table(self, error_type: str = "equal_tail", confidence_level: float = 0.68) -> QTable:
        """Parameter table: best fit (MAP), errors and interval.

        Columns: ``name``, ``value`` (best fit / MAP), ``negative_error`` and
        ``positive_error`` (interval bounds minus value, as 3ML), ``error`` (half the
        interval; for an MLE the 1-sigma error from the covariance), ``lower_bound``,
        ``upper_bound``, ``unit``; Bayesian results add ``median`` and ``std``. MLE intervals
        are ``value -/+ z sigma`` with ``z`` for ``confidence_level`` (0.994 for 0.68).
        """
        low, high = self.credible_intervals(confidence_level, error_type)
        table = QTable()
        table["name"] = self.parameter_names
        table["value"] = self.best_fit
        table["negative_error"] = low - self.best_fit
        table["positive_error"] = high - self.best_fit
        table["error"] = 0.5 * (high - low) if self.samples is not None else self.errors
        table["lower_bound"] = low
        table["upper_bound"] = high
        if self.samples is not None:
            table["median"] = self.median
            table["std"] = self.errors
        table["unit"] = self.units
        for name in table.colnames:
            if name not in ("name", "unit"):
                table[name].info.format = ".6g"
        table.meta.update(
            {
                "analysis_type": self.analysis_type,
                "error_type": error_type if self.samples is not None else "covariance",
                "confidence_level": confidence_level,
            }
        )
        return table

    def get_statistic_frame(self):
        """Statistics per dataset and total (a copy of `statistics`)."""
        if self.statistics is None:
            raise ResultsError("this result has no per-dataset statistics")
        return self.statistics.copy()

    def get_statistic_measure_frame(self) -> Table:
        """Information criteria and evidence as a two-column table."""
        table = Table()
        table["measure"] = list(self.measures)
        table["value"] = [float(v) for v in self.measures.values()]
        table["value"].format = ".6f"
        return table

    # ---------------------------------------------------------------- fluxes
    def get_flux(
        self,
        energy_min,
        energy_max,
        flux_unit="erg/(cm2 s)",
        sources=None,
        components=False,
        sum_sources=False,
        confidence_level: float = 0.68,
        error_type: str = "equal_tail",
        integration: str = "exact",
        error_propagation: str = "sampling",
        n_samples: int = 10000,
        random_state=0,
    ) -> QTable:
        """Integral fluxes with errors, per source, per component or summed.

        Parameters
        ----------
        energy_min, energy_max : `~astropy.units.Quantity`
            The band, in any energy unit (or wavelength/frequency).
        flux_unit : str or `~astropy.units.Unit`
            A photon flux (``"1/(cm2 s)"``), energy flux (``"erg/(cm2 s)"``) or
            energy-squared flux (``"erg2/(cm2 s)"``: ``int E^2 dN/dE dE``, 3ML's "nuFnu").
        sources : str or list of str, optional
            Sources to include (default all with a photon spectrum).
        components : bool or list of str
            Per additive component of each source (see `fluxfit.results.flux.flux_rows`).
        sum_sources : bool
            One row ``"total"``: the sum of the sources, errors with all correlations.
        confidence_level : float
            Probability content of the interval (0.68: 1 sigma).
        error_type : {"equal_tail", "hpd"}
            Interval of the flux samples (Bayesian, or MLE with sampling).
        integration : {"exact", "quad", "trapz"}
            See `fluxfit.results.flux` ("exact": fast and accurate, the default).
        error_propagation : {"sampling", "linear"}
            MLE only: draw ``n_samples`` parameter sets from the covariance (as 3ML) or
            propagate the covariance linearly (symmetric interval ``+/- z sigma``).
        n_samples : int
            Parameter sets drawn from the covariance (MLE, sampling).
        random_state : int or `numpy.random.Generator`
            Seed of the covariance sampling (MLE).

        Returns
        -------
        `~astropy.table.QTable`
            Columns ``label``, ``flux``, ``lower_bound``, ``upper_bound`` (Quantities in
            ``flux_unit``), indexed by ``label``. Bayesian: ``flux`` is the posterior
            median of the flux. MLE: the flux at the best fit.

        Notes
        -----
        Fluxes are computed for every sample with all free parameters varied together,
        so errors include correlations, and parameters linked to a free parameter (the
        shared temperature of seed 000) vary with their master. 3ML's ``get_flux`` keeps
        linked parameters at their best-fit value, which underestimates the error of a
        source whose spectrum has a linked parameter (src1's 1 keV-1 MeV energy flux of
        seed 000: 3ML's +/- 6 % against +/- 3.4 % with the linked kT propagated, the latter
        being right: kT is constrained by both sources together).
        """
        import astropy.units as u

        from fluxfit.models.spectral.core import energy_to_array

        kind, power, unit, factor = flux_kind(flux_unit)
        emin = float(np.squeeze(energy_to_array(energy_min, "energy_min")))
        emax = float(np.squeeze(energy_to_array(energy_max, "energy_max")))
        rows = flux_rows(self.models, sources, components, sum_sources)
        if error_propagation not in ERROR_PROPAGATIONS:
            raise ResultsError(
                f"error_propagation={error_propagation!r}; use one of {ERROR_PROPAGATIONS}"
            )

        def integrate(values):
            return factor * band_integrals(
                rows, self._parameters, values, emin, emax, power, integration
            )

        if self.samples is not None:
            fluxes = integrate(self.samples)
            value = summary.weighted_quantile(fluxes, 0.5, self.weights)
            low, high = summary.credible_interval(
                fluxes, confidence_level, self.weights, error_type
            )
            n_used = self.n_samples
        else:
            best = integrate(self.best_fit[None, :])[0]
            value = best
            if error_propagation == "linear":
                sigma = _linear_errors(integrate, self.best_fit, self.covariance, best)
                z = _gaussian_z(confidence_level)
                low, high = best - z * sigma, best + z * sigma
                n_used = 0
            else:
                draws = _covariance_draws(self.best_fit, self.covariance, n_samples, random_state)
                fluxes = integrate(draws)
                low, high = summary.credible_interval(fluxes, confidence_level, None, error_type)
                n_used = int(n_samples)
        table = QTable()
        table["label"] = [row.label for row in rows]
        table["flux"] = u.Quantity(value, unit)
        table["lower_bound"] = u.Quantity(low, unit)
        table["upper_bound"] = u.Quantity(high, unit)
        for name in ("flux", "lower_bound", "upper_bound"):
            table[name].info.format = ".6g"
        table.add_index("label")
        table.meta.update(
            {
                "energy_min": str(u.Quantity(energy_min)),
                "energy_max": str(u.Quantity(energy_max)),
                "flux_kind": kind,
                "confidence_level": confidence_level,
                "error_type": error_type if error_propagation == "sampling" else "linear",
                "integration": integration,
                "analysis_type": self.analysis_type,
                "n_samples": n_used,
            }
        )
        return table

    # ----------------------------------------------------------------- plots
    def corner_plot(self, parameters=None, **kwargs):
        """Corner plot of the posterior samples (the corner package); returns the figure."""
        from fluxfit.plotting.bayes import corner_plot

        return corner_plot(self, parameters=parameters, **kwargs)

    # ------------------------------------------------------------------ I/O
    def write(self, path, overwrite: bool = False) -> None:
        """Write to a FITS file (models YAML, samples or covariance, statistics, meta)."""
        from fluxfit.results.io import write_results

        write_results(self, path, overwrite=overwrite)

    @classmethod
    def read(cls, path) -> AnalysisResults:
        """Read a file written by `write`."""
        from fluxfit.results.io import read_results

        return read_results(path)

    # -------------------------------------------------------------- display
    def __str__(self) -> str:
        title = (
            "Maximum a posteriori probability (MAP) point"
            if self.is_bayesian
            else "Best fit values (maximum likelihood)"
        )
        lines = [f"AnalysisResults ({self.analysis_type})", "", title, ""]
        lines += self.to_table().pformat(max_lines=-1, max_width=-1)
        if self.statistics is not None:
            lines += ["", "Statistics per dataset", ""]
            lines += self.statistics.pformat(max_lines=-1, max_width=-1)
        if self.measures:
            lines += ["", "Statistical measures", ""]
            lines += [f"  {k:<24s} {float(v):.6f}" for k, v in self.measures.items()]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """Parameter table, statistics per dataset and measures as HTML (notebooks)."""
        import html

        parts = [
            f"<b>AnalysisResults</b> ({html.escape(str(self.analysis_type))})",
            self.to_table()._repr_html_(),
        ]
        if self.statistics is not None:
            parts += ["<b>Statistics per dataset</b>", self.statistics._repr_html_()]
        if self.measures:
            rows = "".join(
                f"<tr><td>{html.escape(str(k))}</td><td>{float(v):.6f}</td></tr>"
                for k, v in self.measures.items()
            )
            parts += ["<b>Statistical measures</b>", f"<table>{rows}</table>"]
        return "".join(parts)

    def __repr__(self) -> str:
        extra = f", n_samples={self.n_samples}" if self.samples is not None else ""
        return (
            f"AnalysisResults(analysis_type={self.analysis_type!r}, "
            f"parameters={self.parameter_names}{extra})"
        )


# ---------------------------------------------------------------- helpers
def _gaussian_z(confidence_level: float) -> float:
    from scipy.special import ndtri

    if not 0 < confidence_level < 1:
        raise ResultsError(f"confidence_level must be in (0, 1), got {confidence_level}")
    return float(ndtri(0.5 * (1 + confidence_level)))


def _covariance_draws(best, covariance, n_samples, random_state) -> np.ndarray:
    rng = (
        random_state
        if isinstance(random_state, np.random.Generator)
        else np.random.default_rng(random_state)
    )
    covariance = np.asarray(covariance, dtype=float)
    if not np.all(np.isfinite(covariance)):
        raise ResultsError("the covariance has non-finite entries: no errors can be propagated")
    # draw in units of each parameter's error: covariances spanning 1e-18 (K) to 1e2 (kT)
    # are beyond the precision of a direct decomposition
    sigma = np.sqrt(np.clip(np.diag(covariance), 0, None))
    scale = np.where(sigma > 0, sigma, 1.0)
    correlation = covariance / np.outer(scale, scale)
    eigval, eigvec = np.linalg.eigh(0.5 * (correlation + correlation.T))
    root = eigvec * np.sqrt(np.clip(eigval, 0, None))
    z = rng.standard_normal((int(n_samples), best.size)) @ root.T
    return best + z * np.where(sigma > 0, sigma, 0.0)


def _linear_errors(integrate, best, covariance, value, epsilon: float = 1e-4) -> np.ndarray:
    """1-sigma errors of ``integrate`` by central differences (one batched evaluation)."""
    sigma = np.sqrt(np.clip(np.diag(covariance), 0, None))
    varied = np.flatnonzero(sigma > 0)
    if varied.size == 0:
        return np.zeros_like(value)
    steps = epsilon * sigma[varied]
    points = np.repeat(best[None, :], 2 * varied.size, axis=0)
    for j, i in enumerate(varied):
        points[2 * j, i] += steps[j]
        points[2 * j + 1, i] -= steps[j]
    values = integrate(points)
    jac = (values[0::2] - values[1::2]) / (2 * steps[:, None])
    sub = np.asarray(covariance)[np.ix_(varied, varied)]
    return np.sqrt(np.clip(np.einsum("in,ij,jn->n", jac, sub, jac), 0, None))


def _mle_statistics(datasets, fit_result, names):
    """Per-dataset statistics and AIC/BIC at the best fit of ``datasets``."""
    best = {
        name: v
        for name, v in zip(fit_result.optimize_result.names, fit_result.optimize_result.values)
    }
    pars = datasets.models.parameters
    for name, value in best.items():
        try:
            pars[name]._value = float(value)
        except FluxfitError:
            raise ModelError(f"from_fit_result: {name!r} is not a parameter of datasets") from None
    stats = datasets.stat_sums()
    dnames = list(stats)
    stat = np.array([stats[n] for n in dnames], dtype=float)
    consts = np.array([loglike_constant(datasets[n]) for n in dnames])
    npts = np.array([n_data_points(datasets[n]) for n in dnames])
    log_likes = 0.5 * (consts - stat)
    table = _statistics_table(dnames, stat, log_likes, npts)
    k, n = len(names), int(npts.sum())
    total = float(log_likes.sum())
    measures = {
        "AIC": aic(total, k, n),
        "BIC": bic(total, k, n),
        "log_likelihood": total,
        "n_data_points": n,
        "n_free_parameters": k,
    }
    return table, measures
