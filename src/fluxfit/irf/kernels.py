"""PSF and energy-dispersion maps of map datasets, and the kernels a model is folded with.

A map dataset stores its instrument response as maps (Gammapy layout, see
`fluxfit.maps.read_map_hdus`):

* ``PSF`` -- the PSF density (sr^-1) on axes ``rad`` x ``energy_true``, on a coarse
  sky grid (a WCS map) or for one position (a region map), with ``PSF_EXPOSURE``.
* ``EDISP`` -- either a kernel map on axes ``energy`` x ``energy_true`` (probability
  from each true-energy bin to each reconstructed-energy bin) or a migration map
  on axes ``migra`` x ``energy_true`` (density in ``E_reco / E_true``), with
  ``EDISP_EXPOSURE``.

`PSFMap.get_psf_kernel` turns the PSF map into a convolution kernel per true-energy
bin of a dataset geometry, at a source position, and `EDispKernelMap` /
`EDispMap` give the ``(n_true, n_reco)`` dispersion matrix at a position. Both
follow Gammapy 2.1 (``PSFMap.get_psf_kernel``, ``EDispKernelMap.get_edisp_kernel``,
``EDispMap.to_edisp_kernel_map``) number for number, so that predicted counts agree:

* Containment radii integrate the PSF table on its own ``rad`` nodes (cumulative
  sum of ``2 pi r PSF(r) dr`` with node-axis bin widths, evaluated by linear
  interpolation on a 20x finer ``rad`` grid).
* The kernel is ``round_up_to_odd(2 R / binsz)`` pixels wide, ``R`` the largest
  99.9 % containment radius over the PSF's energy nodes; each energy plane is
  evaluated (PSF linearly interpolated in ``rad`` and ``log E``) at sub-pixel
  centres (up to 4x4 per pixel, so that the pixel half-width resolves the 68 %
  radius 12 times) inside a square of odd width ``2 R_i`` and summed per pixel,
  then normalised to 1. Gammapy 2.1 takes ``R_i`` from the i-th PSF energy node
  for the i-th plane of the dataset (not the radius at the plane's energy); we do
  the same, and use ``R`` for planes beyond the PSF's nodes (where Gammapy's kernel
  would be empty).
* Kernel maps are read at the nearest pixel; migration maps are integrated over
  the reconstructed-energy bins (cumulative sum interpolated in ``migra``, values
  below 1e-8 set to 0).

This module imports only `fluxfit.maps` and `fluxfit.errors`.

Examples
--------
>>> from fluxfit.maps import read_map_hdus
>>> # maps = read_map_hdus("Fermi-LAT-3FHL_data_Fermi-LAT.fits")
>>> # psf = PSFMap(maps["PSF"], maps.get("PSF_EXPOSURE"))
>>> # kernel = psf.get_psf_kernel(maps["EXPOSURE"].geom, position=(83.63, 22.01, "icrs"))
>>> # kernel.data.shape  -> (5, 47, 47): one normalised image per true-energy bin
"""

from __future__ import annotations

import numpy as np
from astropy import units as u

from fluxfit.errors import DatasetError, FormatError

__all__ = [
    "PSFMap",
    "PSFKernel",
    "EDispKernelMap",
    "EDispMap",
    "diagonal_edisp_matrix",
    "position_lonlat",
    "round_up_to_odd",
    "PSF_CONTAINMENT",
]

#: Containment fraction that sets the kernel size (Gammapy's ``PSF_CONTAINMENT``).
PSF_CONTAINMENT = 0.999
#: Largest sub-pixel factor used to build kernels (Gammapy's ``PSF_MAX_OVERSAMPLING``).
PSF_MAX_OVERSAMPLING = 4
#: Pixel half-width vs 68 % radius precision factor (Gammapy's default 12).
PSF_PRECISION_FACTOR = 12
#: Up-sampling of the ``rad`` axis when searching containment radii (Gammapy: 20).
CONTAINMENT_RAD_FACTOR = 20
#: Dispersion probabilities below this are set to 0 (Gammapy's migration-map threshold).
EDISP_THRESHOLD = 1e-8


