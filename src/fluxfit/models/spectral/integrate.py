"""Vectorised quadrature of spectra over many energy bins at once.

Spectra are integrated in ln(E): ``int f(E) dE = int f(e^x) e^x dx``. Each bin
is cut into sub-intervals no wider than ``max_width_dex`` decades, each with
a Gauss-Legendre rule of ``order`` nodes. Nodes and weights are computed once
(`LogQuadrature`) and reused for every evaluation: a dataset builds one for
its true-energy bins and integrates any model with one multiply-and-sum.

Gauss-Legendre rules converge fast only for smooth integrands. Where a model
has a kink (the break of a broken power law or of the Band function, the nodes
of a tabulated template), bins are cut at the break first: `split_bins` for
breaks shared by all parameter sets, `RowSplitQuadrature` for a batch of
parameter sets whose breaks differ.

Examples
--------
>>> import numpy as np
>>> from fluxfit.models.spectral.integrate import LogQuadrature
>>> quad = LogQuadrature(np.array([1.0, 10.0]), np.array([10.0, 100.0]))
>>> np.allclose(quad.integrate(quad.nodes**-2), [0.9, 0.09])
True
"""

from __future__ import annotations

from functools import lru_cache
from math import factorial

import numpy as np

from fluxfit.errors import ModelError, UnitError

__all__ = [
    "DEFAULT_ORDER",
    "DEFAULT_MAX_WIDTH_DEX",
    "LogQuadrature",
    "RowSplitQuadrature",
    "SimpsonQuadrature",
    "make_quadrature",
    "split_bins",
]

#: Gauss-Legendre nodes per sub-interval (see bench/RESULTS.md for the tuning).
DEFAULT_ORDER = 8
#: Widest sub-interval, in decades of energy.
DEFAULT_MAX_WIDTH_DEX = 0.05


@lru_cache(maxsize=32)
def _gauss_legendre(order: int):
    nodes, weights = np.polynomial.legendre.leggauss(order)
    nodes.setflags(write=False)
    weights.setflags(write=False)
    return nodes, weights


@lru_cache(maxsize=32)
def _gauss_legendre_table(order: int):
    """Nodes and weights of the 1..order point rules, zero-padded to (order + 1, order)."""
    nodes = np.zeros((order + 1, order))
    weights = np.zeros((order + 1, order))
    for n in range(1, order + 1):
        nodes[n, :n], weights[n, :n] = _gauss_legendre(n)
    nodes.setflags(write=False)
    weights.setflags(write=False)
    return nodes, weights


#: Steepest log-slope |d ln f / d ln E| for which fewer nodes keep the full accuracy.
_TAIL_SLOPE = 50.0


def _error_constant(n: int) -> float:
    """Leading Gauss-Legendre error constant: error ~ C_n * (slope * half_width)^(2n)."""
    return factorial(n) ** 4 * 2.0 ** (2 * n + 1) / ((2 * n + 1) * factorial(2 * n) ** 3)


@lru_cache(maxsize=32)
def _half_width_limits(order: int, max_width_dex: float) -> np.ndarray:
    """Largest sub-interval half-width (in ln E) for which n nodes, n = 0..order, suffice.

    n nodes on a half-width h are deemed enough when their leading error for
    ``exp(s ln E)`` with ``s = _TAIL_SLOPE`` (an e^-50 exponential tail) is no
    larger than that of ``order`` nodes on the widest sub-interval.
    """
    half_max = 0.5 * max_width_dex * np.log(10.0)
    target = _error_constant(order) * (_TAIL_SLOPE * half_max) ** (2 * order)
    limits = np.zeros(order + 1)
    for n in range(1, order + 1):
        limits[n] = (target / _error_constant(n)) ** (1.0 / (2 * n)) / _TAIL_SLOPE
    limits[order] = np.inf
    limits.setflags(write=False)
    return limits


def _orders(half_width, order: int, max_width_dex: float, adaptive: bool) -> np.ndarray:
    """Nodes per sub-interval for sub-intervals of the given half-widths (ln E)."""
    half_width = np.abs(half_width)
    if not adaptive or order <= 2:
        return np.full(half_width.shape, order, dtype=np.intp)
    limits = _half_width_limits(order, max_width_dex)
    return (np.searchsorted(limits[2:], half_width, side="left") + 2).astype(np.intp)


def _check_edges(energy_min, energy_max):
    energy_min, energy_max = np.broadcast_arrays(
        np.asarray(energy_min, dtype=float), np.asarray(energy_max, dtype=float)
    )
    if np.any(~np.isfinite(energy_min)) or np.any(~np.isfinite(energy_max)):
        raise UnitError("integration bounds must be finite energies")
    if np.any(energy_min <= 0) or np.any(energy_max <= 0):
        raise UnitError(
            "integration bounds must be positive energies, got min "
            f"{min(energy_min.min(initial=np.inf), energy_max.min(initial=np.inf))}"
        )
    return energy_min.ravel(), energy_max.ravel(), energy_min.shape


