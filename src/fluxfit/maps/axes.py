"""`MapAxis`: a binned non-spatial map axis (energy, true energy, rad, migra...).

(The `MapAxes` container lives in `fluxfit.maps.map_axes` and is re-exported here.)

An axis is defined by node values that are either bin edges (``node_type="edges"``)
or bin centres (``node_type="center"``) and an interpolation scale (``lin``, ``log``,
``sqrt``) that maps coordinates to pixels: node ``i`` sits at pixel ``i`` (centres) or
``i - 0.5`` (edges), pixels are linear in the scaled coordinate. The nodes are kept as
a plain float64 array plus a unit; ``edges`` and ``center`` are cached Quantities.

Examples
--------
>>> from fluxfit.maps import MapAxis
>>> axis = MapAxis.from_energy_bounds("10 GeV", "2 TeV", nbin=5)
>>> axis.nbin, axis.unit.to_string()
(5, 'TeV')
>>> round(float(axis.center[0].to_value("GeV")), 3)
16.986
"""

from __future__ import annotations

import numpy as np
from astropy import units as u
from astropy.table import Column, Table

from fluxfit.errors import DatasetError, UnitError

from ._utils import (
    INVALID_INDEX,
    _check_interp,
    interp_extrapolate,
    scale_values,
    unscale_values,
)

__all__ = ["MapAxis", "MapAxes"]

ENERGY_AXIS_NAMES = ("energy", "energy_true")


def _to_unit(unit, what):
    try:
        return u.Unit(unit)
    except (ValueError, TypeError) as exc:
        raise UnitError(f"{what}: invalid unit {unit!r}") from exc


