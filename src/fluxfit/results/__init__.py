"""Analysis results (MLE and Bayesian): parameter tables, fluxes with errors, FITS files.

Examples
--------
>>> from fluxfit.results import AnalysisResults
>>> # results = AnalysisResults.read("seed000_results.fits")
>>> # results.get_flux(1 * u.keV, 1 * u.MeV, flux_unit="erg/(cm2 s)", sum_sources=True)
"""

from fluxfit.results.analysis_results import ANALYSIS_TYPES, AnalysisResults, ResultsError
from fluxfit.results.flux import FLUX_KINDS, INTEGRATION_METHODS, flux_kind, flux_rows
from fluxfit.results.statistics import aic, bic, dic, loglike_constant, n_data_points
from fluxfit.results.summary import (
    credible_interval,
    effective_sample_size,
    equal_tail_interval,
    hpd_interval,
    weighted_quantile,
)

__all__ = [
    "ANALYSIS_TYPES",
    "AnalysisResults",
    "ResultsError",
    "FLUX_KINDS",
    "INTEGRATION_METHODS",
    "flux_kind",
    "flux_rows",
    "aic",
    "bic",
    "dic",
    "loglike_constant",
    "n_data_points",
    "credible_interval",
    "effective_sample_size",
    "equal_tail_interval",
    "hpd_interval",
    "weighted_quantile",
]
