"""Fitting: the joint objective, iminuit/scipy optimisers, covariance, profiles, Bayesian sampling."""

from fluxfit.fit.batch import fit_independently, simulate_and_fit
from fluxfit.fit.bayes import BayesianAnalysis
from fluxfit.fit.fit import CovarianceResult, Fit, FitResult, OptimizeResult
from fluxfit.fit.objective import Objective

__all__ = [
    "BayesianAnalysis",
    "CovarianceResult",
    "Fit",
    "FitResult",
    "Objective",
    "OptimizeResult",
    "fit_independently",
    "simulate_and_fit",
]
