"""A 60,000 x 60,000 sparse response: built, written, read back and folded within memory.

The work runs in a fresh interpreter so that its peak memory (``VmHWM``,
imports included) and its numpy allocations (``tracemalloc``) are measured
alone, whatever other tests ran before.
"""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"

CHILD = textwrap.dedent(
    """
    import json, resource, sys, time, tracemalloc
    start = time.perf_counter()
    import astropy.units as u
    import numpy as np
    import scipy.sparse as sp
    from fluxfit.datasets.ogip import RMF, read_rmf, write_rmf
    from fluxfit.irf.response import EffectiveArea, EnergyDispersionMatrix, SpectralResponse

    def peak_rss_mb():
        # VmHWM is this process's own peak; on Linux ru_maxrss also counts the parent's
        # resident memory at fork time (a pytest worker holding real data: hundreds of MB)
        try:
            with open("/proc/self/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024.0
        except OSError:
            pass
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    n, width = 60_000, 50
    path = sys.argv[1]
    tracemalloc.start()
    t0 = time.perf_counter()
    # diagonal band: true bin i spreads over channels i-25 .. i+24 (clipped), rows sum to 1
    offsets = np.arange(width) - width // 2
    columns = (np.arange(n)[:, None] + offsets[None, :]).ravel()
    inside = (columns >= 0) & (columns < n)
    weights = np.tile(np.exp(-0.5 * (offsets / 8.0) ** 2), n)
    per_row = inside.reshape(n, width).sum(axis=1)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(per_row, out=indptr[1:])
    matrix = sp.csr_matrix((weights[inside], columns[inside], indptr), shape=(n, n))
    del columns, inside, weights
    matrix = sp.diags(1.0 / np.asarray(matrix.sum(axis=1)).ravel()) @ matrix
    reference = matrix.copy()
    edges = np.geomspace(10.0, 1e6, n + 1) * u.keV
    edisp = EnergyDispersionMatrix(edges, edges, matrix, copy=False)
    del matrix
    t1 = time.perf_counter()
    write_rmf(RMF.from_edisp(edisp, first_channel=1), path)
    del edisp
    t2 = time.perf_counter()
    rmf = read_rmf(path)
    t3 = time.perf_counter()
    flux = np.random.default_rng(0).random(n)
    folded = rmf.edisp.fold(flux)
    t4 = time.perf_counter()
    batch = np.random.default_rng(1).random((8, n))
    folded_batch = rmf.edisp.fold(batch)
    t5 = time.perf_counter()
    area = EffectiveArea(edges, np.linspace(1.0, 100.0, n) * u.cm**2)
    response = SpectralResponse(rmf.edisp, area, exposure=1000.0)
    counts = response.fold(flux * 1e-3)
    t6 = time.perf_counter()
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    out = {
        "storage": rmf.edisp.storage,
        "nnz": int(rmf.edisp.matrix.nnz),
        "identical": bool((rmf.edisp.matrix != reference).nnz == 0),
        "edges_identical": bool(np.array_equal(rmf.edisp.energy_true_edges.value, edges.value)),
        "normalised": rmf.edisp.is_normalised(),
        "includes_area": rmf.includes_effective_area,
        "fold_error": float(np.max(np.abs(folded - reference.T @ flux))),
        "batch_error": float(np.max(np.abs(folded_batch - (reference.T @ batch.T).T))),
        "counts_error": float(
            np.max(np.abs(counts - reference.T @ (flux * 1e-3 * 1000.0 * area.area_cm2)))
            / counts.max()
        ),
        "build_s": t1 - t0,
        "write_s": t2 - t1,
        "read_s": t3 - t2,
        "fold_s": t4 - t3,
        "fold_batch8_s": t5 - t4,
        "response_s": t6 - t5,
        "total_s": time.perf_counter() - start,
        "traced_peak_mb": traced_peak / 1e6,
        "maxrss_mb": peak_rss_mb(),
    }
    print(json.dumps(out))
    """
)


@pytest.mark.slow
def test_60000_channel_response_round_trip_within_memory(tmp_path):
    path = tmp_path / "large_rmf.fits"
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "2"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    facts = json.loads(result.stdout.strip().splitlines()[-1])
    print(json.dumps(facts, indent=1))
    assert facts["storage"] == "sparse"
    assert facts["nnz"] == 60_000 * 50 - 2 * sum(range(1, 26)) + 25  # band clipped at the ends
    assert facts["identical"] and facts["edges_identical"]
    assert facts["normalised"] and not facts["includes_area"]
    assert facts["fold_error"] < 1e-12 and facts["batch_error"] < 1e-12
    assert facts["counts_error"] < 1e-12
    assert path.stat().st_size < 40e6  # 3M float64 values + 60k groups
    # memory: numpy allocations and the whole process (imports included)
    assert facts["traced_peak_mb"] < 300
    assert facts["maxrss_mb"] < 500
    assert facts["total_s"] < 20
