"""Compiled statistic of a 1D spectrum: models -> true-energy flux -> fold -> statistic.

A single likelihood evaluation of a ~100-channel spectrum costs a few microseconds of
arithmetic but tens of microseconds of numpy call overhead (dozens of small array operations
through the generic model and statistic code). `SpectrumKernel` does the same work in one
compiled loop per dataset, for parameter sets one at a time or in batches:

- the summed components of the dataset's spectral models that `fluxfit.models.spectral.kernels`
  covers are evaluated at the dataset's quadrature nodes (or integrated in closed form, as the
  numpy path does in "exact" integration), every other component by the numpy code, and the
  two are added per true-energy bin;
- the flux is folded with the dense response of the fit channels (one dot product per
  channel, over the true-energy bins between its first and last non-zero response);
- the statistic (Cash with a known background, W-stat) is summed.

The kernel is built from the dataset's fit cache (`SpectrumDataset._prepare`) and is rebuilt
with it; it is used only when numba is installed (`fluxfit._jit.jit_enabled`). Results equal
the numpy path to rounding (tests: 1e-12 relative).
"""

from __future__ import annotations

import numpy as np

from fluxfit._jit import jit_reassociate
from fluxfit.errors import FluxfitError
from fluxfit.models.spectral.core import CompoundSpectralModel
from fluxfit.models.spectral.kernels import add_dnde_kernel, add_integral_kernel, kernel_code
from fluxfit.stats.kernels import cash_sum_kernel, wstat_sum_kernel

__all__ = ["JointSpectrumKernel", "SpectrumKernel", "STAT_CASH", "STAT_WSTAT"]

STAT_CASH = 0
STAT_WSTAT = 1

#: Largest dense response (true bins x fit channels) the kernel folds with.
MAX_DENSE_SIZE = 4_000_000


def _summed_components(model, out):
    """Leaves of a tree of "+" compound models, in evaluation order."""
    if isinstance(model, CompoundSpectralModel) and model.operator == "+":
        _summed_components(model.model1, out)
        _summed_components(model.model2, out)
    else:
        out.append(model)
    return out


#: columns of the layout table: sizes, then where each dataset's arrays start in the buffers
(
    _N_TERMS,
    _N_NODES,
    _N_TRUE,
    _N_FIT,
    _N_ROWS,
    _KIND,
    _I_CODES,
    _I_OFFSETS,
    _I_ON_NODES,
    _I_NODE_BIN,
    _I_COL_START,
    _I_COL_STOP,
    _F_NODES,
    _F_LOG_NODES,
    _F_NODE_W,
    _F_E_LO,
    _F_E_HI,
    _F_LOG_LO,
    _F_LOG_RATIO,
    _F_FOLD,
    _F_ROWS,
    _X_EXTRA,
    _N_LAYOUT,
) = range(23)


