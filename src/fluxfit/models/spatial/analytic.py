"""Analytic spatial models: point, Gaussian, disk, shells and constant.

Definitions, parameter names, defaults and normalisations follow Gammapy
(``gammapy.modeling.models.spatial``, 1.x/2.x): angles in deg, densities in
sr^-1. Elongated models use the position angle ``phi`` of the major axis,
measured east of north, and the eccentricity ``e`` (minor axis = major axis x
sqrt(1 - e^2)).

Examples
--------
>>> import astropy.units as u
>>> from fluxfit.models import DiskSpatialModel
>>> disk = DiskSpatialModel(lon_0="10 deg", lat_0="0 deg", r_0="0.5 deg", frame="galactic")
>>> region = disk.to_region()
>>> float(region.radius.to_value("deg"))
0.5
"""

from __future__ import annotations

import numpy as np
from scipy.special import erfc

from fluxfit.errors import ModelError
from fluxfit.models.core import ParameterSpec, register_model
from fluxfit.models.spatial.core import SpatialModel
from fluxfit.models.spatial.geometry import (
    angular_separation,
    haversine,
    position_angle,
)
from fluxfit.models.spatial.grid import as_pixel_grid

__all__ = [
    "PointSpatialModel",
    "GaussianSpatialModel",
    "DiskSpatialModel",
    "ShellSpatialModel",
    "Shell2SpatialModel",
    "ConstantSpatialModel",
]

_LON_0 = ParameterSpec("lon_0", 0.0, "deg")
_LAT_0 = ParameterSpec("lat_0", 0.0, "deg", min=-90.0, max=90.0)

# 0.5 * erfc(x * K) drops from 95 % to 5 % over x in [-1/2, 1/2] (Gammapy's edge).
_EDGE_WIDTH_95 = 2.326174307353347


def _effective_radius(lon, lat, lon_0, lat_0, phi, major_rad, e):
    """Radius (rad) of the ellipse (semi-major ``major_rad``, eccentricity ``e``, major axis
    at position angle ``phi`` deg) in the direction of each point (Gammapy's
    ``compute_sigma_eff``). Returns ``(minor_rad, radius_rad)``."""
    minor = major_rad * np.sqrt(1.0 - e**2)
    d_phi = np.radians(phi) - position_angle(lon_0, lat_0, lon, lat)
    denominator = np.hypot(major_rad * np.sin(d_phi), minor * np.cos(d_phi))
    with np.errstate(divide="ignore", invalid="ignore"):
        radius = np.where(denominator > 0, major_rad * minor / denominator, major_rad)
    return minor, radius


def _circle_or_ellipse(center, major, minor, phi, e):
    from regions import CircleSkyRegion, EllipseSkyRegion

    if e == 0:
        return CircleSkyRegion(center=center, radius=major)
    # Gammapy: height along the major axis, angle = phi (position angle of the major axis).
    return EllipseSkyRegion(center=center, height=2 * major, width=2 * minor, angle=phi)