def _n_sub(width, max_width_dex: float):
    """Number of sub-intervals for bins ``width`` wide in ln(E)."""
    max_width = max_width_dex * np.log(10.0)
    # (the tolerance keeps a bin of exactly 2 * max_width from getting 3 sub-intervals)
    return np.maximum(1, np.ceil(np.abs(width) / max_width * (1 - 1e-12))).astype(np.intp)


def _first_index(counts):
    """Start offset of each group of ``counts`` consecutive items."""
    starts = np.zeros(len(counts), dtype=np.intp)
    if len(counts) > 1:
        np.cumsum(counts[:-1], out=starts[1:])
    return starts


def _log_width(energy_min, energy_max):
    """ln(energy_max / energy_min), without cancellation for narrow bins."""
    return np.log1p((energy_max - energy_min) / energy_min)


def _build_nodes(seg_min, seg_width, n_sub, orders, max_order):
    """Nodes and weights for segments starting at energy ``seg_min``, ``seg_width`` wide in ln E.

    Segment ``s`` is cut into ``n_sub[s]`` equal sub-intervals with ``orders[s]``
    Gauss-Legendre nodes each. Leading axes of ``seg_min`` and ``seg_width``
    (e.g. a batch) are kept. Nodes are ``seg_min * exp(offset)`` so that narrow
    segments keep full relative precision.

    Returns ``(nodes, weights, order)``: when every segment is a single
    sub-interval with the same number of nodes, ``order`` is that number and the
    nodes are laid out point-major, ``(order, n_segments)`` flattened (fast,
    contiguous vector operations); otherwise ``order`` is None and the nodes
    come segment after segment.
    """
    n_seg = n_sub.size
    if n_seg and np.all(n_sub == 1) and np.all(orders == orders[0]):
        order = int(orders[0])
        x, w = _gauss_legendre(order)
        half = 0.5 * seg_width
        lead = half.shape[:-1]
        # (order, ..., n_seg) arrays, computed in place (few large temporaries)
        nodes = np.multiply.outer(1.0 + x, half)
        np.exp(nodes, out=nodes)
        nodes *= seg_min
        weights = np.multiply.outer(w, half)
        weights *= nodes
        if lead:
            nodes = np.moveaxis(nodes, 0, -2)
            weights = np.moveaxis(weights, 0, -2)
        return nodes.reshape(lead + (-1,)), weights.reshape(lead + (-1,)), order
    seg_of_sub = np.repeat(np.arange(n_seg), n_sub)
    pos = np.arange(seg_of_sub.size) - np.repeat(_first_index(n_sub), n_sub)
    step = seg_width[..., seg_of_sub] / n_sub[seg_of_sub]
    half = 0.5 * step
    start = seg_min[..., seg_of_sub] * np.exp(pos * step)
    sub_orders = orders[seg_of_sub]
    if sub_orders.size and np.all(sub_orders == sub_orders[0]):
        x, w = _gauss_legendre(int(sub_orders[0]))
        shape = half.shape[:-1] + (-1,)
        nodes = (start[..., None] * np.exp(half[..., None] * (1.0 + x))).reshape(shape)
        weights = (half[..., None] * w).reshape(shape) * nodes
        return nodes, weights, None
    table_x, table_w = _gauss_legendre_table(max_order)
    sub_of_node = np.repeat(np.arange(sub_orders.size), sub_orders)
    j = np.arange(sub_of_node.size) - np.repeat(_first_index(sub_orders), sub_orders)
    x = table_x[sub_orders[sub_of_node], j]
    w = table_w[sub_orders[sub_of_node], j]
    half = half[..., sub_of_node]
    nodes = start[..., sub_of_node] * np.exp(half * (1.0 + x))
    return nodes, half * w * nodes, None