@jit_reassociate
def _joint_stat(params, ints, floats, layout, gofs, extra, out):
    """Summed statistic of the datasets described by ``layout`` for each row of ``params``.

    ``ints`` and ``floats`` hold every dataset's arrays one after the other; row d of
    ``layout`` gives their sizes and start offsets (the ``_N_*``, ``_I_*``, ``_F_*`` columns).
    ``extra`` (k or 1 rows, or none) is flux from models without a kernel, per true bin, the
    dataset's columns starting at ``layout[d, _X_EXTRA]``.
    """
    n_sets = params.shape[0]
    n_extra = extra.shape[0]
    out[:] = 0.0
    for d in range(layout.shape[0]):
        lay = layout[d]
        n_terms = lay[_N_TERMS]
        n_nodes = lay[_N_NODES]
        n_true = lay[_N_TRUE]
        n_fit = lay[_N_FIT]
        codes = ints[lay[_I_CODES] : lay[_I_CODES] + n_terms]
        offsets = ints[lay[_I_OFFSETS] : lay[_I_OFFSETS] + n_terms]
        on_nodes = ints[lay[_I_ON_NODES] : lay[_I_ON_NODES] + n_terms]
        node_bin = ints[lay[_I_NODE_BIN] : lay[_I_NODE_BIN] + n_nodes]
        col_start = ints[lay[_I_COL_START] : lay[_I_COL_START] + n_fit]
        col_stop = ints[lay[_I_COL_STOP] : lay[_I_COL_STOP] + n_fit]
        nodes = floats[lay[_F_NODES] : lay[_F_NODES] + n_nodes]
        log_nodes = floats[lay[_F_LOG_NODES] : lay[_F_LOG_NODES] + n_nodes]
        node_w = floats[lay[_F_NODE_W] : lay[_F_NODE_W] + n_nodes]
        e_lo = floats[lay[_F_E_LO] : lay[_F_E_LO] + n_true]
        e_hi = floats[lay[_F_E_HI] : lay[_F_E_HI] + n_true]
        log_lo = floats[lay[_F_LOG_LO] : lay[_F_LOG_LO] + n_true]
        log_ratio = floats[lay[_F_LOG_RATIO] : lay[_F_LOG_RATIO] + n_true]
        fold_t = floats[lay[_F_FOLD] : lay[_F_FOLD] + n_fit * n_true].reshape((n_fit, n_true))
        n_rows = lay[_N_ROWS]
        rows = floats[lay[_F_ROWS] : lay[_F_ROWS] + n_rows * n_fit].reshape((n_rows, n_fit))
        flux = np.empty(n_true)
        mu = np.empty(n_fit)
        for s in range(n_sets):
            p = params[s]
            if n_extra == 0:
                flux[:] = 0.0
            else:
                row = extra[s if n_extra > 1 else 0]
                flux[:] = row[lay[_X_EXTRA] : lay[_X_EXTRA] + n_true]
            for t in range(n_terms):
                if on_nodes[t]:
                    add_dnde_kernel(
                        codes[t], p, offsets[t], nodes, log_nodes, node_bin, node_w, flux
                    )
                else:
                    add_integral_kernel(
                        codes[t], p, offsets[t], e_lo, e_hi, log_lo, log_ratio, flux
                    )
            for c in range(n_fit):
                # slices (not an index range) let LLVM vectorise the reassociated sum
                values = flux[col_start[c] : col_stop[c]]
                weights = fold_t[c, col_start[c] : col_stop[c]]
                total = 0.0
                for j in range(values.size):
                    total += values[j] * weights[j]
                mu[c] = total
            if lay[_KIND] == STAT_CASH:
                out[s] += cash_sum_kernel(mu, rows)
            else:
                out[s] += wstat_sum_kernel(mu, rows, gofs[d])
    return out


