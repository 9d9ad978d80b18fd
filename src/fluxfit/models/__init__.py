"""Models: parameters, priors and links; spectral, spatial, temporal and sky models; YAML I/O."""

from fluxfit.models.collection import Models, read_covariance_table, write_covariance_table
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
from fluxfit.models.sky import FoVBackgroundModel, SkyModel
from fluxfit.models.spatial import *  # noqa: F403
from fluxfit.models.spatial import __all__ as _spatial_all
from fluxfit.models.spectral import *  # noqa: F403
from fluxfit.models.spectral import __all__ as _spectral_all
from fluxfit.models.temporal import *  # noqa: F403
from fluxfit.models.temporal import __all__ as _temporal_all

__all__ = [
    "MODEL_REGISTRY",
    "FoVBackgroundModel",
    "GaussianPrior",
    "LogNormalPrior",
    "LogUniformPrior",
    "ModelBase",
    "Models",
    "Parameter",
    "ParameterLink",
    "ParameterSpec",
    "Parameters",
    "Prior",
    "SkyModel",
    "TruncatedGaussianPrior",
    "UniformPrior",
    "read_covariance_table",
    "register_model",
    "write_covariance_table",
    *_spatial_all,
    *_spectral_all,
    *_temporal_all,
]
