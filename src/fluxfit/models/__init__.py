"""Models: parameters, priors and links; spectral, spatial, temporal and sky models; YAML I/O."""

from fluxfit.models.core import MODEL_REGISTRY, ModelBase, ParameterSpec, register_model
from fluxfit.models.parameter import Parameter, ParameterLink, Parameters
from fluxfit.models.priors import (
    GaussianPrior,
    LogNormalPrior,
    LogUniformPrior,
    Prior,
    TruncatedGaussianPrior,
    UniformPrior,
)
from fluxfit.models.spectral import *  # noqa: F403
from fluxfit.models.spectral import __all__ as _spectral_all

__all__ = [
    "MODEL_REGISTRY",
    "GaussianPrior",
    "LogNormalPrior",
    "LogUniformPrior",
    "ModelBase",
    "Parameter",
    "ParameterLink",
    "ParameterSpec",
    "Parameters",
    "Prior",
    "TruncatedGaussianPrior",
    "UniformPrior",
    "register_model",
    *_spectral_all,
]
