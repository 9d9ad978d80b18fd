"""AnalysisResults: MLE results from a fit, tables, FITS write/read (lossless), errors.

Tolerances: MLE statistics against 3ML's ``mle`` section (-log(likelihood) per dataset
within 0.01, AIC/BIC within 0.05: the minima agree to ~1e-4 in the statistic); covariance
fluxes against 3ML's covariance-sampled fluxes within 1 % (values) and 3 % (bounds: 3ML
samples in its log-transformed space, 5000 draws); round trips bit for bit.
"""

import json

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits

from fluxfit.cli.demo import build_seed000_models
from fluxfit.datasets import Datasets, SpectrumDatasetOnOff
from fluxfit.errors import FormatError, MissingFileError, OverwriteError
from fluxfit.fit import Fit
from fluxfit.results import AnalysisResults, ResultsError
from fluxfit.utils import nested_equal


def threeml_label(key: str) -> str:
    return key.replace("src1.spectrum.main.Blackbody.", "src1.spectral.").replace(
        "src2.spectrum.main.composite.", "src2.spectral."
    )


@pytest.fixture(scope="module")
def task1(reference_dir):
    return json.loads((reference_dir / "threeml/task1_multisource.json").read_text())


@pytest.fixture(scope="module")
def mle(reference_dir, task1):
    datasets = Datasets(
        [
            SpectrumDatasetOnOff.read(
                reference_dir / f"threeml/task1_{n}.pha", spectrum_number=1, name=n
            )
            for n in ("s1", "s2")
        ]
    )
    models = build_seed000_models()
    datasets.models = models
    for key, value in task1["loglike_anchors"]["start_values"].items():
        models.parameters[threeml_label(key)].value = value
    result = Fit().run(datasets)
    assert result.success
    return AnalysisResults.from_fit_result(result, datasets)


@pytest.fixture(scope="module")
def bayes_results(reference_dir):
    npz = np.load(reference_dir / "threeml/task1_ultranest_default_samples.npz")
    names = [threeml_label(k) for k in npz.files]
    samples = np.column_stack([npz[k] for k in npz.files])[::7]
    rng = np.random.default_rng(0)
    weights = rng.uniform(0.5, 1.5, size=len(samples))
    return AnalysisResults(
        build_seed000_models(),
        names,
        "Bayesian",
        best_fit=samples[0],
        samples=samples,
        weights=weights,
        log_likelihood=rng.normal(size=len(samples)),
        log_prior=rng.normal(size=len(samples)),
        measures={"ln(Z)": -1339.1, "DIC": 2614.7},
        meta={"sampler": "test", "options": {"a": 1, "b": [1.5, None]}},
    )


def test_mle_statistics_match_threeml(mle, task1):
    ref = task1["mle"]
    stats = mle.get_statistic_frame()
    for row in stats:
        assert row["-log(likelihood)"] == pytest.approx(
            ref["minus_log_like"][row["dataset"]], abs=0.01
        )
    assert stats["n_data_points"][-1] == 256
    assert mle.measures["AIC"] == pytest.approx(ref["statistical_measures"]["AIC"], abs=0.05)
    assert mle.measures["BIC"] == pytest.approx(ref["statistical_measures"]["BIC"], abs=0.05)
    assert mle.analysis_type == "MLE" and not mle.is_bayesian
    assert mle.meta["success"] is True


def test_mle_table(mle, task1):
    table = mle.to_table()
    for row in table:
        ref = task1["mle"]["best_fit"][
            next(k for k in task1["mle"]["best_fit"] if threeml_label(k) == row["name"])
        ]
        assert row["value"] == pytest.approx(ref["value"], rel=1e-3)
        assert row["error"] == pytest.approx(ref["error"], rel=0.05)
        assert row["positive_error"] == pytest.approx(-row["negative_error"])
    assert "samples" not in str(mle) and "Best fit" in str(mle)


def test_mle_fluxes(mle, task1):
    ref = task1["mle"]["fluxes"]["per_source_1keV_1MeV_erg_quad"]["table"]["src2: total"]
    sampled = mle.get_flux(1 * u.keV, 1 * u.MeV, sources="src2")
    linear = mle.get_flux(1 * u.keV, 1 * u.MeV, sources="src2", error_propagation="linear")
    assert sampled["flux"][0] == linear["flux"][0]
    assert sampled["flux"][0].value == pytest.approx(ref["flux"], rel=0.01)
    assert sampled["lower_bound"][0].value == pytest.approx(ref["low_bound"], rel=3e-3)
    assert sampled["upper_bound"][0].value == pytest.approx(ref["hi_bound"], rel=3e-3)
    assert np.allclose(linear["lower_bound"].value, sampled["lower_bound"].value, rtol=2e-3)
    assert sampled.meta["n_samples"] == 10000 and linear.meta["error_type"] == "linear"
    # seeded: the same draws again
    again = mle.get_flux(1 * u.keV, 1 * u.MeV, sources="src2")
    assert np.array_equal(again["lower_bound"], sampled["lower_bound"])
    with pytest.raises(ResultsError):
        mle.get_flux(1 * u.keV, 1 * u.MeV, error_propagation="bootstrap")