class _BinnedQuadrature:
    """Shared `integrate` of the Gauss-Legendre quadratures: sum of weighted values per bin."""

    def _set_bins(self, points_per_bin, point_major_order, segments_per_bin=1):
        self._starts = _first_index(points_per_bin)
        self.uniform = bool(np.all(points_per_bin == points_per_bin[0])) if self.n_bins else True
        self._points = int(points_per_bin[0]) if self.n_bins else 0
        self._point_major = point_major_order
        self._segments_per_bin = segments_per_bin

    def node_bins(self) -> np.ndarray:
        """Flat bin index of every node: `integrate` adds ``weights[i] * values[i]`` to bin
        ``node_bins()[i]`` (used by compiled loops that integrate node by node)."""
        n_nodes = np.shape(self.nodes)[-1]
        index = np.arange(n_nodes)
        if self.n_bins == 0:
            return index[:0]
        if self._point_major is not None:
            return (index // self._segments_per_bin) % self.n_bins
        if self.uniform:
            return index // self._points
        counts = np.diff(np.append(self._starts, n_nodes))
        return np.repeat(np.arange(self.n_bins), counts)

    def integrate(self, values):
        """Integrate values at `nodes` (last axis) over each bin.

        Parameters
        ----------
        values : array of shape (..., n_nodes)
            Integrand at the nodes; leading axes (e.g. a batch) are kept.

        Returns
        -------
        array of shape (..., *bin_shape)
        """
        weighted = values * self.weights
        lead = weighted.shape[:-1]
        if self.n_bins == 0:
            out = np.zeros(lead + (0,))
        elif self._point_major is not None:
            layout = (self._point_major, self.n_bins, self._segments_per_bin)
            out = weighted.reshape(lead + layout).sum(axis=(-3, -1))
        elif self.uniform:
            out = weighted.reshape(lead + (self.n_bins, self._points)).sum(-1)
        else:
            out = np.add.reduceat(weighted, self._starts, axis=-1)
        return out.reshape(out.shape[:-1] + self.shape)


class LogQuadrature(_BinnedQuadrature):
    """Gauss-Legendre nodes and weights in ln(E) for a set of energy bins.

    Parameters
    ----------
    energy_min, energy_max : array
        Bin bounds (same unit as the energies the integrand is evaluated at;
        fluxfit uses TeV internally). ``energy_max < energy_min`` gives a
        negative integral, ``energy_max == energy_min`` zero.
    order : int
        Gauss-Legendre nodes per sub-interval (at most).
    max_width_dex : float
        Largest sub-interval, in decades of energy.
    adaptive : bool
        Use fewer nodes on narrower sub-intervals, as many as keep the
        accuracy of ``order`` nodes on ``max_width_dex`` for integrands as steep
        as an e^-50 exponential tail (e.g. 3 nodes for bins narrower than
        0.0017 dex, 5 below 0.013 dex with the defaults). False: always ``order``.

    Attributes
    ----------
    nodes : array
        Energies at which to evaluate the integrand (1-D).
    weights : array
        Quadrature weights including the Jacobian ``E dln(E)``.

    Notes
    -----
    With the defaults (8 nodes, 0.05 dex) smooth spectra integrate to ~1e-11
    relative accuracy, including exponential tails down to e^-50 (a blackbody
    at 50 kT); see the accuracy study in ``bench/RESULTS.md``.
    """

    def __init__(
        self,
        energy_min,
        energy_max,
        order: int = DEFAULT_ORDER,
        max_width_dex: float = DEFAULT_MAX_WIDTH_DEX,
        adaptive: bool = True,
    ):
        energy_min, energy_max, self.shape = _check_edges(energy_min, energy_max)
        width = _log_width(energy_min, energy_max)
        n_sub = _n_sub(width, max_width_dex)
        orders = _orders(0.5 * width / n_sub, order, max_width_dex, adaptive)
        self.n_bins = energy_min.size
        self.nodes, self.weights, point_major = _build_nodes(
            energy_min, width, n_sub, orders, order
        )
        self._set_bins(n_sub * orders, point_major)


def split_bins(energy_min, energy_max, breaks):
    """Cut bins at the break energies that fall strictly inside them.

    Parameters
    ----------
    energy_min, energy_max : 1-D arrays
        Bin bounds with ``energy_min <= energy_max``.
    breaks : 1-D array
        Sorted break energies (same unit).

    Returns
    -------
    piece_min, piece_max : 1-D arrays
        Bounds of the pieces, in bin order.
    starts : 1-D int array
        Index of the first piece of each bin (for ``np.add.reduceat``).
    """
    energy_min = np.asarray(energy_min, dtype=float)
    energy_max = np.asarray(energy_max, dtype=float)
    breaks = np.asarray(breaks, dtype=float)
    first = np.searchsorted(breaks, energy_min, side="right")
    last = np.searchsorted(breaks, energy_max, side="left")
    n_pieces = np.maximum(last - first, 0) + 1
    starts = _first_index(n_pieces)
    bin_index = np.repeat(np.arange(energy_min.size), n_pieces)
    pos = np.arange(bin_index.size) - starts[bin_index]
    if not breaks.size:
        return energy_min[bin_index], energy_max[bin_index], starts
    # Piece j > 0 starts at break (first + j - 1); piece j < n - 1 ends at break (first + j).
    top = breaks.size - 1
    lo_break = breaks[np.clip(first[bin_index] + pos - 1, 0, top)]
    hi_break = breaks[np.clip(first[bin_index] + pos, 0, top)]
    piece_min = np.where(pos == 0, energy_min[bin_index], lo_break)
    piece_max = np.where(pos == n_pieces[bin_index] - 1, energy_max[bin_index], hi_break)
    return piece_min, piece_max, starts


class RowSplitQuadrature(_BinnedQuadrature):
    """Gauss-Legendre quadrature with bins cut at breaks that differ per row.

    For a batch of ``k`` parameter sets whose spectra have kinks at different
    energies (e.g. the Band break ``(alpha - beta) xp / (alpha + 2)``), each bin
    is cut into ``B + 1`` pieces at the row's ``B`` breaks (clipped to the bin),
    each piece getting the sub-intervals and nodes the whole bin would get.
    Every row thus has the same number of nodes, and the integrand is one
    (k, M) array.

    Parameters
    ----------
    energy_min, energy_max : 1-D arrays
        Bin bounds, ``energy_min <= energy_max``, positive.
    breaks : array of shape (k, B)
        Break energies of each row (non-positive or non-finite entries are ignored).
    order, max_width_dex, adaptive
        As for `LogQuadrature`.

    Attributes
    ----------
    nodes, weights : arrays of shape (k, M)
    """

    def __init__(
        self,
        energy_min,
        energy_max,
        breaks,
        order: int = DEFAULT_ORDER,
        max_width_dex: float = DEFAULT_MAX_WIDTH_DEX,
        adaptive: bool = True,
    ):
        energy_min, energy_max, self.shape = _check_edges(energy_min, energy_max)
        breaks = np.asarray(breaks, dtype=float)
        if breaks.ndim != 2:
            raise ModelError(
                f"RowSplitQuadrature: breaks must have shape (k, B), got {breaks.shape}"
            )
        k, n_breaks = breaks.shape
        n_bins = self.n_bins = energy_min.size
        breaks = np.sort(np.where(np.isfinite(breaks) & (breaks > 0), breaks, 0.0), axis=-1)
        # Piece edges (k, n, B + 2): bin edges with the clipped breaks between.
        inner = np.clip(breaks[:, None, :], energy_min[None, :, None], energy_max[None, :, None])
        edges = np.concatenate(
            [
                np.broadcast_to(energy_min[None, :, None], (k, n_bins, 1)),
                inner,
                np.broadcast_to(energy_max[None, :, None], (k, n_bins, 1)),
            ],
            axis=-1,
        )
        n_seg = n_breaks + 1
        width = _log_width(energy_min, energy_max)
        n_sub = _n_sub(width, max_width_dex)
        orders = _orders(0.5 * width / n_sub, order, max_width_dex, adaptive)
        seg_min = edges[..., :-1].reshape(k, n_bins * n_seg)
        seg_max = edges[..., 1:].reshape(k, n_bins * n_seg)
        self.nodes, self.weights, point_major = _build_nodes(
            seg_min,
            _log_width(seg_min, seg_max),
            np.repeat(n_sub, n_seg),
            np.repeat(orders, n_seg),
            order,
        )
        self._set_bins(n_sub * orders * n_seg, point_major, n_seg)


class SimpsonQuadrature:
    """Simpson's rule per bin with the bin edges and arithmetic midpoint.

    This is how 3ML integrates a model over the bins of a response
    (``(b - a) / 6 * (f(a) + 4 f((a + b) / 2) + f(b))``); offered so that 3ML's
    numbers can be reproduced. It is exact for cubic polynomials only: for a
    power law of index 2 over a bin 1.5 wide in ratio its relative error is
    about 1e-3, and larger for wider bins or curved spectra.
    """

    def __init__(self, energy_min, energy_max):
        energy_min, energy_max, self.shape = _check_edges(energy_min, energy_max)
        self.n_bins = energy_min.size
        mid = 0.5 * (energy_min + energy_max)
        self.nodes = np.concatenate([energy_min, mid, energy_max])
        width = (energy_max - energy_min) / 6.0
        self.weights = np.concatenate([width, 4.0 * width, width])

    def node_bins(self) -> np.ndarray:
        """Flat bin index of every node (see `_BinnedQuadrature.node_bins`)."""
        return np.tile(np.arange(self.n_bins), 3)

    def integrate(self, values):
        weighted = values * self.weights
        out = weighted.reshape(weighted.shape[:-1] + (3, self.n_bins)).sum(-2)
        return out.reshape(out.shape[:-1] + self.shape)


def make_quadrature(energy_min, energy_max, method: str = "exact", **kwargs):
    """Quadrature object for ``method`` in {"exact" (Gauss-Legendre), "simpson"}."""
    if method in ("exact", "quad", "gauss-legendre"):
        return LogQuadrature(energy_min, energy_max, **kwargs)
    if method == "simpson":
        return SimpsonQuadrature(energy_min, energy_max)
    raise ModelError(f"unknown integration method {method!r}; use 'exact' or 'simpson'")