class MapAxis:
    """A binned non-spatial axis of a map.

    Parameters
    ----------
    nodes : array-like or `~astropy.units.Quantity`
        Node values (bin edges or bin centres, see ``node_type``), sorted and unique.
    interp : {"lin", "log", "sqrt"}
        Scale in which pixels are linear. Default "lin".
    name : str
        Axis name, e.g. ``"energy"``, ``"energy_true"``, ``"rad"``, ``"migra"``.
    node_type : {"edges", "center"}
        Whether ``nodes`` are bin edges (histogram-like data) or bin centres
        (sampled functions). Default "edges".
    unit : str or `~astropy.units.Unit`
        Unit of the nodes, ignored if ``nodes`` is a Quantity.
    boundary_type : {"monotonic", "periodic"}
        Periodic axes wrap coordinates into the axis range (``interp="lin"`` only).

    Examples
    --------
    >>> import numpy as np
    >>> from fluxfit.maps import MapAxis
    >>> axis = MapAxis.from_edges([1, 10, 100], unit="TeV", name="energy", interp="log")
    >>> axis.center.to_value("TeV").round(3).tolist()
    [3.162, 31.623]
    >>> axis.coord_to_idx([2, 50, 500] * axis.unit).tolist()
    [0, 1, -1]
    """

    def __init__(
        self,
        nodes,
        interp="lin",
        name="",
        node_type="edges",
        unit="",
        boundary_type="monotonic",
    ):
        if not isinstance(name, str):
            raise TypeError(f"MapAxis name must be a string, got {type(name).__name__}")
        if isinstance(nodes, u.Quantity):
            unit = nodes.unit
            nodes = nodes.value
        nodes = np.array(nodes, dtype=float, ndmin=1)
        if nodes.ndim != 1:
            raise DatasetError(f"MapAxis {name!r}: nodes must be 1D, got shape {nodes.shape}")
        if len(np.unique(nodes)) != len(nodes):
            raise DatasetError(f"MapAxis {name!r}: node values must be unique, got {nodes}")
        diffs = np.diff(nodes)
        if not (np.all(diffs > 0) or np.all(diffs < 0)):
            raise DatasetError(f"MapAxis {name!r}: node values must be sorted, got {nodes}")
        _check_interp(interp)
        if interp != "lin" and np.any(nodes < 0):
            raise DatasetError(
                f"MapAxis {name!r}: interp {interp!r} needs positive nodes, got {nodes}"
            )
        if node_type == "edges":
            if len(nodes) < 2:
                raise DatasetError(f"MapAxis {name!r}: at least two edges needed, got {nodes}")
            self._pix_offset = -0.5
            self._nbin = len(nodes) - 1
        elif node_type == "center":
            if len(nodes) < 1:
                raise DatasetError(f"MapAxis {name!r}: at least one node needed")
            self._pix_offset = 0.0
            self._nbin = len(nodes)
        else:
            raise DatasetError(
                f"MapAxis {name!r}: invalid node_type {node_type!r}, use 'edges' or 'center'"
            )
        if boundary_type not in ("monotonic", "periodic"):
            raise DatasetError(f"MapAxis {name!r}: invalid boundary_type {boundary_type!r}")
        if boundary_type == "periodic" and interp != "lin":
            raise DatasetError(f"MapAxis {name!r}: periodic axes need interp='lin'")

        self._name = name
        self._unit = _to_unit(unit, f"MapAxis {name!r}")
        self._nodes = nodes
        self._node_type = node_type
        self._interp = interp
        self._boundary_type = boundary_type
        self._nodes_scaled = scale_values(nodes, interp)
        self._cache = {}

    # ------------------------------------------------------------------ basic properties
    @property
    def name(self):
        """Axis name (str)."""
        return self._name

    @property
    def unit(self):
        """Unit of the axis coordinates (`~astropy.units.Unit`)."""
        return self._unit

    @property
    def interp(self):
        """Interpolation scale: ``lin``, ``log`` or ``sqrt``."""
        return self._interp

    @property
    def node_type(self):
        """``edges`` or ``center``."""
        return self._node_type

    @property
    def boundary_type(self):
        """``monotonic`` or ``periodic``."""
        return self._boundary_type

    @property
    def nbin(self):
        """Number of bins (int)."""
        return self._nbin

    @property
    def nodes(self):
        """Node values as a plain float array (edges or centres, see ``node_type``)."""
        return self._nodes

    @property
    def is_energy_axis(self):
        """Whether the axis is named ``energy`` or ``energy_true``."""
        return self.name in ENERGY_AXIS_NAMES

    def _cached(self, key, func):
        if key not in self._cache:
            self._cache[key] = func()
        return self._cache[key]

    @property
    def edges(self):
        """Bin edges (`~astropy.units.Quantity`, ``nbin + 1`` values, cached)."""

        def compute():
            if self._node_type == "edges":
                values = self._nodes.copy()
            else:
                values = self._pix_to_values(np.arange(self.nbin + 1, dtype=float) - 0.5)
            return u.Quantity(values, self._unit)

        return self._cached("edges", compute)

    @property
    def edges_min(self):
        """Lower bin edges (`~astropy.units.Quantity`)."""
        return self.edges[:-1]

    @property
    def edges_max(self):
        """Upper bin edges (`~astropy.units.Quantity`)."""
        return self.edges[1:]

    @property
    def bounds(self):
        """Lower and upper bound of the axis (Quantity of two values)."""
        edges = self.edges
        return u.Quantity([edges[0], edges[-1]])

    @property
    def center(self):
        """Bin centres (`~astropy.units.Quantity`, cached).

        For ``interp="log"`` edges-type axes these are the geometric means of the edges.
        """

        def compute():
            if self._node_type == "center":
                values = self._nodes.copy()
            else:
                values = self._pix_to_values(np.arange(self.nbin, dtype=float))
            return u.Quantity(values, self._unit)

        return self._cached("center", compute)

    @property
    def bin_width(self):
        """Bin widths (`~astropy.units.Quantity`)."""
        return self._cached("bin_width", lambda: np.diff(self.edges))

    @property
    def nbin_per_decade(self):
        """Number of bins per decade (log axes only)."""
        if self.interp != "log":
            raise DatasetError(f"MapAxis {self.name!r}: bins per decade need interp='log'")
        values = self.edges if self.node_type == "edges" else self.center
        return self.nbin / np.log10(values.value.max() / values.value.min())

    @property
    def iter_by_edges(self):
        """Iterate over ``(edge_min, edge_max)`` Quantity pairs."""
        yield from zip(self.edges[:-1], self.edges[1:])

    # ------------------------------------------------------------------ factories
    @classmethod
    def from_bounds(cls, lo_bnd, hi_bnd, nbin, **kwargs):
        """Axis with ``nbin`` bins between two bounds, spaced according to ``interp``.

        Parameters
        ----------
        lo_bnd, hi_bnd : float or `~astropy.units.Quantity`
            Lower and upper bound (edges of the outer bins, or centres of the outer bins
            if ``node_type="center"``).
        nbin : int
            Number of bins.
        **kwargs
            ``interp`` (default "lin"), ``name``, ``node_type``, ``unit``.

        Examples
        --------
        >>> from fluxfit.maps import MapAxis
        >>> MapAxis.from_bounds(1, 15, nbin=6, interp="log", unit="TeV").edges[-1]
        <Quantity 15. TeV>
        """
        nbin = int(nbin)
        interp = kwargs.setdefault("interp", "lin")
        node_type = kwargs.setdefault("node_type", "edges")
        if isinstance(lo_bnd, u.Quantity) or isinstance(hi_bnd, u.Quantity):
            unit = kwargs.get("unit") or u.Quantity(hi_bnd).unit
            kwargs["unit"] = unit
            lo_bnd = u.Quantity(lo_bnd).to_value(unit)
            hi_bnd = u.Quantity(hi_bnd).to_value(unit)
        nnode = nbin + 1 if node_type == "edges" else nbin
        if interp == "lin":
            nodes = np.linspace(lo_bnd, hi_bnd, nnode)
        elif interp == "log":
            nodes = np.geomspace(lo_bnd, hi_bnd, nnode)
        elif interp == "sqrt":
            nodes = np.linspace(lo_bnd**0.5, hi_bnd**0.5, nnode) ** 2.0
        else:
            raise DatasetError(f"Invalid interp {interp!r}")
        return cls(nodes, **kwargs)

    @classmethod
    def from_edges(cls, edges, **kwargs):
        """Axis from bin edges (``node_type="edges"``); kwargs: ``unit``, ``name``, ``interp``."""
        return cls(edges, node_type="edges", **kwargs)

    @classmethod
    def from_nodes(cls, nodes, **kwargs):
        """Axis from bin centres (``node_type="center"``); kwargs: ``unit``, ``name``, ``interp``."""
        return cls(nodes, node_type="center", **kwargs)

    @staticmethod
    def _check_energy_name(name):
        name = "energy" if name is None else name
        if name not in ENERGY_AXIS_NAMES:
            raise DatasetError(f"Energy axis name must be 'energy' or 'energy_true', got {name!r}")
        return name

    @staticmethod
    def _energy_quantity(value, unit, what):
        try:
            quantity = u.Quantity(value, unit)
        except (TypeError, ValueError) as exc:
            raise UnitError(f"{what}: cannot read {value!r} as an energy") from exc
        if not quantity.unit.is_equivalent("TeV"):
            raise UnitError(f"{what}: expected an energy unit, got {quantity.unit!s}")
        return quantity

    @classmethod
    def from_energy_bounds(
        cls,
        energy_min,
        energy_max,
        nbin,
        unit=None,
        per_decade=False,
        name="energy",
        node_type="edges",
        strict_bounds=True,
    ):
        """Log-spaced energy axis between two energies.

        Parameters
        ----------
        energy_min, energy_max : `~astropy.units.Quantity`, str or float
            Energy range (floats need ``unit``).
        nbin : int
            Number of bins, or bins per decade if ``per_decade``.
        unit : str, optional
            Axis unit; default the unit of ``energy_max``.
        per_decade : bool
            Interpret ``nbin`` per decade (rounded up to cover the range if
            ``strict_bounds``, else ``energy_max`` is lowered to a whole number of bins).
        name : {"energy", "energy_true"}
        node_type : {"edges", "center"}

        Examples
        --------
        >>> from fluxfit.maps import MapAxis
        >>> MapAxis.from_energy_bounds(1, 100, 5, unit="TeV", per_decade=True).nbin
        10
        """
        energy_min = cls._energy_quantity(energy_min, unit, "energy_min")
        energy_max = cls._energy_quantity(energy_max, unit, "energy_max")
        unit = energy_max.unit if unit is None else u.Unit(unit)
        energy_min = energy_min.to(unit)
        energy_max = energy_max.to(unit)
        ndecade = np.log10((energy_max / energy_min).to_value(""))
        if per_decade:
            if strict_bounds:
                nbin = np.ceil(ndecade * nbin)
            else:
                bin_per_decade = nbin
                nbin = np.floor(ndecade * bin_per_decade)
                if ndecade % (1 / bin_per_decade) != 0:
                    energy_max = energy_min * 10 ** (nbin / bin_per_decade)
        name = cls._check_energy_name(name)
        return cls.from_bounds(
            energy_min.value,
            energy_max.value,
            nbin=nbin,
            unit=unit,
            interp="log",
            name=name,
            node_type=node_type,
        )

    @classmethod
    def from_energy_edges(cls, energy_edges, unit=None, name=None, interp="log"):
        """Energy axis from explicit edges (Quantity, or floats with ``unit``).

        Examples
        --------
        >>> import astropy.units as u
        >>> from fluxfit.maps import MapAxis
        >>> MapAxis.from_energy_edges([10, 100, 2000] * u.GeV).nbin
        2
        """
        energy_edges = cls._energy_quantity(energy_edges, unit, "energy_edges")
        name = cls._check_energy_name(name)
        return cls.from_edges(energy_edges, interp=interp, name=name)

    # ------------------------------------------------------------------ coordinates
    def _pix_to_values(self, pix):
        """Pixel to plain coordinate values (axis unit), linear extrapolation."""
        pix = np.asarray(pix, dtype=float) - self._pix_offset
        n = len(self._nodes)
        if n == 1:
            out = np.full(pix.shape, self._nodes[0])
            out[~np.isfinite(pix)] = np.nan
            return out
        finite = np.isfinite(pix)
        p = np.where(finite, pix, 0.0)
        i0 = np.clip(np.floor(p), 0, n - 2).astype(int)
        x = self._nodes_scaled
        scaled = x[i0] + (p - i0) * (x[i0 + 1] - x[i0])
        values = unscale_values(scaled, self._interp)
        values = np.where(finite, values, np.nan)
        # exact node values where the pixel hits a node (no exp(log(x)) round-off)
        exact = finite & (p == np.round(p)) & (p >= 0) & (p <= n - 1)
        if np.any(exact):
            values[exact] = self._nodes[p[exact].astype(int)]
        return values

    def _coord_values(self, coord):
        """Coordinates (Quantity or floats in the axis unit) to plain float values."""
        if isinstance(coord, list | tuple) and any(isinstance(c, u.Quantity | str) for c in coord):
            coord = u.Quantity(coord)
        if isinstance(coord, u.Quantity):
            try:
                values = coord.to_value(self._unit)
            except u.UnitConversionError as exc:
                raise UnitError(
                    f"MapAxis {self.name!r}: coordinate unit {coord.unit!s} is not "
                    f"convertible to {self._unit!s}"
                ) from exc
        elif isinstance(coord, str):
            values = u.Quantity(coord).to_value(self._unit)
        else:
            values = coord
        values = np.array(values, dtype=float, ndmin=1)
        if self._boundary_type == "periodic":
            values = self._wrap(values)
        return values

    def _wrap(self, values):
        lo, hi = self.edges.value[0], self.edges.value[-1]
        out_of_range = (values >= hi) | (values < lo)
        return np.where(out_of_range, (values - lo) % (hi - lo) + lo, values)

    def pix_to_coord(self, pix):
        """Pixel coordinates to axis coordinates (Quantity in the axis unit)."""
        return u.Quantity(self._pix_to_values(pix), self._unit, copy=False)

    def coord_to_pix(self, coord):
        """Axis coordinates to pixel coordinates (float array, at least 1D).

        ``coord`` is a Quantity or plain values in the axis unit. Coordinates outside the
        axis are extrapolated linearly in the scaled coordinate.
        """
        values = self._coord_values(coord)
        scaled = scale_values(values, self._interp)
        pix_nodes = np.arange(len(self._nodes), dtype=float)
        pix = interp_extrapolate(scaled, self._nodes_scaled, pix_nodes)
        return pix + self._pix_offset

    def coord_to_idx(self, coord, clip=False):
        """Axis coordinates to bin indices (-1 outside the axis unless ``clip``).

        A coordinate exactly on the upper edge of the last bin is outside (bins are
        half-open ``[lo, hi)``).
        """
        values = self._coord_values(coord)
        edges = self.edges.value
        if edges[0] > edges[-1]:
            idx = self.nbin - np.digitize(values, edges[::-1])
        else:
            idx = np.digitize(values, edges) - 1
        if clip:
            idx = np.clip(idx, 0, self.nbin - 1)
        else:
            idx[(idx < 0) | (idx >= self.nbin)] = INVALID_INDEX
        idx[~np.isfinite(values)] = INVALID_INDEX
        return idx

    def pix_to_idx(self, pix, clip=False):
        """Pixel to index: clip to the valid range or set -1 outside."""
        pix = np.asarray(pix)
        if clip:
            return np.clip(pix, 0, self.nbin - 1)
        return np.where((pix < 0) | (pix >= self.nbin), INVALID_INDEX, pix)

    def round(self, coord, clip=False):
        """Round coordinates to the nearest bin edge (Quantity)."""
        edges_pix = self.coord_to_pix(coord)
        if clip:
            edges_pix = np.clip(edges_pix, -0.5, self.nbin - 0.5)
        edges_idx = np.round(edges_pix + 0.5) - 0.5
        return self.pix_to_coord(edges_idx)

    # ------------------------------------------------------------------ derived axes
    def copy(self, **kwargs):
        """Copy, overriding any of the constructor arguments.

        Examples
        --------
        >>> from fluxfit.maps import MapAxis
        >>> MapAxis.from_nodes([1, 2, 3], name="x").copy(name="y").name
        'y'
        """
        args = {
            "nodes": self._nodes.copy(),
            "interp": self._interp,
            "name": self._name,
            "node_type": self._node_type,
            "unit": self._unit,
            "boundary_type": self._boundary_type,
        }
        args.update(kwargs)
        return self.__class__(**args)

    def rename(self, new_name):
        """Copy with a new name."""
        return self.copy(name=new_name)

    def to_node_type(self, node_type):
        """Copy with the other node type (edges become the edges, centres the centres)."""
        if node_type == self.node_type:
            return self
        nodes = self.edges if node_type == "edges" else self.center
        return self.copy(nodes=nodes.value, node_type=node_type)

    def slice(self, idx):
        """Sub-axis from a slice of bins (``slice`` object or integer).

        Examples
        --------
        >>> from fluxfit.maps import MapAxis
        >>> axis = MapAxis.from_bounds(10, 2e3, 6, interp="log", name="energy", unit="GeV")
        >>> axis.slice(slice(1, 3)).nbin
        2
        """
        if isinstance(idx, int | np.integer):
            idx = slice(int(idx), int(idx) + 1)
        bins = np.arange(self.nbin)[idx]
        if len(bins) == 0:
            raise DatasetError(f"MapAxis {self.name!r}: slice {idx} selects no bin")
        if np.any(np.diff(bins) != 1):
            raise DatasetError(f"MapAxis {self.name!r}: only contiguous slices supported")
        if self._node_type == "edges":
            nodes = self._nodes[bins[0] : bins[-1] + 2]
        else:
            nodes = self._nodes[bins]
        return self.copy(nodes=nodes)

    def squash(self):
        """Single-bin axis covering the full range of this one."""
        edges = self.edges.value
        return MapAxis.from_bounds(
            edges[0],
            edges[-1],
            nbin=1,
            interp=self._interp,
            name=self._name,
            unit=self._unit,
        )

    def pad(self, pad_width):
        """Axis extended by ``pad_width`` bins (int or ``(low, high)``)."""
        pad_low, pad_high = pad_width if isinstance(pad_width, tuple) else (pad_width, pad_width)
        if self.node_type == "edges":
            pix = np.arange(-pad_low, self.nbin + pad_high + 1) - 0.5
            return self.from_edges(
                self._pix_to_values(pix), unit=self.unit, interp=self.interp, name=self.name
            )
        pix = np.arange(-pad_low, self.nbin + pad_high, dtype=float)
        return self.from_nodes(
            self._pix_to_values(pix), unit=self.unit, interp=self.interp, name=self.name
        )

    def upsample(self, factor):
        """Axis with ``factor`` times more bins (nodes kept)."""
        factor = int(factor)
        if self.node_type == "edges":
            pix = np.linspace(-0.5, self.nbin - 0.5, self.nbin * factor + 1)
            return self.from_edges(
                self._pix_to_values(pix), unit=self.unit, name=self.name, interp=self.interp
            )
        pix = np.linspace(0, self.nbin - 1, (self.nbin - 1) * factor + 1)
        return self.from_nodes(
            self._pix_to_values(pix), unit=self.unit, name=self.name, interp=self.interp
        )

    def downsample(self, factor, strict=True):
        """Axis keeping every ``factor``-th node.

        With ``strict=False`` the remaining bins are merged into the last one.
        """
        factor = int(factor)
        values = self.edges.value if self.node_type == "edges" else self.center.value
        nodes = values[::factor]
        if nodes[-1] != values[-1]:
            if strict:
                raise DatasetError(
                    f"MapAxis {self.name!r}: {self.nbin} bins not divisible by factor {factor}"
                )
            nodes = np.append(nodes, values[-1])
        return self.copy(nodes=nodes)

    def concatenate(self, axis):
        """Concatenate another axis with the same name, interp and node type."""
        if (self.node_type, self.name, self.interp) != (axis.node_type, axis.name, axis.interp):
            raise DatasetError(
                f"Cannot concatenate axis {axis.name!r} ({axis.node_type}, {axis.interp}) to "
                f"{self.name!r} ({self.node_type}, {self.interp})"
            )
        other = axis.nodes * axis.unit.to(self.unit)
        if self.node_type == "edges":
            if not np.isclose(other[0], self._nodes[-1]):
                raise DatasetError(f"MapAxis {self.name!r}: edges are not contiguous")
            nodes = np.append(self._nodes, other[1:])
        else:
            nodes = np.append(self._nodes, other)
        return self.copy(nodes=nodes)

    @classmethod
    def from_stack(cls, axes):
        """Merge a list of contiguous axes."""
        stacked = axes[0]
        for axis in axes[1:]:
            stacked = stacked.concatenate(axis)
        return stacked

    def group_table(self, edges):
        """Group bins into coarser ``edges``, snapping them to this axis' bin edges.

        The given edges are rounded to the nearest edge of this axis. Bins below the first
        (above the last) group edge form an ``underflow`` (``overflow``) group.

        Parameters
        ----------
        edges : `~astropy.units.Quantity`
            Coarse group edges.

        Returns
        -------
        groups : `~astropy.table.Table`
            Columns ``group_idx``, ``<name>_min``, ``<name>_max`` (snapped edges),
            ``idx_min``, ``idx_max`` (first and last bin index of the group, inclusive)
            and ``bin_type`` (``"normal   "``, ``"underflow"``, ``"overflow"``).

        Examples
        --------
        >>> import astropy.units as u
        >>> from fluxfit.maps import MapAxis
        >>> axis = MapAxis.from_energy_bounds(10, 500, 11, unit="GeV")
        >>> groups = axis.group_table([10, 2000] * u.GeV)
        >>> int(groups["idx_min"][0]), int(groups["idx_max"][0]), len(groups)
        (0, 10, 1)
        """
        if self.node_type != "edges":
            raise DatasetError(f"MapAxis {self.name!r}: only edge-type axes can be grouped")
        edges_pix = np.clip(self.coord_to_pix(edges), -0.5, self.nbin - 0.5)
        edges_idx = np.unique(np.round(edges_pix + 0.5) - 0.5)
        edges_ref = self.pix_to_coord(edges_idx)
        if len(edges_idx) < 2:
            raise DatasetError(
                f"MapAxis {self.name!r}: no overlap between axis edges "
                f"{self.bounds} and group edges {edges}"
            )
        name = self.name
        rows = []
        for lo_pix, hi_pix, lo, hi in zip(
            edges_idx[:-1], edges_idx[1:], edges_ref[:-1], edges_ref[1:]
        ):
            rows.append((lo, hi, int(lo_pix + 0.5), int(hi_pix - 0.5), "normal   "))
        if edges_idx[0] > -0.5:
            rows.insert(
                0,
                (
                    self.edges[0],
                    edges_ref[0],
                    0,
                    int(edges_idx[0] - 0.5),
                    "underflow",
                ),
            )
        if edges_idx[-1] < self.nbin - 0.5:
            rows.append(
                (
                    edges_ref[-1],
                    self.edges[-1],
                    int(edges_idx[-1] + 0.5),
                    self.nbin - 1,
                    "overflow",
                )
            )
        groups = Table()
        groups[f"{name}_min"] = u.Quantity([r[0] for r in rows]).to(self.unit)
        groups[f"{name}_max"] = u.Quantity([r[1] for r in rows]).to(self.unit)
        groups["idx_min"] = np.array([r[2] for r in rows], dtype=np.int64)
        groups["idx_max"] = np.array([r[3] for r in rows], dtype=np.int64)
        groups["bin_type"] = np.array([r[4] for r in rows], dtype="U9")
        groups.add_column(Column(np.arange(len(groups)), name="group_idx"), index=0)
        return groups

    # ------------------------------------------------------------------ comparisons
    def assert_name(self, required_name):
        """Raise `~fluxfit.errors.DatasetError` if the axis is not named ``required_name``."""
        if self.name != required_name:
            raise DatasetError(
                f"Unexpected axis name: expected {required_name!r}, got {self.name!r}"
            )

    def is_aligned(self, other, atol=2e-2):
        """Whether bin centres of each axis fall on integer pixels of the other (same interp)."""
        pix = self.coord_to_pix(other.center)
        pix_other = other.coord_to_pix(self.center)
        pix_all = np.append(pix, pix_other)
        aligned = np.allclose(np.round(pix_all) - pix_all, 0, atol=atol)
        return bool(aligned and self.interp == other.interp)

    def is_allclose(self, other, **kwargs):
        """Same node type, interp, name (case-insensitive) and close edges (``np.allclose``)."""
        if not isinstance(other, MapAxis):
            return False
        if self.edges.shape != other.edges.shape or not self.unit.is_equivalent(other.unit):
            return False
        return bool(
            np.allclose(self.edges.value, other.edges.to_value(self.unit), **kwargs)
            and self._node_type == other._node_type
            and self._interp == other._interp
            and self.name.upper() == other.name.upper()
            and self._boundary_type == other._boundary_type
        )

    def __eq__(self, other):
        if not isinstance(other, MapAxis):
            return False
        return self.is_allclose(other, rtol=1e-6, atol=1e-6)

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return id(self)

    def __deepcopy__(self, memo):
        return self.copy()

    def __repr__(self):
        vals = self.edges if self.node_type == "edges" else self.center
        return (
            f"{self.__class__.__name__}\n\n"
            f"\tname       : {self.name}\n"
            f"\tunit       : {str(self.unit)!r}\n"
            f"\tnbins      : {self.nbin}\n"
            f"\tnode type  : {self.node_type}\n"
            f"\t{self.node_type} min : {vals.min():.1e}\n"
            f"\t{self.node_type} max : {vals.max():.1e}\n"
            f"\tinterp     : {self.interp}\n"
        )

    # ------------------------------------------------------------------ plotting helpers
    @property
    def as_plot_center(self):
        """Bin centres for plotting (Quantity)."""
        return self.center

    @property
    def as_plot_edges(self):
        """Bin edges for plotting (Quantity)."""
        return self.edges

    @property
    def as_plot_xerr(self):
        """Asymmetric x errors ``(center - lo, hi - center)`` for errorbar plots."""
        return self.center - self.edges_min, self.edges_max - self.center

    @property
    def as_plot_labels(self):
        """Bin labels ``"lo - hi unit"``."""
        return [f"{lo:.2e} - {hi:.2e}" for lo, hi in self.iter_by_edges]

    def format_plot_xaxis(self, ax):
        """Label (and log-scale for log axes) a matplotlib x axis."""
        label = self.name.replace("_", " ").capitalize()
        ax.set_xlabel(f"{label} [{self.unit.to_string()}]" if str(self.unit) else label)
        if self.interp == "log":
            ax.set_xscale("log")
        return ax

    # ------------------------------------------------------------------ tables
    def to_header(self, format="ogip", idx=0):
        """FITS header keys of this axis (see `fluxfit.maps.axis_tables.axis_to_header`)."""
        from .axis_tables import axis_to_header

        return axis_to_header(self, format=format, idx=idx)

    def to_table(self, format="ogip"):
        """Table in one of the formats of `fluxfit.maps.axis_tables.axis_to_table`.

        Examples
        --------
        >>> from fluxfit.maps import MapAxis
        >>> axis = MapAxis.from_energy_bounds("1 TeV", "10 TeV", 3)
        >>> axis.to_table(format="ogip").colnames
        ['CHANNEL', 'E_MIN', 'E_MAX']
        """
        from .axis_tables import axis_to_table

        return axis_to_table(self, format=format)

    def to_table_hdu(self, format="ogip"):
        """Binary table HDU (``EBOUNDS`` for OGIP, ``THETA`` for gtpsf rad axes)."""
        from .axis_tables import axis_to_table_hdu

        return axis_to_table_hdu(self, format=format)

    @classmethod
    def from_table(cls, table, format="ogip", idx=0, column_prefix=""):
        """Axis from a table, see `fluxfit.maps.axis_tables.axis_from_table`."""
        from .axis_tables import axis_from_table

        return axis_from_table(table, format=format, idx=idx, column_prefix=column_prefix)

    @classmethod
    def from_table_hdu(cls, hdu, format="ogip", idx=0):
        """Axis from a binary table HDU."""
        return cls.from_table(Table.read(hdu), format=format, idx=idx)


# MapAxes lives in its own module; imported here for ``from fluxfit.maps.axes import MapAxes``
from .map_axes import MapAxes  # noqa: E402
