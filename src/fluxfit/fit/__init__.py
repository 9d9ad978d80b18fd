"""Fitting: the joint objective, iminuit/scipy optimisers, covariance, profiles."""

from fluxfit.fit.fit import CovarianceResult, Fit, FitResult, OptimizeResult
from fluxfit.fit.objective import Objective

__all__ = ["CovarianceResult", "Fit", "FitResult", "Objective", "OptimizeResult"]