def assert_same_results(a, b):
    assert b.analysis_type == a.analysis_type
    assert b.parameter_names == a.parameter_names
    assert np.array_equal(b.best_fit, a.best_fit)
    assert nested_equal(b.models.to_dict(full_output=True), a.models.to_dict(full_output=True))
    assert np.array_equal(b.covariance, a.covariance)
    for name in ("samples", "weights", "log_likelihood", "log_prior"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None and y is None) or np.array_equal(x, y), name
    assert b.measures == pytest.approx(a.measures)
    assert list(b.measures) == list(a.measures)
    assert b.meta == a.meta
    if a.statistics is not None:
        assert b.statistics.colnames == a.statistics.colnames
        for name in a.statistics.colnames:
            assert list(b.statistics[name]) == list(a.statistics[name])


@pytest.mark.parametrize("which", ["mle", "bayes_results"])
def test_write_read_roundtrip(which, request, tmp_path):
    results = request.getfixturevalue(which)
    path = tmp_path / "results.fits"
    results.write(path)
    back = AnalysisResults.read(path)
    assert_same_results(results, back)
    for kwargs in ({}, {"components": True, "flux_unit": "1/(cm2 s)"}, {"sum_sources": True}):
        first = results.get_flux(10 * u.keV, 500 * u.keV, **kwargs)
        second = back.get_flux(10 * u.keV, 500 * u.keV, **kwargs)
        for name in ("flux", "lower_bound", "upper_bound"):
            assert np.array_equal(first[name], second[name])
    assert np.array_equal(results.to_table()["upper_bound"], back.to_table()["upper_bound"])
    # priors and links survive
    assert back.models.parameters["src2.spectral.F_2"].prior is not None
    assert back.models["src1"].spectral_model.kT.is_linked
    with fits.open(path) as hdul:
        assert hdul[0].header["FFRESULT"] == "AnalysisResults"
        assert "MODELS" in hdul and "MEASURES" in hdul and "META" in hdul


def test_overwrite_and_bad_files(mle, tmp_path):
    path = tmp_path / "results.fits"
    mle.write(path)
    with pytest.raises(OverwriteError):
        mle.write(path)
    mle.write(path, overwrite=True)
    with pytest.raises(MissingFileError):
        AnalysisResults.read(tmp_path / "missing.fits")
    other = tmp_path / "other.fits"
    fits.PrimaryHDU().writeto(other)
    with pytest.raises(FormatError, match="FFRESULT"):
        AnalysisResults.read(other)
    text = tmp_path / "text.fits"
    text.write_text("not fits")
    with pytest.raises(FormatError):
        AnalysisResults.read(text)
    # a file without its PARAMETERS extension
    with fits.open(path) as hdul:
        del hdul["PARAMETERS"]
        hdul.writeto(tmp_path / "broken.fits")
    with pytest.raises(FormatError, match="PARAMETERS"):
        AnalysisResults.read(tmp_path / "broken.fits")


def test_weighted_summaries(bayes_results):
    r = bayes_results
    assert r.n_samples == len(r.weights) and r.weights.sum() == pytest.approx(1.0)
    assert r.ess < r.n_samples
    table = r.to_table()
    assert {"median", "std", "lower_bound", "upper_bound"} <= set(table.colnames)
    low, high = r.credible_intervals(0.68, "hpd")
    assert np.all(low < r.median) and np.all(r.median < high)
    assert r.equal_weight_samples().shape == r.samples.shape
    assert set(r.samples_dict()) == set(r.parameter_names)
    assert r.correlation.shape == (5, 5) and np.allclose(np.diag(r.correlation), 1)


def test_constructor_errors():
    models = build_seed000_models()
    with pytest.raises(ResultsError):
        AnalysisResults(models, ["src1.spectral.K"], "Frequentist")
    with pytest.raises(ResultsError):
        AnalysisResults(models, ["src1.spectral.nope"])
    with pytest.raises(ResultsError):
        AnalysisResults(models, ["src1.spectral.K"], "Bayesian")
    with pytest.raises(ResultsError):
        AnalysisResults(models, ["src1.spectral.K"], samples=np.ones((3, 2)))
    with pytest.raises(ResultsError):
        AnalysisResults(models, ["src1.spectral.K"], covariance=np.ones((2, 2)))