class SpectrumKernel:
    """What the compiled statistic needs of one spectrum dataset (see the module docstring).

    Build it with `SpectrumKernel.build`, which returns None when the dataset cannot use it
    (a statistic without a kernel, a response too large to hold dense). Call `single` or the
    instance itself; `JointSpectrumKernel` evaluates several datasets in one call.
    """

    __slots__ = (
        "_joint",
        "_numpy_models",
        "_parameters",
        "cache",
        "dataset",
        "floats",
        "gof",
        "ints",
        "kind",
        "n_fit",
        "n_nodes",
        "n_rows",
        "n_terms",
        "n_true",
    )

    @classmethod
    def build(cls, dataset, cache, stat):
        """Kernel for ``dataset`` with its fit ``cache``.

        ``stat`` is None (no kernel for the dataset's statistic) or ``(kind, rows, gof)``:
        kind "cash" (rows: counts, known background) or "wstat" (`WStatSum.kernel_rows`).
        """
        if stat is None:
            return None
        n_true, n_fit = cache.fold.shape
        if n_true * n_fit > MAX_DENSE_SIZE:
            return None
        return cls(dataset, cache, stat)

    def __init__(self, dataset, cache, stat):
        self.dataset = dataset
        self.cache = cache
        kind, rows, gof = stat
        self.kind = {"cash": STAT_CASH, "wstat": STAT_WSTAT}[kind]
        rows = np.ascontiguousarray(rows, dtype=float)
        self.gof = float(gof)
        codes, offsets, on_nodes, parameters, numpy_models = [], [], [], [], []
        for model in dataset._spectral_models:
            for leaf in _summed_components(model, []):
                code = kernel_code(leaf, cache.closed_form)
                if code is None:
                    numpy_models.append(leaf)
                    continue
                codes.append(code)
                offsets.append(len(parameters))
                closed = cache.closed_form and leaf._has_closed_form("integral")
                on_nodes.append(not closed)
                for name, par in leaf._params.items():
                    parameters.append((par, leaf._canonical[name]))
        self._parameters = parameters
        self._numpy_models = numpy_models
        fold = cache.fold
        dense = fold.to_dense() if fold.storage == "dense" else fold.to_csr().toarray()
        # transposed (fit channels x true bins): each channel is one contiguous dot product,
        # over the true bins between its first and last non-zero response
        fold_t = np.ascontiguousarray(np.transpose(dense), dtype=float)
        nonzero = fold_t != 0
        any_nonzero = nonzero.any(axis=1)
        col_start = np.where(any_nonzero, np.argmax(nonzero, axis=1), 0)
        col_stop = np.where(any_nonzero, fold_t.shape[1] - np.argmax(nonzero[:, ::-1], axis=1), 0)
        quad = cache.quad
        edges = dataset._edisp.energy_true_edges_tev
        nodes = np.ravel(quad.nodes).astype(float)
        e_lo, e_hi = edges[:-1].astype(float), edges[1:].astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_nodes = np.log(nodes)
            log_lo = np.log(e_lo)
            log_ratio = np.log1p((e_hi - e_lo) / e_lo)
        self.n_terms, self.n_nodes = len(codes), nodes.size
        self.n_fit, self.n_true = fold_t.shape
        self.n_rows = rows.shape[0]
        #: integer arrays, in the order of the _I_* layout columns
        self.ints = [
            np.asarray(codes, dtype=np.int64),
            np.asarray(offsets, dtype=np.int64),
            np.asarray(on_nodes, dtype=np.int64),
            np.asarray(quad.node_bins(), dtype=np.int64),
            col_start.astype(np.int64),
            col_stop.astype(np.int64),
        ]
        #: float arrays, in the order of the _F_* layout columns
        self.floats = [
            nodes,
            log_nodes,
            np.ravel(quad.weights).astype(float),
            e_lo,
            e_hi,
            log_lo,
            log_ratio,
            fold_t.ravel(),
            rows.ravel(),
        ]
        self._joint = JointSpectrumKernel([self])

    def extra_flux(self, overrides=None) -> np.ndarray:
        """Flux (cm-2 s-1) per true bin of the models without a kernel, shape (k or 1, n_true)."""
        flux = np.asarray(self.dataset._flux_true(overrides, self._numpy_models), dtype=float)
        return flux.reshape(-1, flux.shape[-1])

    def single(self) -> float:
        """Statistic at the current parameter values."""
        return self._joint.single()

    def __call__(self, overrides=None) -> np.ndarray:
        """Statistic for a batch of ``overrides`` (shape (k,)), or (1,) at the current values."""
        return self._joint(overrides)


def _gather(parameters, overrides):
    if overrides is None:
        row = [par.value_from(None) * par.factor_to(unit) for par, unit in parameters]
        return np.array([row], dtype=float)
    values = [
        np.multiply(par.value_from(overrides), par.factor_to(unit)) for par, unit in parameters
    ]
    n_sets = max((np.size(v) for v in values), default=1)
    params = np.empty((n_sets, len(parameters)))
    for j, value in enumerate(values):
        params[:, j] = np.ravel(value)
    return params


