"""Folding a flux in true-energy bins through a response matrix, dense or sparse.

A response matrix ``M`` of shape ``(n_true, n_chan)`` maps a vector ``x`` of
length ``n_true`` (flux or probability per true-energy bin) to ``x @ M`` (per
channel). `FoldingMatrix` stores ``M`` either as a dense C-ordered array or as
a `scipy.sparse.csr_matrix`, whichever folds faster, and folds a single vector
or a batch ``(..., n_true)`` with one matrix product.

The storage rule (`choose_storage`) comes from timings on 2 cores (numpy 2.4,
scipy 1.17, OpenBLAS), median microseconds for one vector / a batch of 1000:

=============  =======  ==============  ==============
shape          density  dense           sparse
=============  =======  ==============  ==============
140 x 128      0.44     1.9 / 307       5.3 / 1240
1000 x 128     0.05     10 / 2215       4.7 / 1654
1000 x 128     0.10     10 / 2335       7.7 / 2811
1000 x 128     0.14     12 / 2240       9.1 / 3450
1000 x 128     0.19     11 / 2492       11.6 / 4638
1000 x 1000    0.10     46 / 16425      38 / 13747
1000 x 1000    0.19     50 / 16610      75 / 26789
4000 x 4000    0.19     2218 / 261274   1491 / 414971
=============  =======  ==============  ==============

Dense always wins below ~3e4 elements (the sparse call costs ~2-3 us). Above
that, sparse wins below ~15-20 % density for one vector but only below ~10 %
for a batch (BLAS matrix products are that much faster per element), so the
threshold is 10 %: batches are the hot path of samplers and scans. Very large
matrices are kept sparse whatever the density (memory).

The sparse path folds with a precomputed CSR copy of ``M.T`` (``n_chan`` rows):
``M.T @ x`` on that copy is 1.1-1.3x faster than going through ``M.T`` (a CSC
view), and for a batch ``X`` of shape ``(k, n_true)`` the product
``(M.T @ X.T).T`` with ``X.T`` made C-contiguous is fastest (it walks each
non-zero once with a contiguous inner loop over ``k``). The copy is built on
the first fold and kept.

Examples
--------
>>> import numpy as np
>>> from fluxfit.irf.folding import FoldingMatrix
>>> fm = FoldingMatrix(np.eye(3))
>>> fm.fold(np.array([1.0, 2.0, 3.0]))
array([1., 2., 3.])
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from fluxfit.errors import DatasetError

__all__ = [
    "SMALL_MATRIX_ELEMENTS",
    "SPARSE_DENSITY_THRESHOLD",
    "LARGE_MATRIX_ELEMENTS",
    "choose_storage",
    "FoldingMatrix",
]

#: Matrices with at most this many elements are stored dense whatever their density.
SMALL_MATRIX_ELEMENTS = 32_768
#: Below this fraction of non-zero elements a sparse matrix folds faster.
SPARSE_DENSITY_THRESHOLD = 0.10
#: Matrices with more elements than this (512 MB as dense float64) are kept sparse.
LARGE_MATRIX_ELEMENTS = 1 << 26

_STORAGES = ("auto", "dense", "sparse")


def choose_storage(n_true: int, n_chan: int, nnz: int) -> str:
    """Return ``"dense"`` or ``"sparse"``: the storage that folds faster.

    Parameters
    ----------
    n_true, n_chan : int
        Matrix shape.
    nnz : int
        Number of non-zero elements.
    """
    size = int(n_true) * int(n_chan)
    if size <= SMALL_MATRIX_ELEMENTS:
        return "dense"
    if size > LARGE_MATRIX_ELEMENTS or nnz / size < SPARSE_DENSITY_THRESHOLD:
        return "sparse"
    return "dense"


def _canonical_csr(matrix, copy: bool = True) -> sp.csr_matrix:
    """Float64 CSR with sorted indices, no duplicates, no explicit zeros (a copy if ``copy``)."""
    csr = sp.csr_matrix(matrix, dtype=np.float64, copy=copy)
    csr.sum_duplicates()
    csr.eliminate_zeros()
    csr.sort_indices()
    return csr


class FoldingMatrix:
    """A ``(n_true, n_chan)`` matrix that folds ``(..., n_true)`` arrays.

    Parameters
    ----------
    matrix : array-like or scipy sparse matrix
        The matrix, shape ``(n_true, n_chan)``; converted to float64.
    storage : {"auto", "dense", "sparse"}
        ``"auto"`` applies `choose_storage`.
    copy : bool
        Copy a sparse ``matrix`` (default). False lets a float64 CSR matrix be
        used (and put in canonical order) in place: the caller hands it over.
    """

    __slots__ = ("_csr", "_csr_transposed", "_dense", "_nnz", "_shape", "_storage")

    def __init__(self, matrix, storage: str = "auto", copy: bool = True):
        if storage not in _STORAGES:
            raise DatasetError(f"storage must be one of {_STORAGES}, got {storage!r}")
        if sp.issparse(matrix):
            if matrix.ndim != 2:
                raise DatasetError(f"response matrix must be 2-D, got shape {matrix.shape}")
            csr = _canonical_csr(matrix, copy=copy)
            if not np.all(np.isfinite(csr.data)):
                bad = csr.data[~np.isfinite(csr.data)][0]
                raise DatasetError(f"response matrix holds a non-finite value {bad}")
            nnz = csr.nnz
            dense = None
        else:
            dense = np.array(matrix, dtype=np.float64, order="C", copy=True)
            if dense.ndim != 2:
                raise DatasetError(f"response matrix must be 2-D, got shape {dense.shape}")
            if not np.all(np.isfinite(dense)):
                bad = dense[~np.isfinite(dense)][0]
                raise DatasetError(f"response matrix holds a non-finite value {bad}")
            nnz = int(np.count_nonzero(dense))
            csr = None
        source = csr if csr is not None else dense
        shape = (int(source.shape[0]), int(source.shape[1]))
        if storage == "auto":
            storage = choose_storage(shape[0], shape[1], nnz)
        if storage == "dense" and dense is None:
            dense = csr.toarray()
            csr = None
        elif storage == "sparse" and csr is None:
            csr = _canonical_csr(dense)
            dense = None
        if dense is not None:
            dense.setflags(write=False)
        self._dense = dense
        self._csr = csr
        self._csr_transposed = None
        self._nnz = nnz
        self._shape = shape
        self._storage = storage

    # -- description -------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        """``(n_true, n_chan)``."""
        return self._shape

    @property
    def storage(self) -> str:
        """``"dense"`` or ``"sparse"``."""
        return self._storage

    @property
    def nnz(self) -> int:
        """Number of non-zero elements."""
        return self._nnz

    @property
    def density(self) -> float:
        """Fraction of non-zero elements."""
        size = self._shape[0] * self._shape[1]
        return self._nnz / size if size else 0.0

    @property
    def matrix(self):
        """The matrix as stored: a read-only ndarray or a `scipy.sparse.csr_matrix`.

        Treat it as read-only: the sparse matrix is shared, not copied.
        """
        return self._dense if self._storage == "dense" else self._csr

    def to_dense(self) -> np.ndarray:
        """A new dense float64 array ``(n_true, n_chan)``."""
        if self._storage == "dense":
            return self._dense.copy()
        return self._csr.toarray()

    def to_csr(self) -> sp.csr_matrix:
        """A new canonical CSR matrix ``(n_true, n_chan)`` (sorted, no explicit zeros)."""
        if self._storage == "sparse":
            return self._csr.copy()
        return _canonical_csr(self._dense)

    def row_sums(self) -> np.ndarray:
        """Sum over channels for each true-energy bin, shape ``(n_true,)``."""
        if self._storage == "dense":
            return self._dense.sum(axis=1)
        return np.asarray(self._csr.sum(axis=1)).ravel()

    def max_value(self) -> float:
        """Largest element (0 for an empty matrix)."""
        if self._storage == "dense":
            return float(self._dense.max(initial=0.0))
        return float(self._csr.data.max(initial=0.0))

    # -- derived matrices --------------------------------------------------------------------
    def scale_rows(self, scale) -> FoldingMatrix:
        """A new matrix with row ``i`` multiplied by ``scale[i]`` (same storage)."""
        scale = np.asarray(scale, dtype=np.float64)
        if scale.shape != (self._shape[0],):
            raise DatasetError(f"row scale must have shape ({self._shape[0]},), got {scale.shape}")
        if self._storage == "dense":
            return FoldingMatrix(self._dense * scale[:, None], storage="dense")
        csr = self._csr.copy()
        csr.data *= np.repeat(scale, np.diff(csr.indptr))
        return FoldingMatrix(csr, storage="sparse")

    def column_slice(self, start: int, stop: int) -> FoldingMatrix:
        """A new matrix restricted to columns ``start:stop`` (storage re-chosen)."""
        if self._storage == "dense":
            return FoldingMatrix(self._dense[:, start:stop])
        return FoldingMatrix(self._csr[:, start:stop])

    # -- folding -----------------------------------------------------------------------------
    def prepare(self) -> None:
        """Precompute what folding needs (the CSR copy of ``M.T`` for sparse storage)."""
        if self._storage == "sparse" and self._csr_transposed is None:
            self._csr_transposed = self._csr.T.tocsr()
            self._csr_transposed.sort_indices()

    def fold(self, values, out: np.ndarray | None = None) -> np.ndarray:
        """Fold ``values`` of shape ``(..., n_true)`` into ``(..., n_chan)``.

        Parameters
        ----------
        values : array-like
            Float values per true-energy bin; leading axes are a batch.
        out : ndarray, optional
            Preallocated float64 result of shape ``(..., n_chan)``.
        """
        values = np.asarray(values, dtype=np.float64)
        n_true, n_chan = self._shape
        if values.ndim == 0 or values.shape[-1] != n_true:
            raise DatasetError(
                f"cannot fold an array of shape {values.shape}: the last axis must have "
                f"length n_true={n_true}"
            )
        if self._storage == "dense":
            if out is None:
                return values @ self._dense
            return np.matmul(values, self._dense, out=out)
        self.prepare()
        if values.ndim == 1:
            result = self._csr_transposed @ values
        else:
            batch = values.reshape(-1, n_true)
            result = (self._csr_transposed @ np.ascontiguousarray(batch.T)).T
            result = result.reshape((*values.shape[:-1], n_chan))
        if out is None:
            return result
        out[...] = result
        return out

    def __repr__(self) -> str:
        return (
            f"FoldingMatrix(shape={self._shape}, storage={self._storage!r}, "
            f"density={self.density:.3g})"
        )