@register_model
class PointSpatialModel(SpatialModel):
    """Point source at ``(lon_0, lat_0)``.

    A point has no density: `evaluate` returns 0 everywhere. On pixels,
    `integrate_geom` puts the whole flux into the four pixels around the
    position with bilinear weights that preserve the centroid (Gammapy's
    scheme), or into the pixel containing it with ``method="nearest"``.

    Parameters
    ----------
    lon_0, lat_0 : `~astropy.units.Quantity`
        Position (deg) in ``frame``.
    frame : {"icrs", "galactic"}
        Frame of the position.

    Examples
    --------
    >>> from fluxfit.models import PointSpatialModel, SkyPixelGrid
    >>> point = PointSpatialModel(lon_0="83.633 deg", lat_0="22.014 deg", frame="icrs")
    >>> grid = SkyPixelGrid.create(center=(83.633, 22.014), width=1.0, binsz=0.1)
    >>> float(point.integrate_geom(grid).sum())
    1.0
    """

    tag = ("PointSpatialModel", "point")
    _parameter_specs = (_LON_0, _LAT_0)

    @staticmethod
    def evaluate(lon, lat, lon_0, lat_0):
        return np.zeros(np.broadcast_shapes(np.shape(lon), np.shape(lon_0)))

    def _radius_deg(self, p):
        return 0.0

    def integrate_geom(
        self, geom, oversampling_factor=None, overrides=None, energy=None, method="bilinear"
    ):
        """Fraction of the point source in each pixel, shape ``(*lead, ny, nx)``.

        ``method="bilinear"`` (default, Gammapy) spreads the flux over the four
        pixels nearest to the position with weights ``(1 - |dx|)(1 - |dy|)``;
        ``"nearest"`` puts it all in the pixel containing the position. A
        position outside the grid gives zeros. ``oversampling_factor`` is ignored.
        """
        grid = as_pixel_grid(geom)
        p = self.canonical_values(overrides)
        lon_0, lat_0 = np.broadcast_arrays(
            np.asarray(p["lon_0"], dtype=float), np.asarray(p["lat_0"], dtype=float)
        )
        batch = lon_0.ndim > 0
        x0, y0 = grid.world_to_pixel(lon_0.ravel(), lat_0.ravel(), self.frame)
        x0 = np.where(np.isfinite(x0), x0, -10.0)[:, None]
        y0 = np.where(np.isfinite(y0), y0, -10.0)[:, None]
        ny, nx = grid.shape
        ix, iy = np.arange(nx)[None, :], np.arange(ny)[None, :]
        if method == "bilinear":
            wx = np.clip(1.0 - np.abs(ix - x0), 0.0, None)
            wy = np.clip(1.0 - np.abs(iy - y0), 0.0, None)
        elif method == "nearest":
            wx = (np.floor(x0 + 0.5) == ix).astype(float)
            wy = (np.floor(y0 + 0.5) == iy).astype(float)
        else:
            raise ModelError(f"PointSpatialModel: method {method!r} is not 'bilinear' or 'nearest'")
        weights = wy[:, :, None] * wx[:, None, :]
        return weights if batch else weights[0]

    def to_region(self, **kwargs):
        """`regions.PointSkyRegion` at the position."""
        from regions import PointSkyRegion

        return PointSkyRegion(center=self.position, **kwargs)


@register_model
class GaussianSpatialModel(SpatialModel):
    r"""Two-dimensional Gaussian on the sphere, optionally elongated.

    Circular case (``e = 0``), normalised exactly on the sphere:

    .. math::
        \phi(\theta) = \frac{1}{4\pi a (1 - e^{-1/a})}
            \exp\left(-\frac{1 - \cos\theta}{2a}\right), \quad a = 1 - \cos\sigma

    Elongated case: ``sigma`` is the semi-major axis, the minor axis is
    ``sigma * sqrt(1 - e^2)``, ``a = 1 - cos(sigma_eff)`` with ``sigma_eff`` the
    ellipse radius towards each point, and the norm is Gammapy's small-angle
    ``1 / (2 pi sigma sigma_minor)``.

    Parameters
    ----------
    lon_0, lat_0 : `~astropy.units.Quantity`
        Centre (deg).
    sigma : `~astropy.units.Quantity`
        Width (semi-major axis for elongated models), default 1 deg.
    e : float
        Eccentricity in [0, 1], default 0 (frozen).
    phi : `~astropy.units.Quantity`
        Position angle of the major axis, east of north, default 0 deg (frozen).
    frame : {"icrs", "galactic"}

    Examples
    --------
    >>> import astropy.units as u
    >>> from fluxfit.models import GaussianSpatialModel
    >>> model = GaussianSpatialModel(sigma="0.1 deg", e=0.6, phi="30 deg")
    >>> model.evaluation_radius
    <Quantity 0.5 deg>
    """

    tag = ("GaussianSpatialModel",)
    _parameter_specs = (
        _LON_0,
        _LAT_0,
        ParameterSpec("sigma", 1.0, "deg", min=0.0),
        ParameterSpec("e", 0.0, min=0.0, max=1.0, frozen=True),
        ParameterSpec("phi", 0.0, "deg", frozen=True),
    )

    @staticmethod
    def evaluate(lon, lat, lon_0, lat_0, sigma, e, phi):
        half_one_minus_cos = haversine(lon, lat, lon_0, lat_0)  # (1 - cos sep) / 2
        sigma_rad = np.radians(sigma)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            a_circular = 2.0 * np.sin(0.5 * sigma_rad) ** 2  # 1 - cos(sigma)
            norm_circular = 1.0 / (4.0 * np.pi * a_circular * -np.expm1(-1.0 / a_circular))
            if np.all(np.asarray(e) == 0):
                return norm_circular * np.exp(-half_one_minus_cos / a_circular)
            minor, sigma_eff = _effective_radius(lon, lat, lon_0, lat_0, phi, sigma_rad, e)
            a_eff = 2.0 * np.sin(0.5 * sigma_eff) ** 2
            norm_elongated = 1.0 / (2.0 * np.pi * sigma_rad * minor)
            circular = np.asarray(e) == 0
            a = np.where(circular, a_circular, a_eff)
            norm = np.where(circular, norm_circular, norm_elongated)
            return norm * np.exp(-half_one_minus_cos / a)

    def _radius_deg(self, p):
        return 5.0 * p["sigma"]

    def _bin_size_deg(self, p):
        # Gammapy uses sigma / 3; the minor axis resolves elongated models too.
        return p["sigma"] * np.sqrt(1.0 - np.asarray(p["e"]) ** 2) / 3.0

    def to_region(self, x_sigma: float = 1.5, **kwargs):
        """`CircleSkyRegion` (``e = 0``) or `EllipseSkyRegion` of ``x_sigma`` widths."""
        major = x_sigma * self.sigma.quantity
        minor = major * np.sqrt(1.0 - self.e.value**2)
        return _circle_or_ellipse(self.position, major, minor, self.phi.quantity, self.e.value)


