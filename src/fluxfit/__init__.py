"""fluxfit: likelihood analysis of X-ray and gamma-ray sources.

Models with units, priors and links; OGIP, map and flux-point datasets; joint
maximum-likelihood and Bayesian fits; estimators (flux points, profiles, light
curves); fluxes with propagated errors. See the README for a quick start.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fluxfit")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
