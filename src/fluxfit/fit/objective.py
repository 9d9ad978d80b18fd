"""The one function optimisers and samplers see: statistic of the free parameters.

`Objective` gathers the free parameters of a `~fluxfit.datasets.Datasets`
(linked and frozen ones excluded, shared objects once), their scales, bounds
and priors, and exposes the statistic as a plain function of a 1-D vector of
*factors* (value / scale, numbers of order one) or of values, plus a batched
version over k parameter sets.

Examples
--------
>>> from fluxfit.fit import Objective
>>> # objective = Objective(datasets)
>>> # objective(objective.start_factors)  -> total statistic
"""

from __future__ import annotations

import numpy as np

from fluxfit.errors import FitError

__all__ = ["Objective"]


class Objective:
    """Statistic of the free parameters of ``datasets``.

    Parameters
    ----------
    datasets : `~fluxfit.datasets.Datasets`
        The joint likelihood.
    parameters : `~fluxfit.models.Parameters`, optional
        The parameters to vary (default: all free parameters of the models).
    use_priors : bool
        Add ``-2 ln prior`` to the statistic (a posterior mode instead of a
        maximum likelihood). Default False, as 3ML's `JointLikelihood`.
    """

    def __init__(self, datasets, parameters=None, use_priors: bool = False):
        self.datasets = datasets
        if parameters is None:
            parameters = datasets.models.parameters.free_parameters
        if len(parameters) == 0:
            raise FitError(
                f"no free parameters to fit in datasets {datasets.names}: every parameter "
                "is frozen or linked"
            )
        self.parameters = parameters
        self._params = list(parameters)
        self.names = parameters.names
        self.scales = np.array([p.scale for p in self._params], dtype=float)
        self.log_mask = np.array(
            [p.transform == "log" and p.value > 0 for p in self._params], dtype=bool
        )
        self.use_priors = use_priors
        self._priors = [p.prior for p in self._params]
        if use_priors:
            missing = [n for n, pr in zip(self.names, self._priors) if pr is None]
            if missing:
                raise FitError(
                    f"use_priors=True but these free parameters have no prior: {missing}"
                )
        self.n_calls = 0

    # ------------------------------------------------------------- x space
    # Optimisers see x: value / scale, or log10(value) for parameters whose
    # ``transform`` is "log" (and whose value is positive at the start).

    @property
    def start_x(self) -> np.ndarray:
        """The current values in optimiser space."""
        return self.values_to_x(np.array([p.value for p in self._params]))

    def values_to_x(self, values) -> np.ndarray:
        values = np.asarray(values, dtype=float)
        x = values / self.scales
        if self.log_mask.any():
            x[..., self.log_mask] = np.log10(values[..., self.log_mask])
        return x

    def x_to_values(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        values = x * self.scales
        if self.log_mask.any():
            values[..., self.log_mask] = 10.0 ** x[..., self.log_mask]
        return values

    def jacobian(self, x) -> np.ndarray:
        """d value / d x for each free parameter (diagonal of the Jacobian)."""
        jac = self.scales.copy()
        if self.log_mask.any():
            jac[self.log_mask] = np.log(10.0) * 10.0 ** np.asarray(x, float)[self.log_mask]
        return jac

    @property
    def bounds_x(self) -> list[tuple[float | None, float | None]]:
        """(low, high) per free parameter in optimiser space, None where unbounded."""
        out = []
        for par, scale, is_log in zip(self._params, self.scales, self.log_mask):
            low, high = par.min, par.max
            if is_log:
                low = np.log10(low) if low > 0 else np.nan
                high = np.log10(high) if high > 0 else np.nan
            else:
                low, high = low / scale, high / scale
                if scale < 0:
                    low, high = high, low
            out.append((None if np.isnan(low) else low, None if np.isnan(high) else high))
        return out

    # backwards-compatible names (factor space = x space for linear parameters)
    @property
    def start_factors(self) -> np.ndarray:
        return self.start_x

    @property
    def bounds_factors(self):
        return self.bounds_x

    def set_values(self, values) -> None:
        """Set the free parameters to ``values`` (their units) without validation."""
        for par, value in zip(self._params, values):
            par._value = float(value)

    def set_x(self, x) -> None:
        self.set_values(self.x_to_values(x))

    set_factors = set_x

    def log_prior(self, values) -> float | np.ndarray:
        """Sum of ln prior densities (k sets at once when ``values`` is (k, n))."""
        values = np.asarray(values, dtype=float)
        total = 0.0
        for i, prior in enumerate(self._priors):
            if prior is not None:
                total = total + prior.logpdf(values[..., i])
        return total

    def stat_values(self, values) -> float:
        """Total statistic at ``values`` (1-D, the free parameters' units)."""
        self.n_calls += 1
        self.set_values(values)
        stat = self.datasets.stat_sum()
        if self.use_priors:
            stat -= 2.0 * self.log_prior(values)
        return stat

    def __call__(self, x) -> float:
        """Total statistic at ``x`` (optimiser space); NaN becomes +inf."""
        with np.errstate(over="ignore", invalid="ignore"):
            stat = self.stat_values(self.x_to_values(x))
        return stat if np.isfinite(stat) else np.inf

    def gradient(self, x, rel_step: float = 1e-5) -> np.ndarray:
        """Gradient of the statistic in optimiser space from one batched evaluation.

        Central differences for all parameters at once (2 n + 1 points in one
        `batch` call): the cost of about one single evaluation per dimension
        becomes that of one batch. Where a side is not finite (a bound, an
        impossible model) the one-sided difference is used.
        """
        x = np.asarray(x, dtype=float)
        n = x.size
        step = rel_step * np.maximum(np.abs(x), 1e-2)
        points = np.repeat(x[None, :], 2 * n + 1, axis=0)
        index = np.arange(n)
        points[2 * index, index] += step
        points[2 * index + 1, index] -= step
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            stat = self.batch(self.x_to_values(points))
        stat = np.where(np.isfinite(stat), stat, np.inf)
        up, down, center = stat[0:-1:2], stat[1:-1:2], stat[-1]
        grad = (up - down) / (2 * step)
        bad = ~np.isfinite(grad)
        if bad.any():
            forward = (up - center) / step
            backward = (center - down) / step
            grad = np.where(bad, np.where(np.isfinite(forward), forward, backward), grad)
        return np.where(np.isfinite(grad), grad, 0.0)

    def batch(self, values) -> np.ndarray:
        """Total statistic for k parameter sets, ``values`` of shape (k, n), units of the parameters."""
        values = np.atleast_2d(np.asarray(values, dtype=float))
        if values.shape[1] != len(self._params):
            raise FitError(
                f"batch values must have {len(self._params)} columns, got {values.shape}"
            )
        self.n_calls += values.shape[0]
        overrides = {par: values[:, i : i + 1] for i, par in enumerate(self._params)}
        stat = np.broadcast_to(self.datasets.stat_sum_batch(overrides), (values.shape[0],)).copy()
        if self.use_priors:
            stat -= 2.0 * self.log_prior(values)
        return stat