def _factor(par, canonical):
    """(unit, factor to ``canonical``) of a parameter now; (None, nan) if not convertible
    (the general path then raises the unit error at evaluation, as the numpy path does)."""
    try:
        return par._unit, par.factor_to(canonical)
    except FluxfitError:
        return None, np.nan


class JointSpectrumKernel:
    """The compiled statistic of several spectrum datasets, summed, in one call.

    Parameters
    ----------
    kernels : list of `SpectrumKernel`
        One per dataset; the parameters of each are gathered (a parameter shared by several
        datasets is read once per dataset) and the statistic summed over datasets.
    """

    __slots__ = ("_args", "_fast", "_no_extra", "_out", "_parameters", "kernels")

    def __init__(self, kernels):
        self.kernels = list(kernels)
        layout = np.zeros((len(self.kernels), _N_LAYOUT), dtype=np.int64)
        ints, floats, parameters = [], [], []
        n_int = n_float = n_true = 0
        for d, kernel in enumerate(self.kernels):
            lay = layout[d]
            lay[_N_TERMS], lay[_N_NODES] = kernel.n_terms, kernel.n_nodes
            lay[_N_TRUE], lay[_N_FIT] = kernel.n_true, kernel.n_fit
            lay[_N_ROWS], lay[_KIND] = kernel.n_rows, kernel.kind
            lay[_X_EXTRA] = n_true
            n_true += kernel.n_true
            for column, array in zip(range(_I_CODES, _I_COL_STOP + 1), kernel.ints):
                if column == _I_OFFSETS:
                    array = array + len(parameters)
                lay[column] = n_int
                ints.append(array)
                n_int += array.size
            for column, array in zip(range(_F_NODES, _F_ROWS + 1), kernel.floats):
                lay[column] = n_float
                floats.append(array)
                n_float += array.size
            parameters.extend(kernel._parameters)
        self._parameters = parameters
        self._fast = [(par, canonical, *_factor(par, canonical)) for par, canonical in parameters]
        self._args = (
            np.ascontiguousarray(np.concatenate(ints) if ints else np.zeros(0, np.int64)),
            np.ascontiguousarray(np.concatenate(floats) if floats else np.zeros(0)),
            layout,
            np.array([kernel.gof for kernel in self.kernels], dtype=float),
        )
        self._no_extra = np.zeros((0, 0))
        self._out = np.empty(1)

    @property
    def has_numpy_models(self) -> bool:
        return any(kernel._numpy_models for kernel in self.kernels)

    def _extra(self, overrides):
        if not self.has_numpy_models:
            return self._no_extra
        parts = [
            kernel.extra_flux(overrides) if kernel._numpy_models else np.zeros((1, kernel.n_true))
            for kernel in self.kernels
        ]
        k = max(part.shape[0] for part in parts)
        return np.ascontiguousarray(
            np.concatenate([np.broadcast_to(part, (k, part.shape[1])) for part in parts], axis=1)
        )

    def single(self) -> float:
        """Summed statistic at the current parameter values."""
        if self.has_numpy_models:
            return float(self(None)[0])
        # a plain attribute read where the parameter is not linked and its unit is the one
        # the conversion factor was computed for; the general path otherwise
        row = [
            par._value * factor
            if par._link is None and par._unit is unit
            else par.value_from(None) * par.factor_to(canonical)
            for par, canonical, unit, factor in self._fast
        ]
        params = np.array([row], dtype=float)
        return _joint_stat(params, *self._args, self._no_extra, self._out)[0]

    def __call__(self, overrides=None) -> np.ndarray:
        """Summed statistic for a batch of ``overrides`` (k parameter sets): shape (k,)."""
        params = _gather(self._parameters, overrides)
        extra = self._extra(overrides)
        if extra.shape[0] > 1 and params.shape[0] == 1:
            params = np.repeat(params, extra.shape[0], axis=0)
        out = np.empty(params.shape[0])
        return _joint_stat(params, *self._args, extra, out)
