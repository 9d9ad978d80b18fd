"""Lossless round trip of saved analysis results (`AnalysisResults.write` / `read`), as a property.

Random but valid results (MLE or Bayesian) over random models (every prior type, scale/offset
links, shared parameters, a models covariance) are written and read back; then

* the models: every parameter value, unit, bound, frozen flag, error, prior and link exact
  (compared through `float.hex`), the models covariance bit for bit;
* the parameter labels, best-fit values, covariance of the free parameters bit for bit;
* the samples, weights, log-likelihoods and log-priors bit for bit (NaN payloads included),
  and "not given" (None) kept apart from "all NaN";
* the per-dataset statistics table (column names, dtypes, values bit for bit), the measures
  (names and values bit for bit) and the meta (JSON) equal;
* fluxes (`get_flux`) identical: same values from the file as from memory.
"""

from __future__ import annotations

import json
import math
import tempfile
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
from _fuzzlib import RECORD
from astropy.table import Table
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from test_roundtrip import _parameter_state, random_models

from fluxfit.errors import FluxfitError
from fluxfit.results import AnalysisResults

ANY_FLOAT = st.floats(allow_nan=True, allow_infinity=True, width=64)
FINITE = st.floats(-1e300, 1e300, allow_nan=False)
NAMES = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789()_-.",
    min_size=1,
    max_size=12,
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**62), 2**62) | FINITE | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(NAMES, children, max_size=3),
    max_leaves=8,
)


def _floats(data, shape, label, elements=ANY_FLOAT):
    return data.draw(hnp.arrays(np.float64, shape, elements=elements), label=label)


def _statistics(data) -> Table | None:
    if not data.draw(st.booleans(), label="statistics"):
        return None
    n = data.draw(st.integers(1, 4), label="n datasets")
    table = Table()
    table["dataset"] = [*data.draw(st.lists(NAMES, min_size=n, max_size=n, unique=True)), "total"]
    table["n_data_points"] = np.array(
        data.draw(st.lists(st.integers(0, 2**40), min_size=n + 1, max_size=n + 1)), dtype=np.int64
    )
    table["stat"] = _floats(data, n + 1, "stat")
    table["-log(likelihood)"] = _floats(data, n + 1, "loglike")
    if data.draw(st.booleans(), label="posterior column"):
        table["-log(posterior)"] = _floats(data, n + 1, "logpost")
    for name in table.colnames[2:]:
        table[name].format = ".6f"
    return table


def random_results(data) -> AnalysisResults:
    models = random_models(data)
    free = models.parameters.free_parameters
    if not len(free):
        candidates = [p for p in models.parameters if p.link_info is None]
        data.draw(st.sampled_from(candidates), label="unfreeze").frozen = False
        free = models.parameters.free_parameters
    names = free.names
    n = len(names)
    bayesian = data.draw(st.booleans(), label="bayesian")
    kwargs = {
        "best_fit": _floats(data, n, "best fit"),
        "statistics": _statistics(data),
        "measures": dict(
            zip(
                data.draw(st.lists(NAMES, max_size=5, unique=True), label="measures"),
                data.draw(st.lists(ANY_FLOAT, min_size=5, max_size=5), label="measure values"),
            )
        ),
        "meta": data.draw(st.dictionaries(NAMES, JSON_VALUES, max_size=4), label="meta"),
    }
    if bayesian:
        k = data.draw(st.integers(1, 30), label="n samples")
        kwargs["samples"] = _floats(data, (k, n), "samples")
        kwargs["weights"] = (
            None
            if data.draw(st.booleans(), label="equal weights")
            else _floats(data, k, "weights", st.floats(1e-300, 1e300))
        )
        for key in ("log_likelihood", "log_prior"):
            choice = data.draw(st.sampled_from(["none", "values", "nan"]), label=key)
            if choice == "values":
                kwargs[key] = _floats(data, k, key)
            elif choice == "nan":
                kwargs[key] = np.full(k, np.nan)
    if not bayesian or data.draw(st.booleans(), label="covariance too"):
        factors = _floats(data, (n, n), "covariance", st.floats(-1e100, 1e100))
        kwargs["covariance"] = factors @ factors.T if data.draw(st.booleans()) else factors
    return AnalysisResults(models, names, "Bayesian" if bayesian else "MLE", **kwargs)


def _bits(array):
    return (
        None
        if array is None
        else (np.asarray(array).dtype.str, np.shape(array), np.asarray(array).tobytes())
    )


def _flux(results):
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            table = results.get_flux(
                1 * u.TeV, 10 * u.TeV, flux_unit="cm-2 s-1", error_propagation="linear"
            )
        return [
            np.asarray(table[c].value).tobytes() for c in ("flux", "lower_bound", "upper_bound")
        ]
    except (FluxfitError, ValueError, ArithmeticError) as exc:
        return type(exc).__name__


@given(data=st.data())
def test_results_round_trip(data):
    results = random_results(data)
    with tempfile.TemporaryDirectory(prefix="fluxfit-roundtrip-") as folder:
        path = Path(folder) / "results.fits"
        results.write(path)
        again = AnalysisResults.read(path)
    assert again.analysis_type == results.analysis_type
    assert again.parameter_names == results.parameter_names
    assert again.models.names == results.models.names
    assert _parameter_state(again.models) == _parameter_state(results.models)
    assert _bits(again.models.covariance) == _bits(results.models.covariance)
    assert [p.name for p in again.parameters] == [p.name for p in results.parameters]
    for name in ("best_fit", "_covariance", "samples", "weights", "log_likelihood", "log_prior"):
        assert _bits(getattr(again, name)) == _bits(getattr(results, name)), name
    assert list(again.measures) == list(results.measures)
    for key, value in results.measures.items():
        assert float(value).hex() == again.measures[key].hex(), key
    assert json.dumps(again.meta, sort_keys=True) == json.dumps(results.meta, sort_keys=True)
    if results.statistics is None:
        assert again.statistics is None
    else:
        assert again.statistics.colnames == results.statistics.colnames
        for name in results.statistics.colnames:
            written, read = results.statistics[name], again.statistics[name]
            assert list(read) == list(written) if written.dtype.kind in "US" else True, name
            if written.dtype.kind not in "US":
                assert _bits(np.asarray(read)) == _bits(np.asarray(written)), name
                assert read.format == written.format
    if all(math.isfinite(v) for v in results.best_fit) and results.samples is None:
        assert _flux(again) == _flux(results)
    RECORD["round trip: analysis results"]["identical"] += 1


def test_results_round_trip_fluxes(tmp_path):
    """Fluxes and their errors from the file equal those from memory (MLE and Bayesian)."""
    from test_fuzz_results import example_results

    for name, results in example_results().items():
        path = tmp_path / f"{name}.fits"
        results.write(path)
        again = AnalysisResults.read(path)
        for kwargs in ({"error_propagation": "linear"}, {"n_samples": 200}):
            if name == "minimal":
                continue
            a = results.get_flux(1 * u.TeV, 10 * u.TeV, flux_unit="erg cm-2 s-1", **kwargs)
            b = again.get_flux(1 * u.TeV, 10 * u.TeV, flux_unit="erg cm-2 s-1", **kwargs)
            for column in ("flux", "lower_bound", "upper_bound"):
                assert np.asarray(a[column]).tobytes() == np.asarray(b[column]).tobytes()