# --------------------------------------------------------------------------- helpers
def round_up_to_odd(value):
    """Smallest odd integer >= ``value`` (Gammapy's ``round_up_to_odd``), as int array."""
    return (np.ceil(value) // 2 * 2 + 1).astype(int)


def position_lonlat(position, frame: str | None = None):
    """``(lon, lat)`` in deg in ``frame`` of a SkyCoord or a ``(lon, lat, frame)`` tuple."""
    if hasattr(position, "transform_to"):
        coord = position if frame is None else position.transform_to(frame)
        sph = coord.represent_as("unitspherical")
        return float(sph.lon.deg), float(sph.lat.deg)
    try:
        lon, lat, pos_frame = position
    except (TypeError, ValueError):
        raise DatasetError(
            f"position must be a SkyCoord or (lon_deg, lat_deg, frame), got {position!r}"
        ) from None
    lon, lat = float(lon), float(lat)
    if frame is None or frame == pos_frame:
        return lon, lat
    from astropy.coordinates import SkyCoord

    coord = SkyCoord(lon, lat, unit="deg", frame=pos_frame).transform_to(frame)
    sph = coord.represent_as("unitspherical")
    return float(sph.lon.deg), float(sph.lat.deg)


def _separation_deg(lon1, lat1, lon2, lat2):
    """Great-circle distance in deg (Vincenty formula, as astropy)."""
    lon1, lat1, lon2, lat2 = (np.radians(v) for v in (lon1, lat1, lon2, lat2))
    sdlon, cdlon = np.sin(lon2 - lon1), np.cos(lon2 - lon1)
    slat1, slat2 = np.sin(lat1), np.sin(lat2)
    clat1, clat2 = np.cos(lat1), np.cos(lat2)
    num1 = clat2 * sdlon
    num2 = clat1 * slat2 - slat1 * clat2 * cdlon
    denominator = slat1 * slat2 + clat1 * clat2 * cdlon
    return np.degrees(np.arctan2(np.hypot(num1, num2), denominator))


def _scale(values, interp):
    values = np.asarray(values, dtype=float)
    if interp == "log":
        return np.log(np.clip(values, np.finfo(float).tiny, None))
    if interp == "sqrt":
        return np.sqrt(values)
    return values


def _unscale(values, interp):
    if interp == "log":
        return np.exp(values)
    if interp == "sqrt":
        return values**2
    return values


def _node_edges(nodes, interp="lin"):
    """Bin edges of a node axis as Gammapy defines them: half-way in the scaled
    coordinate, the outer edges extrapolated by half the first/last step."""
    scaled = _scale(nodes, interp)
    if scaled.size == 1:
        return _unscale(np.array([scaled[0] - 0.5, scaled[0] + 0.5]), interp)
    inner = 0.5 * (scaled[:-1] + scaled[1:])
    first = scaled[0] - 0.5 * (scaled[1] - scaled[0])
    last = scaled[-1] + 0.5 * (scaled[-1] - scaled[-2])
    return _unscale(np.concatenate([[first], inner, [last]]), interp)


def _linear_weights(grid, x):
    """Indices ``i`` and weights ``w`` of linear interpolation (and extrapolation) of
    ``x`` on the increasing ``grid``: value = v[i] (1 - w) + v[i + 1] w."""
    x = np.asarray(x, dtype=float)
    if grid.size == 1:
        return np.zeros(x.shape, dtype=int), np.zeros(x.shape)
    idx = np.clip(np.searchsorted(grid, x) - 1, 0, grid.size - 2)
    x0, x1 = grid[idx], grid[idx + 1]
    return idx, (x - x0) / (x1 - x0)


def _interp_axis(values, grid, x, axis):
    """Linear interpolation of ``values`` along ``axis`` at ``x`` (extrapolating)."""
    values = np.moveaxis(values, axis, 0)
    idx, w = _linear_weights(grid, x)
    if grid.size == 1:
        out = np.broadcast_to(values[0], x.shape + values.shape[1:])
    else:
        w = w.reshape(w.shape + (1,) * (values.ndim - 1))
        out = values[idx] * (1.0 - w) + values[idx + 1] * w
    return out


def _axis_nodes(axis, unit):
    """Node (centre) values of a map axis as floats in ``unit``."""
    return np.asarray(u.Quantity(axis.center).to_value(unit), dtype=float)


def _axis_edges(axis, unit):
    return np.asarray(u.Quantity(axis.edges).to_value(unit), dtype=float)


def _is_region(geom) -> bool:
    return bool(getattr(geom, "is_region", False))


def _spatial_weights(geom, position):
    """Pixel indices and bilinear weights of ``position`` in a (coarse) IRF map's image.

    Returns ``[(j, i, weight), ...]``. Region maps have one pixel. Axes with one
    pixel are ignored; positions outside the grid are extrapolated linearly
    between the two outermost pixel centres (Gammapy's interpolator).
    """
    if _is_region(geom):
        return [(0, 0, 1.0)]
    lon, lat = position_lonlat(position, geom.frame)
    x, y = geom.wcs.world_to_pixel_values(lon, lat)
    nx, ny = geom.npix
    x, y = float(np.nan_to_num(x)), float(np.nan_to_num(y))
    ix, wx = _linear_weights(np.arange(nx, dtype=float), np.array(x))
    iy, wy = _linear_weights(np.arange(ny, dtype=float), np.array(y))
    ix, wx, iy, wy = int(ix), float(wx), int(iy), float(wy)
    xs = [(ix, 1.0)] if nx == 1 else [(ix, 1.0 - wx), (ix + 1, wx)]
    ys = [(iy, 1.0)] if ny == 1 else [(iy, 1.0 - wy), (iy + 1, wy)]
    return [(j, i, a * b) for j, a in ys for i, b in xs if a * b != 0.0]


def _nearest_pixel(geom, position):
    """``(j, i)`` of the pixel nearest to ``position`` (0, 0 for region maps)."""
    if _is_region(geom):
        return 0, 0
    lon, lat = position_lonlat(position, geom.frame)
    x, y = geom.wcs.world_to_pixel_values(lon, lat)
    nx, ny = geom.npix
    i = int(np.clip(np.floor(np.nan_to_num(x) + 0.5), 0, nx - 1))
    j = int(np.clip(np.floor(np.nan_to_num(y) + 0.5), 0, ny - 1))
    return j, i


def _default_position(geom):
    if _is_region(geom):
        if geom.region is None:
            return (0.0, 0.0, "icrs")
        return geom.center_skydir
    return geom.center_skydir


# ------------------------------------------------------------------------------ PSF
class PSFKernel:
    """A PSF convolution kernel: one normalised image per true-energy bin.

    Parameters
    ----------
    data : array (n_energy, ny, nx)
        Kernel images (odd sizes, centred); each is normalised to sum 1 unless
        ``normalize=False``.
    binsz : float
        Pixel size in deg (must match the maps it is convolved with).
    energy_true_edges : Quantity, optional
        Edges of the true-energy bins the images belong to.

    Examples
    --------
    >>> import numpy as np
    >>> from fluxfit.irf.kernels import PSFKernel
    >>> kernel = PSFKernel(np.ones((2, 3, 3)), binsz=0.1)
    >>> float(kernel.data[0].sum())
    1.0
    """

    def __init__(self, data, binsz: float, energy_true_edges=None, normalize: bool = True):
        data = np.array(data, dtype=np.float64)
        if data.ndim == 2:
            data = data[None]
        if data.ndim != 3 or data.shape[1] % 2 == 0 or data.shape[2] % 2 == 0:
            raise DatasetError(
                f"PSFKernel: data must be (n_energy, ny, nx) with odd ny, nx; got {data.shape}"
            )
        if normalize:
            with np.errstate(invalid="ignore", divide="ignore"):
                data = data / data.sum(axis=(1, 2), keepdims=True)
            data = np.nan_to_num(data)
        self.data = data
        self.binsz = float(binsz)
        self.energy_true_edges = energy_true_edges

    @property
    def shape(self):
        return self.data.shape

    @property
    def width_deg(self) -> float:
        """Largest side of the kernel (deg)."""
        return float(max(self.data.shape[1:]) * self.binsz)

    def convolve(self, images):
        """Convolve ``images`` plane by plane (``mode="same"``, as Gammapy).

        ``images`` has shape (..., n, ny, nx) with ``n`` the number of kernel planes
        or 1 (one image convolved with every plane); the result (..., n_energy, ny, nx).
        """
        from scipy.signal import fftconvolve

        images = np.asarray(images, dtype=float)
        if images.ndim == 2:
            images = images[None]
        kernel = self.data.reshape((1,) * (images.ndim - 3) + self.data.shape)
        if images.shape[-3] == 1 and self.data.shape[0] > 1:
            images = np.broadcast_to(
                images, images.shape[:-3] + (self.data.shape[0],) + images.shape[-2:]
            )
        return fftconvolve(images, kernel, mode="same", axes=(-2, -1))

    def __repr__(self) -> str:
        return f"PSFKernel(shape={self.data.shape}, binsz={self.binsz:g} deg)"


class PSFMap:
    """PSF density (sr^-1) on ``rad`` x ``energy_true`` axes, per sky pixel or for one position.

    Parameters
    ----------
    psf_map : `~fluxfit.maps.Map`
        The ``PSF`` map (axes ``rad`` and ``energy_true``; WCS or region geometry).
    exposure_map : `~fluxfit.maps.Map`, optional
        The ``PSF_EXPOSURE`` map (used to weight stacking).

    Examples
    --------
    >>> from fluxfit.irf.kernels import PSFMap
    >>> # psf = PSFMap(maps["PSF"], maps["PSF_EXPOSURE"])
    >>> # psf.containment_radius(0.68, [0.01, 0.1] * u.TeV, position)   -> Angle
    """

    def __init__(self, psf_map, exposure_map=None):
        names = psf_map.geom.axes.names
        if "rad" not in names or "energy_true" not in names:
            raise FormatError(f"PSF map needs axes 'rad' and 'energy_true', got {names}")
        self.psf_map = psf_map
        self.exposure_map = exposure_map
        geom = psf_map.geom
        self._rad_axis = geom.axes["rad"]
        self._energy_axis = geom.axes["energy_true"]
        self._rad = _axis_nodes(self._rad_axis, "rad")
        self._energy = _axis_nodes(self._energy_axis, "TeV")
        data = np.asarray(psf_map.quantity.to_value("sr-1"), dtype=float)
        # data axes: non-spatial axes reversed, then (ny, nx); bring to (n_e, n_rad, ny, nx)
        order = [names[::-1].index("energy_true"), names[::-1].index("rad")]
        n_axes = len(names)
        order += [i for i in range(n_axes) if i not in order] + [n_axes, n_axes + 1]
        data = np.transpose(data, order)
        self._data = data.reshape(self._energy.size, self._rad.size, *data.shape[-2:])
        self._tables: dict = {}

    # ----------------------------------------------------------- properties
    @property
    def energy_true(self) -> u.Quantity:
        """Energy nodes of the PSF table."""
        return u.Quantity(self._energy, "TeV")

    @property
    def has_single_spatial_bin(self) -> bool:
        return self._data.shape[-2:] == (1, 1)

    @property
    def geom(self):
        return self.psf_map.geom

    def _valid_position(self, position):
        """Gammapy's ``_get_nearest_valid_position``: a position where the PSF is defined."""
        if self.has_single_spatial_bin:
            return position
        valid = np.any(self._data > 0, axis=(0, 1))
        j, i = _nearest_pixel(self.geom, position)
        if valid[j, i] or not valid.any():
            return position
        jj, ii = np.nonzero(valid)
        lon, lat = position_lonlat(position, self.geom.frame)
        coords = self.geom.wcs.pixel_to_world_values(ii, jj)
        sep = _separation_deg(lon, lat, coords[0], coords[1])
        k = int(np.argmin(sep))
        return (float(coords[0][k]), float(coords[1][k]), self.geom.frame)

    def table_at(self, position=None) -> np.ndarray:
        """PSF (sr^-1) at ``position``, array (n_energy_nodes, n_rad_nodes).

        Bilinear in the pixel coordinates of the PSF map (Gammapy's interpolation);
        the same table for every position when the map has one spatial bin.
        """
        if self.has_single_spatial_bin:
            return self._data[:, :, 0, 0]
        if position is None:
            position = self.geom.center_skydir
        key = position_lonlat(position, self.geom.frame)
        table = self._tables.get(key)
        if table is None:
            table = 0.0
            for j, i, weight in _spatial_weights(self.geom, position):
                table = table + weight * self._data[:, :, j, i]
            table = np.asarray(table, dtype=float)
            if len(self._tables) > 64:
                self._tables.clear()
            self._tables[key] = table
        return table

    # ---------------------------------------------------------- containment
    def _cumulative(self, table):
        """Containment on rad nodes ``edges[1:]``: cumsum of 2 pi r PSF dr (Gammapy's cumsum)."""
        edges = _node_edges(self._rad, self._rad_axis.interp)
        widths = np.diff(edges)
        values = table * (2.0 * np.pi * self._rad * widths)[None, :]
        return np.cumsum(values, axis=1), edges[1:]

    def _containment_table(self, table, rad, energy):
        """Containment at rad (n_rad_q,) [rad] x energy (n_e,) [TeV] -> (n_rad_q, n_e)."""
        cumulative, rad_nodes = self._cumulative(table)
        e_interp = self._energy_axis.interp
        e_grid = _scale(self._energy, e_interp)
        e_query = _scale(energy, e_interp)
        # interpolate along energy first: (n_e_query, n_rad_nodes)
        by_energy = _interp_axis(cumulative, e_grid, e_query, axis=0)
        # then along rad: (n_rad_q, n_e_query)
        values = _interp_axis(by_energy, rad_nodes, rad, axis=1)
        values = np.clip(values, 0.0, None)
        # out of the axes' edges: 0 (Gammapy's fill_value)
        e_edges = _scale(_node_edges(self._energy, e_interp), e_interp)
        r_edges = _node_edges(rad_nodes, self._rad_axis.interp)
        e_out = (e_query < e_edges[0]) | (e_query > e_edges[-1])
        r_out = (rad < r_edges[0]) | (rad > r_edges[-1])
        values[:, e_out] = 0.0
        values[r_out, :] = 0.0
        return values

    def containment(self, rad, energy_true, position=None) -> np.ndarray:
        """Fraction of the PSF within ``rad`` at ``energy_true`` (arrays broadcast to
        (n_rad, n_energy) when both are 1-D)."""
        rad = np.atleast_1d(u.Quantity(rad, "deg").to_value("rad")).ravel()
        energy = np.atleast_1d(u.Quantity(energy_true, "TeV").to_value("TeV")).ravel()
        position = self._valid_position(position) if position is not None else None
        return self._containment_table(self.table_at(position), rad, energy).squeeze()

    def _fine_rad(self):
        """The rad nodes up-sampled 20x (Gammapy's ``rad_axis.upsample(20).center``)."""
        n = self._rad.size
        pix = np.linspace(0.0, n - 1.0, (n - 1) * CONTAINMENT_RAD_FACTOR + 1)
        scaled = _scale(self._rad, self._rad_axis.interp)
        return _unscale(np.interp(pix, np.arange(n), scaled), self._rad_axis.interp)

    def containment_radius(self, fraction, energy_true, position=None) -> u.Quantity:
        """Radius (deg) containing ``fraction`` of the PSF at each ``energy_true``.

        As Gammapy: the containment is evaluated on the ``rad`` nodes up-sampled 20
        times and the node closest to ``fraction`` is returned.
        """
        energy = np.atleast_1d(u.Quantity(energy_true, "TeV").to_value("TeV")).ravel()
        if position is not None:
            position = self._valid_position(position)
        table = self.table_at(position)
        rad = self._fine_rad()
        values = self._containment_table(table, rad, energy)
        idx = np.argmin(np.abs(values - fraction), axis=0)
        return u.Quantity(np.degrees(rad[idx]), "deg")

    # --------------------------------------------------------------- kernel
    def upsampling_factors(self, geom, position, energy_true=None):
        """Sub-pixel factor per plane: ceil(12 / (2 R68 / binsz)), at most 4 (Gammapy)."""
        if energy_true is None:
            energy_true = geom.axes["energy_true"].center
        r68 = self.containment_radius(0.68, energy_true, position).to_value("deg")
        binsz = float(np.max(geom.pixel_scales.deg))
        base = 2.0 * r68 / binsz
        with np.errstate(divide="ignore"):
            factors = np.ceil(PSF_PRECISION_FACTOR / base)
        return np.minimum(np.nan_to_num(factors, posinf=PSF_MAX_OVERSAMPLING), PSF_MAX_OVERSAMPLING)

    def get_psf_kernel(self, geom, position=None, max_radius=None, containment=PSF_CONTAINMENT):
        """The PSF kernel for the true-energy bins and pixels of ``geom`` at ``position``.

        Parameters
        ----------
        geom : `~fluxfit.maps.WcsGeom`
            Geometry with an ``energy_true`` axis (the dataset exposure's); the kernel
            is built in its projection around its centre, with its pixel size.
        position : SkyCoord or (lon, lat, frame), optional
            Where the PSF is read (default: the PSF map's centre).
        max_radius : Quantity, optional
            Kernel half-width; default the largest ``containment`` radius.
        containment : float
            Containment fraction that sets the kernel size (0.999).

        Returns
        -------
        `PSFKernel`
        """
        from fluxfit.maps import WcsGeom

        if _is_region(geom):
            geom = geom.to_wcs_geom()
        if position is None:
            position = _default_position(self.geom)
        position = self._valid_position(position)
        radii = self.containment_radius(containment, self.energy_true, position).to_value("deg")
        if max_radius is None:
            max_radius = float(np.max(radii))
        else:
            max_radius = float(u.Quantity(max_radius, "deg").value)
            radii = np.minimum(radii, max_radius)
        energy_axis = geom.axes["energy_true"]
        energy = _axis_nodes(energy_axis, "TeV")
        factors = self.upsampling_factors(geom, position, energy_axis.center)
        binsz = float(np.max(geom.pixel_scales.deg))
        image = geom.to_image()
        center = image.center_skydir
        npix = int(round_up_to_odd(2.0 * max_radius / binsz))
        kernel_geom = WcsGeom.create(
            skydir=center, binsz=binsz, npix=npix, proj=image.projection, frame=image.frame
        )
        c_lon, c_lat = position_lonlat(kernel_geom.center_skydir, image.frame)
        table = self.table_at(position)
        e_interp = self._energy_axis.interp
        e_grid = _scale(self._energy, e_interp)
        data = np.zeros((energy.size, npix, npix))
        for idx in range(energy.size):
            # Gammapy 2.1 pairs plane idx with the idx-th PSF node's radius
            radius = radii[idx] if idx < radii.size else max_radius
            n_cut = int(round_up_to_odd(2.0 * radius / binsz))
            factor = int(factors[idx])
            cut = WcsGeom.create(
                skydir=kernel_geom.center_skydir,
                binsz=binsz,
                npix=n_cut,
                proj=image.projection,
                frame=image.frame,
            )
            sub = (np.arange(n_cut * factor) + 0.5) / factor - 0.5
            x, y = np.meshgrid(sub, sub)
            lon, lat = cut.wcs.pixel_to_world_values(x, y)
            rad = np.radians(_separation_deg(c_lon, c_lat, lon, lat))
            psf_e = _interp_axis(table, e_grid, _scale(np.array([energy[idx]]), e_interp), 0)[0]
            values = _interp_axis(psf_e, self._rad, rad.ravel(), 0).reshape(rad.shape)
            values = np.clip(values, 0.0, None)
            block = values.reshape(n_cut, factor, n_cut, factor).sum(axis=(1, 3))
            offset = (npix - n_cut) // 2
            if offset >= 0:
                data[idx, offset : offset + n_cut, offset : offset + n_cut] = block
            else:
                data[idx] = block[-offset : -offset + npix, -offset : -offset + npix]
        return PSFKernel(data, binsz=binsz, energy_true_edges=energy_axis.edges)

    # ------------------------------------------------------------------ misc
    def copy(self):
        return PSFMap(
            self.psf_map.copy(), None if self.exposure_map is None else self.exposure_map.copy()
        )

    def to_maps(self) -> dict:
        """``{"PSF": map, "PSF_EXPOSURE": map}`` for writing."""
        out = {"PSF": self.psf_map}
        if self.exposure_map is not None:
            out["PSF_EXPOSURE"] = self.exposure_map
        return out

    def __repr__(self) -> str:
        return (
            f"PSFMap(energy_true nodes={self._energy.size}, rad nodes={self._rad.size}, "
            f"spatial={self._data.shape[-2:]})"
        )


# ------------------------------------------------------------------------ EDISP
def diagonal_edisp_matrix(energy_true_edges, energy_edges) -> np.ndarray:
    """Ideal dispersion: fraction of each true-energy bin inside each reconstructed bin
    (Gammapy's ``EDispKernel.from_diagonal_response``), array (n_true, n_reco)."""
    true = u.Quantity(energy_true_edges, "TeV").to_value("TeV")
    reco = u.Quantity(energy_edges, "TeV").to_value("TeV")
    lo_r, hi_r = reco[:-1][None, :], reco[1:][None, :]
    lo_t, hi_t = true[:-1][:, None], true[1:][:, None]
    overlap = np.clip(np.fmin(hi_r, hi_t) - np.fmax(lo_r, lo_t), 0.0, None)
    return overlap / (hi_t - lo_t)


class EDispKernelMap:
    """Dispersion kernels (true -> reconstructed energy bins) per sky pixel.

    Parameters
    ----------
    edisp_map : `~fluxfit.maps.Map`
        Axes ``energy`` and ``energy_true``; data (n_true, n_reco, ny, nx).
    exposure_map : `~fluxfit.maps.Map`, optional
        ``EDISP_EXPOSURE`` (used to weight stacking).
    """

    def __init__(self, edisp_map, exposure_map=None):
        names = edisp_map.geom.axes.names
        if "energy" not in names or "energy_true" not in names:
            raise FormatError(f"EDISP kernel map needs axes energy, energy_true; got {names}")
        self.edisp_map = edisp_map
        self.exposure_map = exposure_map
        data = np.asarray(edisp_map.data, dtype=float)
        rev = names[::-1]
        order = [rev.index("energy_true"), rev.index("energy")]
        n_axes = len(names)
        self._data = np.transpose(data, order + [n_axes, n_axes + 1])

    @property
    def energy_axis(self):
        return self.edisp_map.geom.axes["energy"]

    @property
    def energy_axis_true(self):
        return self.edisp_map.geom.axes["energy_true"]

    @property
    def geom(self):
        return self.edisp_map.geom

    @classmethod
    def from_diagonal_response(cls, energy_axis, energy_axis_true, geom=None):
        """An all-sky (2 x 1 pixel) map of ideal dispersion, as Gammapy creates it."""
        from fluxfit.maps import Map, WcsGeom

        energy_axis_true = energy_axis_true.copy(name="energy_true")
        energy_axis = energy_axis.copy(name="energy")
        if geom is None:
            geom = WcsGeom.create(
                npix=(2, 1), proj="CAR", binsz=180, axes=[energy_axis, energy_axis_true]
            )
        else:
            geom = geom.to_image().to_cube([energy_axis, energy_axis_true])
        matrix = diagonal_edisp_matrix(energy_axis_true.edges, energy_axis.edges)
        data = np.broadcast_to(matrix[:, :, None, None], geom.data_shape).copy()
        return cls(Map.from_geom(geom, data=data, unit="", dtype=float))

    def get_edisp_kernel(self, position=None, energy_axis=None) -> np.ndarray:
        """Dispersion matrix (n_true, n_reco) at the pixel nearest to ``position``."""
        if position is None:
            position = _default_position(self.geom)
        j, i = _nearest_pixel(self.geom, position)
        return self._data[:, :, j, i].copy()

    def copy(self):
        return EDispKernelMap(
            self.edisp_map.copy(), None if self.exposure_map is None else self.exposure_map.copy()
        )

    def to_maps(self) -> dict:
        out = {"EDISP": self.edisp_map}
        if self.exposure_map is not None:
            out["EDISP_EXPOSURE"] = self.exposure_map
        return out

    def __repr__(self) -> str:
        return f"EDispKernelMap(shape={self._data.shape})"


class EDispMap:
    """Energy migration density (``migra = E_reco / E_true``) per sky pixel.

    Parameters
    ----------
    edisp_map : `~fluxfit.maps.Map`
        Axes ``migra`` and ``energy_true``; data (n_true, n_migra, ny, nx).
    exposure_map : `~fluxfit.maps.Map`, optional
    """

    def __init__(self, edisp_map, exposure_map=None):
        names = edisp_map.geom.axes.names
        if "migra" not in names or "energy_true" not in names:
            raise FormatError(f"EDISP migration map needs axes migra, energy_true; got {names}")
        self.edisp_map = edisp_map
        self.exposure_map = exposure_map
        data = np.asarray(edisp_map.data, dtype=float)
        rev = names[::-1]
        order = [rev.index("energy_true"), rev.index("migra")]
        n_axes = len(names)
        self._data = np.transpose(data, order + [n_axes, n_axes + 1])
        self._migra_axis = edisp_map.geom.axes["migra"]

    @property
    def geom(self):
        return self.edisp_map.geom

    @property
    def energy_axis_true(self):
        return self.edisp_map.geom.axes["energy_true"]

    def get_edisp_kernel(self, energy_axis, position=None) -> np.ndarray:
        """Dispersion matrix (n_true, n_reco) for the reconstructed-energy bins of
        ``energy_axis`` at the pixel nearest to ``position``."""
        if position is None:
            position = _default_position(self.geom)
        j, i = _nearest_pixel(self.geom, position)
        density = self._data[:, :, j, i]  # (n_true, n_migra)
        # Gammapy's Map.integral: cumulative sum (0 first) on the migra edges, padded by
        # one node with the edge values, interpolated linearly in pixel coordinates
        axis = self._migra_axis
        interp = axis.interp
        edges = _axis_edges(axis, "")
        cumulative = np.concatenate(
            [np.zeros((density.shape[0], 1)), np.cumsum(density * np.diff(edges), axis=1)], axis=1
        )
        scaled = _scale(edges, interp)
        padded = np.concatenate(
            [[2 * scaled[0] - scaled[1]], scaled, [2 * scaled[-1] - scaled[-2]]]
        )
        cumulative = np.concatenate([cumulative[:, :1], cumulative, cumulative[:, -1:]], axis=1)
        energy_true = _axis_nodes(self.energy_axis_true, "TeV")
        reco_edges = _axis_edges(energy_axis, "TeV")
        migra_q = _scale(reco_edges[None, :] / energy_true[:, None], interp)  # (n_true, n_reco+1)
        out = np.empty_like(migra_q)
        for t in range(energy_true.size):
            idx, w = _linear_weights(padded, migra_q[t])
            out[t] = cumulative[t, idx] * (1.0 - w) + cumulative[t, idx + 1] * w
        matrix = np.clip(np.diff(out, axis=1), 0.0, None)
        matrix[matrix < EDISP_THRESHOLD] = 0.0
        return matrix

    def copy(self):
        return EDispMap(
            self.edisp_map.copy(), None if self.exposure_map is None else self.exposure_map.copy()
        )

    def to_maps(self) -> dict:
        out = {"EDISP": self.edisp_map}
        if self.exposure_map is not None:
            out["EDISP_EXPOSURE"] = self.exposure_map
        return out

    def __repr__(self) -> str:
        return f"EDispMap(shape={self._data.shape})"
