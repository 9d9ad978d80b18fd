"""Fuzz the saved analysis results reader (`AnalysisResults.read`, `fluxfit.results.io`).

Valid result files (MLE with covariance, per-dataset statistics and measures; Bayesian with
weighted samples, log-likelihoods and log-priors; models with priors and parameter links) are
written with `AnalysisResults.write` and damaged by `_fuzzlib.mutate_fits` (HDUs, columns,
keywords, values) and `mutate_bytes` (truncation, overwritten bytes, gzip, garbage), plus
damage to the text payloads (the models YAML of the MODELS HDU, the JSON of META).
"""

from __future__ import annotations

import functools
import io
import math
import tempfile
import warnings
from pathlib import Path

import numpy as np
from _fuzzlib import attempt, hdul_bytes, mutate_bytes, mutate_fits, mutate_text, write_case
from astropy.io import fits
from astropy.table import Table
from hypothesis import given
from hypothesis import strategies as st

from fluxfit.models import (
    BlackbodySpectralModel,
    GaussianPrior,
    LogUniformPrior,
    Models,
    PowerLawSpectralModel,
    SkyModel,
    UniformPrior,
)
from fluxfit.results import AnalysisResults

READER = "analysis results FITS (AnalysisResults.read)"
KEYWORDS = (
    "FFRESULT",
    "FFFORMAT",
    "ANALYSIS",
    "NMEASURE",
    "HASLOGL",
    "HASLOGP",
    "EXTNAME",
    "TFORM1",
    "NAXIS1",
    "NAXIS2",
)


def example_models() -> Models:
    pl = PowerLawSpectralModel(index=2.1, amplitude="3e-12 cm-2 s-1 TeV-1")
    pl.index.prior = UniformPrior(min=1.0, max=4.0)
    pl.amplitude.prior = LogUniformPrior(min=1e-14, max=1e-10)
    bb1, bb2 = BlackbodySpectralModel(), BlackbodySpectralModel()
    bb1.kT.prior = GaussianPrior(mu=30.0, sigma=5.0)
    bb2.kT.link(bb1.kT, scale=1.5, offset=0.0)
    models = Models([SkyModel(pl, name="a"), SkyModel(bb1 + bb2, name="b")])
    n = len(models.parameters)
    rng = np.random.default_rng(3)
    factors = rng.normal(size=(n, n)) * 1e-3
    models.covariance = factors @ factors.T
    return models


def _statistics(bayesian: bool) -> Table:
    table = Table()
    table["dataset"] = ["d1", "d2", "total"]
    table["n_data_points"] = np.array([10, 20, 30])
    table["stat"] = np.array([12.5, 20.25, 32.75])
    table["-log(likelihood)"] = np.array([6.0, 10.0, 16.0])
    if bayesian:
        table["-log(posterior)"] = np.array([7.0, 11.0, 18.0])
    return table


def example_results() -> dict[str, AnalysisResults]:
    models = example_models()
    free = models.parameters.free_parameters
    names = free.names
    n = len(names)
    rng = np.random.default_rng(11)
    factors = rng.normal(size=(n, n))
    mle = AnalysisResults(
        models,
        names,
        "MLE",
        covariance=factors @ factors.T,
        statistics=_statistics(False),
        measures={"AIC": 40.5, "BIC": 43.25, "n_data_points": 30},
        meta={"method": "migrad", "success": True, "nfev": 123},
    )
    k = 40
    samples = np.array(free.free_values) + 0.01 * rng.normal(size=(k, n))
    bayes = AnalysisResults(
        models.copy(),
        names,
        "Bayesian",
        samples=samples,
        weights=rng.uniform(0.1, 1.0, k),
        log_likelihood=-rng.uniform(10, 20, k),
        log_prior=-rng.uniform(0, 5, k),
        statistics=_statistics(True),
        measures={"DIC": 35.0, "pDIC": 3.5, "ln(Z)": -20.125},
        meta={"sampler": "emcee", "seed": 0, "settings": {"n_walkers": 8}},
    )
    minimal = AnalysisResults(example_models(), names, "MLE")
    return {"mle": mle, "bayes": bayes, "minimal": minimal}


@functools.cache
def base_files() -> dict[str, bytes]:
    out = {}
    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, results in example_results().items():
            path = Path(folder) / f"{name}.fits"
            results.write(path)
            out[name] = path.read_bytes()
    return out


YAML_LINES = (
    "!!python/object/apply:os.system ['echo pwned']\n",
    "components: &a [*a]\n",
    "covariance: ../../etc/passwd\n",
    "- {name: x, type: NoSuchModel}\n",
    "value: .nan\n",
    "garbage\n",
)
JSON_PIECES = ("{", "}", "[", "NaN", "Infinity", '"', "\\u0000", ",", "null", "1e999")


def _replace_text(raw: bytes, extname: str, column: str, text: str) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hdul = fits.open(io.BytesIO(raw), memmap=False)
        hdul = fits.HDUList([hdu.copy() for hdu in hdul])
    encoded = text.encode("ascii", "replace")
    col = fits.Column(name=column, format=f"{max(len(encoded), 1)}A", array=np.array([encoded]))
    hdul[extname] = fits.BinTableHDU.from_columns([col], name=extname)
    return hdul_bytes(hdul)


def _mutate_payload(data, raw: bytes) -> bytes:
    """Damage the models YAML (MODELS) or the JSON (META) stored in the file."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(io.BytesIO(raw), memmap=False) as hdul:
            yaml_text = hdul["MODELS"].data["YAML"][0]
            json_text = hdul["META"].data["JSON"][0]
    yaml_text = yaml_text.decode() if isinstance(yaml_text, bytes) else str(yaml_text)
    json_text = json_text.decode() if isinstance(json_text, bytes) else str(json_text)
    if data.draw(st.booleans(), label="damage YAML (else JSON)"):
        return _replace_text(raw, "MODELS", "YAML", mutate_text(data, yaml_text, YAML_LINES))
    position = data.draw(st.integers(0, len(json_text)), label="json position")
    piece = data.draw(st.sampled_from(JSON_PIECES), label="json piece")
    cut = data.draw(st.booleans(), label="json cut")
    json_text = json_text[:position] + piece + ("" if cut else json_text[position:])
    return _replace_text(raw, "META", "JSON", json_text)


def _check(results: AnalysisResults):
    n = len(results.parameter_names)
    assert results.analysis_type in ("MLE", "Bayesian")
    assert results.best_fit.shape == (n,)
    assert len(results.parameters) == n
    if results._covariance is not None:
        assert results._covariance.shape == (n, n)
    if results.samples is not None:
        k = results.samples.shape[0]
        assert results.samples.shape == (k, n)
        assert results.weights.shape == (k,)
        assert np.all(np.isfinite(results.weights))
    for value in results.measures.values():
        assert isinstance(value, float)
    assert isinstance(results.meta, dict)
    for par in results.models.parameters:
        assert math.isfinite(par.value)


@given(data=st.data())
def test_fuzz_results_read(data):
    name = data.draw(st.sampled_from(sorted(base_files())), label="base")
    raw = base_files()[name]
    if data.draw(st.integers(0, 4), label="payload damage") == 0:
        raw = _mutate_payload(data, raw)
    raw = mutate_bytes(data, mutate_fits(data, raw, KEYWORDS))
    with tempfile.TemporaryDirectory(prefix="fluxfit-fuzz-") as folder:
        path = write_case(folder, "results.fits", raw)

        def read():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return AnalysisResults.read(path)

        results, _ = attempt(READER, read, [path.name])
        if results is not None:
            _check(results)
