"""Fitting: the joint objective, iminuit/scipy optimisers, covariance, profiles."""

from fluxfit.fit.batch import fit_independently, simulate_and_fit
from fluxfit.fit.fit import CovarianceResult, Fit, FitResult, OptimizeResult
from fluxfit.fit.objective import Objective

__all__ = [
    "CovarianceResult",
    "Fit",
    "FitResult",
    "Objective",
    "OptimizeResult",
    "fit_independently",
    "simulate_and_fit",
]