def _disk_norm(r_0, e):
    """1 / solid angle of the spherical ellipse of semi-major ``r_0`` (rad), eccentricity ``e``.

    Gammapy's integral ``2 int_0^pi 1 - sqrt(1 - 1/(A cos^2 x + B sin^2 x)) dx``
    with ``A = 1/sin^2 r_0``, ``B = 1/sin^2 r_minor``, evaluated with the
    midpoint rule, which converges exponentially for this periodic integrand.
    """
    r_0 = np.asarray(r_0, dtype=float)
    e = np.asarray(e, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if np.all(e == 0):
            return 1.0 / (4.0 * np.pi * np.sin(0.5 * r_0) ** 2)  # 1 / (2 pi (1 - cos r_0))
        ratio = np.sqrt(1.0 - e**2)
        smallest = max(float(np.min(ratio)), 1e-3)
        n_nodes = int(min(max(np.ceil(40.0 / smallest), 64), 40000))
        x = (np.arange(n_nodes) + 0.5) * (np.pi / n_nodes)
        r_0 = r_0[..., None]
        minor = r_0 * ratio[..., None]
        r2 = 1.0 / (np.cos(x) ** 2 / np.sin(r_0) ** 2 + np.sin(x) ** 2 / np.sin(minor) ** 2)
        integrand = r2 / (1.0 + np.sqrt(1.0 - r2))  # 1 - sqrt(1 - r2) without cancellation
        area = 2.0 * np.pi * np.mean(integrand, axis=-1)
        return 1.0 / area


@register_model
class DiskSpatialModel(SpatialModel):
    """Uniform disk (or ellipse) with Gammapy's smooth edge.

    ``phi(lon, lat) = N * 0.5 * erfc(2.326 (theta - r_eff) / (r_0 * edge_width))``
    where ``r_eff`` is the ellipse radius towards the point (``r_0`` when
    ``e = 0``) and ``N`` is one over the solid angle of the (sharp) spherical
    ellipse. The edge drops from 95 % to 5 % over ``edge_width * r_0``.

    Parameters
    ----------
    lon_0, lat_0 : `~astropy.units.Quantity`
        Centre (deg).
    r_0 : `~astropy.units.Quantity`
        Radius (semi-major axis), default 1 deg.
    e : float
        Eccentricity in [0, 1], default 0 (frozen).
    phi : `~astropy.units.Quantity`
        Position angle of the major axis, east of north (frozen).
    edge_width : float
        Edge width as a fraction of ``r_0``, in [0, 1], default 0.01 (frozen).
    frame : {"icrs", "galactic"}

    Examples
    --------
    >>> from fluxfit.models import DiskSpatialModel
    >>> disk = DiskSpatialModel(r_0="0.3 deg")
    >>> disk.evaluation_radius
    <Quantity 0.3333 deg>
    """

    tag = ("DiskSpatialModel", "disk")
    _parameter_specs = (
        _LON_0,
        _LAT_0,
        ParameterSpec("r_0", 1.0, "deg", min=0.0),
        ParameterSpec("e", 0.0, min=0.0, max=1.0, frozen=True),
        ParameterSpec("phi", 0.0, "deg", frozen=True),
        ParameterSpec("edge_width", 0.01, min=0.0, max=1.0, frozen=True),
    )

    @staticmethod
    def evaluate(lon, lat, lon_0, lat_0, r_0, e, phi, edge_width):
        sep = np.radians(angular_separation(lon, lat, lon_0, lat_0))
        r_0_rad = np.radians(r_0)
        if np.all(np.asarray(e) == 0):
            r_eff = r_0_rad
        else:
            r_eff = _effective_radius(lon, lat, lon_0, lat_0, phi, r_0_rad, e)[1]
            r_eff = np.where(np.asarray(e) == 0, r_0_rad, r_eff)
        norm = _disk_norm(r_0_rad, e)
        width = r_0_rad * np.asarray(edge_width, dtype=float)
        x = sep - r_eff
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            smooth = 0.5 * erfc(_EDGE_WIDTH_95 * x / np.where(width > 0, width, 1.0))
            sharp = np.where(x < 0, 1.0, np.where(x > 0, 0.0, 0.5))
            return norm * np.where(width > 0, smooth, sharp)

    def _radius_deg(self, p):
        # Gammapy: 1.1 r_0 (1 + edge_width)
        return 1.1 * p["r_0"] * (1.0 + np.asarray(p["edge_width"]))

    def _bin_size_deg(self, p):
        # Gammapy: r_0 (1 - edge_width) / 10
        return p["r_0"] * (1.0 - np.asarray(p["edge_width"])) / 10.0

    def to_region(self, **kwargs):
        """`CircleSkyRegion` (``e = 0``) or `EllipseSkyRegion` of radius ``r_0``."""
        major = self.r_0.quantity
        minor = major * np.sqrt(1.0 - self.e.value**2)
        return _circle_or_ellipse(self.position, major, minor, self.phi.quantity, self.e.value)


def _shell_profile(sep, r_in, r_out):
    """Gammapy's projected uniform shell (all in rad), normalised in the small-angle limit."""
    outer = np.sqrt(np.clip(r_out**2 - sep**2, 0.0, None))
    inner = np.sqrt(np.clip(r_in**2 - sep**2, 0.0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        norm = 3.0 / (2.0 * np.pi * (r_out**3 - r_in**3))
        return norm * (outer - inner)


@register_model
class ShellSpatialModel(SpatialModel):
    r"""Projection of a uniformly emitting spherical shell (Gammapy's formula).

    .. math::
        \phi(\theta) = \frac{3}{2\pi (r_{out}^3 - r_{in}^3)}
        \begin{cases}
            \sqrt{r_{out}^2 - \theta^2} - \sqrt{r_{in}^2 - \theta^2} & \theta < r_{in} \\
            \sqrt{r_{out}^2 - \theta^2} & r_{in} \le \theta \le r_{out} \\
            0 & \theta > r_{out}
        \end{cases}

    with ``r_in = radius``, ``r_out = radius + width`` (angles in rad; the
    normalisation is exact in the small-angle limit).

    Parameters
    ----------
    lon_0, lat_0 : `~astropy.units.Quantity`
        Centre (deg).
    radius : `~astropy.units.Quantity`
        Inner radius, default 1 deg.
    width : `~astropy.units.Quantity`
        Shell width, default 0.2 deg.
    frame : {"icrs", "galactic"}

    Examples
    --------
    >>> from fluxfit.models import ShellSpatialModel
    >>> shell = ShellSpatialModel(radius="0.5 deg", width="0.1 deg")
    >>> type(shell.to_region()).__name__
    'CircleAnnulusSkyRegion'
    """

    tag = ("ShellSpatialModel", "shell")
    _parameter_specs = (
        _LON_0,
        _LAT_0,
        ParameterSpec("radius", 1.0, "deg", min=0.0),
        ParameterSpec("width", 0.2, "deg", min=0.0),
    )

    @staticmethod
    def evaluate(lon, lat, lon_0, lat_0, radius, width):
        sep = np.radians(angular_separation(lon, lat, lon_0, lat_0))
        r_in = np.radians(radius)
        return _shell_profile(sep, r_in, r_in + np.radians(width))

    def _radius_deg(self, p):
        return p["radius"] + p["width"]

    def _bin_size_deg(self, p):
        return p["width"]

    def to_region(self, **kwargs):
        """`CircleAnnulusSkyRegion` from ``radius`` to ``radius + width``."""
        from regions import CircleAnnulusSkyRegion

        return CircleAnnulusSkyRegion(
            center=self.position,
            inner_radius=self.radius.quantity,
            outer_radius=self.radius.quantity + self.width.quantity,
            **kwargs,
        )


@register_model
class Shell2SpatialModel(SpatialModel):
    """Shell with outer radius ``r_0`` and relative width ``eta`` (Gammapy's Shell2).

    Same profile as `ShellSpatialModel` with ``r_out = r_0`` and
    ``r_in = r_0 (1 - eta)``.

    Parameters
    ----------
    lon_0, lat_0 : `~astropy.units.Quantity`
        Centre (deg).
    r_0 : `~astropy.units.Quantity`
        Outer radius, default 1 deg.
    eta : float
        Width relative to ``r_0``, in [0.02, 1], default 0.2.
    frame : {"icrs", "galactic"}

    Examples
    --------
    >>> from fluxfit.models import Shell2SpatialModel
    >>> Shell2SpatialModel(r_0="0.6 deg", eta=0.5).evaluation_radius
    <Quantity 0.6 deg>
    """

    tag = ("Shell2SpatialModel", "shell2")
    _parameter_specs = (
        _LON_0,
        _LAT_0,
        ParameterSpec("r_0", 1.0, "deg", min=0.0),
        ParameterSpec("eta", 0.2, min=0.02, max=1.0),
    )

    @staticmethod
    def evaluate(lon, lat, lon_0, lat_0, r_0, eta):
        sep = np.radians(angular_separation(lon, lat, lon_0, lat_0))
        r_out = np.radians(r_0)
        return _shell_profile(sep, r_out * (1.0 - eta), r_out)

    def _radius_deg(self, p):
        return p["r_0"]

    def _bin_size_deg(self, p):
        return p["r_0"] * np.asarray(p["eta"])

    def to_region(self, **kwargs):
        """`CircleAnnulusSkyRegion` from ``r_0 (1 - eta)`` to ``r_0``."""
        from regions import CircleAnnulusSkyRegion

        return CircleAnnulusSkyRegion(
            center=self.position,
            inner_radius=self.r_0.quantity * (1.0 - self.eta.value),
            outer_radius=self.r_0.quantity,
            **kwargs,
        )


@register_model
class ConstantSpatialModel(SpatialModel):
    """Spatially constant density ``value`` (sr^-1), e.g. an isotropic background.

    It has no position, is not normalised over the sphere (the integral is
    ``4 pi value``), writes no ``frame`` key and has no region.

    Parameters
    ----------
    value : `~astropy.units.Quantity`
        Density, default 1 sr-1 (frozen).

    Examples
    --------
    >>> import astropy.units as u
    >>> from fluxfit.models import ConstantSpatialModel
    >>> ConstantSpatialModel(value="2 sr-1")(0 * u.deg, 10 * u.deg)
    <Quantity 2. 1 / sr>
    """

    tag = ("ConstantSpatialModel",)
    _has_position = False
    _parameter_specs = (ParameterSpec("value", 1.0, "sr-1", frozen=True),)

    @staticmethod
    def evaluate(lon, lat, value):
        return value * np.ones(np.shape(lon))

    def to_region(self, **kwargs):
        """None: the model covers the whole sky."""
        return None

    def to_dict(self, full_output: bool = False) -> dict:
        data = super().to_dict(full_output)
        data.pop("frame")
        return data
