"""FoldingMatrix: dense and sparse storage fold alike, for one vector and for batches."""

import numpy as np
import pytest
import scipy.sparse as sp

from fluxfit.errors import DatasetError
from fluxfit.irf.folding import (
    LARGE_MATRIX_ELEMENTS,
    SMALL_MATRIX_ELEMENTS,
    SPARSE_DENSITY_THRESHOLD,
    FoldingMatrix,
    choose_storage,
)


def band_matrix(n_true, n_chan, width, seed=0):
    rng = np.random.default_rng(seed)
    dense = np.zeros((n_true, n_chan))
    for row in range(n_true):
        centre = row * n_chan // n_true
        low, high = max(0, centre - width // 2), min(n_chan, centre + width // 2 + 1)
        dense[row, low:high] = rng.random(high - low)
    return dense


def test_choose_storage_rules():
    assert choose_storage(100, 100, 10) == "dense"  # small: dense whatever the density
    assert SMALL_MATRIX_ELEMENTS < 1000 * 128
    assert choose_storage(1000, 128, int(0.05 * 128_000)) == "sparse"
    assert choose_storage(1000, 128, int(0.5 * 128_000)) == "dense"
    assert choose_storage(1000, 128, int((SPARSE_DENSITY_THRESHOLD + 0.01) * 128_000)) == "dense"
    big = int(np.sqrt(LARGE_MATRIX_ELEMENTS)) + 1
    assert choose_storage(big, big, big * big // 2) == "sparse"  # large: sparse for memory


@pytest.mark.parametrize("storage", ["dense", "sparse", "auto"])
def test_fold_matches_matrix_product(storage):
    dense = band_matrix(300, 120, 9)
    matrix = FoldingMatrix(dense, storage=storage)
    rng = np.random.default_rng(1)
    vector = rng.random(300)
    np.testing.assert_allclose(matrix.fold(vector), vector @ dense, rtol=1e-12)
    batch = rng.random((7, 300))
    np.testing.assert_allclose(matrix.fold(batch), batch @ dense, rtol=1e-12)
    nested = rng.random((2, 3, 300))
    folded = matrix.fold(nested)
    assert folded.shape == (2, 3, 120)
    np.testing.assert_allclose(folded, nested @ dense, rtol=1e-12)


@pytest.mark.parametrize("storage", ["dense", "sparse"])
def test_fold_into_preallocated_output(storage):
    dense = band_matrix(50, 40, 5)
    matrix = FoldingMatrix(dense, storage=storage)
    batch = np.random.default_rng(2).random((4, 50))
    out = np.empty((4, 40))
    result = matrix.fold(batch, out=out)
    assert result is out
    np.testing.assert_allclose(out, batch @ dense, rtol=1e-12)


def test_sparse_input_is_not_modified_and_zeros_are_dropped():
    csr = sp.csr_matrix(np.array([[0.0, 1.0], [2.0, 0.0]]))
    csr.data[0] = 0.0  # an explicit zero
    before = (csr.data.copy(), csr.indices.copy(), csr.indptr.copy())
    matrix = FoldingMatrix(csr, storage="sparse")
    assert matrix.nnz == 1
    assert matrix.matrix.nnz == 1
    np.testing.assert_array_equal(csr.data, before[0])
    np.testing.assert_array_equal(csr.indices, before[1])
    np.testing.assert_array_equal(csr.indptr, before[2])


def test_storage_conversions_keep_values():
    dense = band_matrix(200, 200, 5)
    as_sparse = FoldingMatrix(dense, storage="sparse")
    as_dense = FoldingMatrix(sp.csr_matrix(dense), storage="dense")
    assert as_sparse.storage == "sparse" and sp.isspmatrix_csr(as_sparse.matrix)
    assert as_dense.storage == "dense" and isinstance(as_dense.matrix, np.ndarray)
    np.testing.assert_array_equal(as_sparse.to_dense(), dense)
    np.testing.assert_array_equal(as_dense.to_csr().toarray(), dense)
    np.testing.assert_allclose(as_sparse.row_sums(), dense.sum(axis=1), rtol=1e-14)
    assert as_sparse.density == pytest.approx(np.count_nonzero(dense) / dense.size)
    with pytest.raises(ValueError):
        as_dense.matrix[0, 0] = 1.0  # read-only


def test_scale_rows_and_column_slice():
    dense = band_matrix(60, 50, 7)
    scale = np.linspace(1, 2, 60)
    for storage in ("dense", "sparse"):
        matrix = FoldingMatrix(dense, storage=storage)
        scaled = matrix.scale_rows(scale)
        assert scaled.storage == storage
        np.testing.assert_allclose(scaled.to_dense(), dense * scale[:, None], rtol=1e-15)
        np.testing.assert_array_equal(matrix.column_slice(5, 20).to_dense(), dense[:, 5:20])


def test_errors_name_the_problem():
    with pytest.raises(DatasetError, match="storage"):
        FoldingMatrix(np.eye(2), storage="fast")
    with pytest.raises(DatasetError, match="2-D"):
        FoldingMatrix(np.ones(3))
    with pytest.raises(DatasetError, match="non-finite"):
        FoldingMatrix(np.array([[1.0, np.nan]]))
    with pytest.raises(DatasetError, match="n_true=3"):
        FoldingMatrix(np.eye(3)).fold(np.ones(4))
    with pytest.raises(DatasetError, match="row scale"):
        FoldingMatrix(np.eye(3)).scale_rows(np.ones(2))
