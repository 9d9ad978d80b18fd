"""Temporal models: a dimensionless norm versus time (see `fluxfit.models.temporal.core`)."""

from fluxfit.models.temporal.analytic import (
    ConstantTemporalModel,
    ExpDecayTemporalModel,
    GaussianTemporalModel,
    LinearTemporalModel,
    PowerLawTemporalModel,
    SineTemporalModel,
)
from fluxfit.models.temporal.core import T_REF_DEFAULT, TemporalModel, time_to_mjd
from fluxfit.models.temporal.template import LightCurveTemplateTemporalModel

__all__ = [
    "T_REF_DEFAULT",
    "ConstantTemporalModel",
    "ExpDecayTemporalModel",
    "GaussianTemporalModel",
    "LightCurveTemplateTemporalModel",
    "LinearTemporalModel",
    "PowerLawTemporalModel",
    "SineTemporalModel",
    "TemporalModel",
    "time_to_mjd",
]
