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
        self.use_priors = use_priors
        self._priors = [p.prior for p in self._params]
        if use_priors:
            missing = [n for n, pr in zip(self.names, self._priors) if pr is None]
            if missing:
                raise FitError(
                    f"use_priors=True but these free parameters have no prior: {missing}"
                )
        self.n_calls = 0

    @property
    def start_factors(self) -> np.ndarray:
        return np.array([p.value for p in self._params]) / self.scales

    @property
    def bounds_factors(self) -> list[tuple[float | None, float | None]]:
        """(low, high) per free parameter in factor space, None where unbounded."""
        out = []
        for par, scale in zip(self._params, self.scales):
            low, high = par.min / scale, par.max / scale
            if scale < 0:
                low, high = high, low
            out.append((None if np.isnan(low) else low, None if np.isnan(high) else high))
        return out

    def set_values(self, values) -> None:
        """Set the free parameters to ``values`` (their units) without validation."""
        for par, value in zip(self._params, values):
            par._value = float(value)

    def set_factors(self, factors) -> None:
        self.set_values(np.asarray(factors) * self.scales)

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

    def __call__(self, factors) -> float:
        """Total statistic at ``factors`` (value / scale); NaN becomes +inf."""
        stat = self.stat_values(np.asarray(factors, dtype=float) * self.scales)
        return stat if np.isfinite(stat) else np.inf

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
