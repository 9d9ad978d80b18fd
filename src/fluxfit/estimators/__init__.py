"""fluxfit.estimators: flux points, flux profiles, light curves and time-resolved fits.

`FluxPointsEstimator` fits the norm of one source in energy groups and returns
`~fluxfit.datasets.FluxPoints` (re-exported here). Without ``reoptimize`` every
group is a one-dimensional problem on predicted counts computed once, and all
groups are solved together (`fluxfit.estimators.norm_solver`).

Examples
--------
>>> import astropy.units as u
>>> from fluxfit.estimators import FluxPointsEstimator
>>> fpe = FluxPointsEstimator(energy_edges=[1, 10] * u.TeV, source=0)
>>> fpe.norm.scan_values.size
11
"""

from fluxfit.datasets.flux_points import FluxPoints
from fluxfit.estimators.core import (
    Estimator,
    EstimatorError,
    FluxEstimator,
    NormParameter,
)
from fluxfit.estimators.lightcurve import LightCurveEstimator
from fluxfit.estimators.points import FluxPointsEstimator
from fluxfit.estimators.profile import FluxProfileEstimator
from fluxfit.estimators.scale import ScaleSpectralModel
from fluxfit.estimators.time_resolved import (
    TimeResolvedSpectroscopyEstimator,
    TimeResolvedSpectroscopyResult,
    select_datasets_time,
)

__all__ = [
    "TimeResolvedSpectroscopyEstimator",
    "TimeResolvedSpectroscopyResult",
    "select_datasets_time",
    "Estimator",
    "EstimatorError",
    "FluxEstimator",
    "FluxPoints",
    "FluxPointsEstimator",
    "FluxProfileEstimator",
    "LightCurveEstimator",
    "NormParameter",
    "ScaleSpectralModel",
]
