"""Write tests/makers/gammapy_makers_reference.json with Gammapy 2.1 (run in the bench venv).

Seed 003's reduction (Gammapy's time-resolved spectroscopy tutorial) done with Gammapy's
makers; per piece the arrays the fluxfit makers must reproduce: ON/OFF counts per bin,
exposure, energy dispersion, safe mask, the reflected OFF regions; plus variants of the
makers (exclusion mask, min_distance, other safe-mask methods) on the first observation.

    /tmp/benchvenv/bin/python bench/refgen/make_gammapy_makers_reference.py
"""

import itertools
import json
import os
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import Angle, SkyCoord
from astropy.time import Time
from gammapy.data import DataStore
from gammapy.datasets import SpectrumDataset
from gammapy.makers import (
    ReflectedRegionsBackgroundMaker,
    ReflectedRegionsFinder,
    SafeMaskMaker,
    SpectrumDatasetMaker,
)
from gammapy.maps import MapAxis, RegionGeom, WcsGeom
from regions import CircleSkyRegion

HERE = Path(__file__).resolve().parents[2] / "tests" / "makers"
DATA = Path(os.environ.get("FLUXFIT_DATA", HERE.parents[2] / "shared" / "data"))
PKS2155 = SkyCoord(329.71693826 * u.deg, -30.2255890 * u.deg, frame="icrs")


def main():
    store = DataStore.from_dir(DATA / "gammapy-data" / "hess-dl3-dr1")
    selection = dict(
        type="sky_circle", frame="icrs", lon=PKS2155.ra, lat=PKS2155.dec, radius=2 * u.deg
    )
    obs_ids = store.obs_table.select_observations(selection)["OBS_ID"]
    observations = store.get_observations(obs_ids)
    t0 = Time("2006-07-29T20:30")
    times = t0 + np.arange(25) * 15 * u.min
    intervals = [Time([a, b]) for a, b in itertools.pairwise(times)]
    pieces = observations.select_time(intervals)

    energy_axis = MapAxis.from_energy_bounds("0.4 TeV", "20 TeV", nbin=10)
    energy_axis_true = MapAxis.from_energy_bounds("0.1 TeV", "40 TeV", nbin=20, name="energy_true")
    on_region = CircleSkyRegion(center=PKS2155, radius=Angle("0.11 deg"))
    geom = RegionGeom.create(region=on_region, axes=[energy_axis])
    empty = SpectrumDataset.create(geom=geom, energy_axis_true=energy_axis_true)
    maker = SpectrumDatasetMaker(
        containment_correction=True, selection=["counts", "exposure", "edisp"]
    )
    bkg_maker = ReflectedRegionsBackgroundMaker()
    safe = SafeMaskMaker(methods=["aeff-max"], aeff_percent=10)
    finder = ReflectedRegionsFinder()

    out = {"pieces": [], "variants": {}}
    for i, obs in enumerate(pieces):
        dataset = maker.run(empty.copy(name=f"ds{i:02d}_obs{obs.obs_id}"), obs)
        onoff = bkg_maker.run(dataset, obs)
        onoff = safe.run(onoff, obs)
        regions, _ = finder.run(on_region, obs.get_pointing_icrs(obs.tmid))
        out["pieces"].append(
            {
                "name": onoff.name,
                "obs_id": int(obs.obs_id),
                "counts": onoff.counts.data.ravel().astype(int).tolist(),
                "counts_off": onoff.counts_off.data.ravel().astype(int).tolist(),
                "acceptance_off": onoff.acceptance_off.data.ravel().tolist(),
                "exposure_cm2s": onoff.exposure.quantity.to_value("cm2 s").ravel().tolist(),
                "edisp": onoff.edisp.get_edisp_kernel().data.tolist(),
                "mask_safe": onoff.mask_safe.data.ravel().astype(bool).tolist(),
                "livetime_s": float(obs.observation_live_time_duration.to_value("s")),
                "off_centers_deg": [
                    [float(r.center.ra.deg), float(r.center.dec.deg)] for r in regions
                ],
                "off_radius_deg": float(regions[0].radius.to_value("deg")) if regions else None,
            }
        )

    # variants on the first full observation
    obs = observations[0]
    pointing = obs.get_pointing_icrs(obs.tmid)
    variants = out["variants"]
    for label, kwargs in {
        "min_distance_0.5rad": dict(min_distance="0.5 rad"),
        "min_distance_input_1rad": dict(min_distance_input="1 rad"),
        "max_region_number_3": dict(max_region_number=3),
        "angle_increment_0.3rad": dict(angle_increment="0.3 rad", min_distance="0.2 rad"),
    }.items():
        regions, _ = ReflectedRegionsFinder(**kwargs).run(on_region, pointing)
        variants[label] = [[float(r.center.ra.deg), float(r.center.dec.deg)] for r in regions]
    # exclusion mask: a circle on one side of the pointing
    mask_geom = WcsGeom.create(skydir=pointing, width=4 * u.deg, binsz=0.02, frame="icrs")
    excluded = CircleSkyRegion(
        pointing.directional_offset_by(90 * u.deg, 0.5 * u.deg), radius=0.3 * u.deg
    )
    exclusion = ~mask_geom.region_mask([excluded])
    regions, _ = ReflectedRegionsFinder().run(on_region, pointing, exclusion_mask=exclusion)
    variants["exclusion"] = {
        "mask_center_deg": [
            float(excluded.center.ra.deg),
            float(excluded.center.dec.deg),
        ],
        "mask_radius_deg": 0.3,
        "mask_width_deg": 4.0,
        "mask_binsz_deg": 0.02,
        "off_centers_deg": [[float(r.center.ra.deg), float(r.center.dec.deg)] for r in regions],
    }
    bkg_ex = ReflectedRegionsBackgroundMaker(exclusion_mask=exclusion)
    ds = maker.run(empty.copy(name="full"), obs)
    onoff = bkg_ex.run(ds, obs)
    variants["exclusion"]["counts_off"] = onoff.counts_off.data.ravel().astype(int).tolist()
    variants["exclusion"]["acceptance_off"] = onoff.acceptance_off.data.ravel().tolist()

    # safe-mask methods on the first observation
    masks = {}
    full = maker.run(empty.copy(name="full2"), obs)
    for label, kwargs in {
        "aeff-max": dict(methods=["aeff-max"], aeff_percent=10),
        "aeff-max-30": dict(methods=["aeff-max"], aeff_percent=30),
        "aeff-max-dl3": dict(methods=["aeff-max"], aeff_percent=10, irfs="DL3"),
        "aeff-max-position": dict(
            methods=["aeff-max"], position=pointing.directional_offset_by(0 * u.deg, 1 * u.deg)
        ),
        "aeff-max-fixed-offset": dict(methods=["aeff-max"], fixed_offset=1 * u.deg),
        "aeff-default": dict(methods=["aeff-default"]),
        "edisp-bias": dict(methods=["edisp-bias"], bias_percent=10),
        "edisp-bias-dl3": dict(methods=["edisp-bias"], bias_percent=10, irfs="DL3"),
        "edisp-bias-5": dict(methods=["edisp-bias"], bias_percent=5),
        "offset-max-0.4": dict(methods=["offset-max"], offset_max="0.4 deg"),
        "offset-max-1": dict(methods=["offset-max"], offset_max="1 deg"),
        "bkg-peak-dl3": dict(methods=["bkg-peak"], irfs="DL3"),
    }.items():
        try:
            masks[label] = (
                SafeMaskMaker(**kwargs).run(full.copy(), obs).mask_safe.data.ravel().tolist()
            )
        except Exception as exc:
            masks[label] = f"{type(exc).__name__}: {exc}"
    variants["safe_masks"] = masks

    # background from the IRF (selection "background")
    bmaker = SpectrumDatasetMaker(
        containment_correction=False, selection=["counts", "exposure", "edisp", "background"]
    )
    with_bkg = bmaker.run(empty.copy(name="bkg"), obs)
    variants["background_irf"] = with_bkg.background.data.ravel().tolist()
    variants["exposure_no_containment"] = with_bkg.exposure.data.ravel().tolist()
    averaged = SpectrumDatasetMaker(selection=["exposure", "edisp"], use_region_center=False)
    averaged = averaged.run(empty.copy(name="avg"), obs)
    variants["exposure_region_average"] = averaged.exposure.data.ravel().tolist()
    variants["edisp_region_average"] = averaged.edisp.get_edisp_kernel().data.tolist()
    oversampled = SpectrumDatasetMaker(selection=["background"], background_oversampling=4)
    variants["background_irf_oversampling_4"] = (
        oversampled.run(empty.copy(name="bkg4"), obs).background.data.ravel().tolist()
    )
    bkg_masks = {}
    for label, kwargs in {
        "bkg-peak": dict(methods=["bkg-peak"]),
        "aeff-max": dict(methods=["aeff-max"]),
    }.items():
        bkg_masks[label] = SafeMaskMaker(**kwargs).run(with_bkg.copy(), obs).mask_safe.data
        bkg_masks[label] = bkg_masks[label].ravel().tolist()
    variants["safe_masks_with_background"] = bkg_masks

    out["map"] = map_reference(store)
    path = HERE / "gammapy_makers_reference.json"
    path.write_text(json.dumps(out, separators=(",", ":")))
    print("wrote", path)


def _sample(data, step=7):
    """Every ``step``-th pixel of the two last (spatial) axes, as nested lists."""
    return np.asarray(data)[..., ::step, ::step].tolist()


def map_reference(store):
    """MapDatasetMaker, SafeMaskMaker and FoVBackgroundMaker on the Crab run 23523."""
    from gammapy.datasets import MapDataset
    from gammapy.makers import FoVBackgroundMaker, MapDatasetMaker

    obs = store.obs(23523)
    energy_axis = MapAxis.from_energy_bounds(1.0, 10.0, 4, unit="TeV")
    energy_axis_true = MapAxis.from_energy_bounds(0.5, 20, 10, unit="TeV", name="energy_true")
    geom = WcsGeom.create(
        skydir=(83.633, 22.014),
        binsz=0.02,
        width=(2, 2),
        frame="icrs",
        proj="CAR",
        axes=[energy_axis],
    )
    empty = MapDataset.create(geom=geom, energy_axis_true=energy_axis_true, name="empty")
    dataset = MapDatasetMaker().run(empty, obs)
    counts = dataset.counts.data
    nonzero = np.nonzero(counts)
    psf = dataset.psf
    psf_geom = psf.psf_map.geom
    edisp = dataset.edisp
    edisp_geom = edisp.edisp_map.geom
    center = SkyCoord(83.633, 22.014, unit="deg")
    corner = SkyCoord(82.9, 21.4, unit="deg")
    out = {
        "counts_nonzero": [[int(i) for i in idx] for idx in zip(*nonzero)],
        "counts_values": counts[nonzero].astype(int).tolist(),
        "exposure_sample_m2s": _sample(dataset.exposure.quantity.to_value("m2 s")),
        "exposure_sum_m2s": float(dataset.exposure.quantity.to_value("m2 s").sum()),
        "background_sample": _sample(dataset.background.data),
        "background_sum": dataset.background.data.sum(axis=(1, 2)).tolist(),
        "psf_geom_shape": [int(n) for n in psf_geom.data_shape],
        "psf_values_pixels": [
            psf.psf_map.data[:, :, j, i].tolist() for j, i in ((0, 0), (5, 5), (9, 3))
        ],
        "psf_exposure_sum_m2s": float(psf.exposure_map.quantity.to_value("m2 s").sum()),
        "psf_containment_radius_center_deg": psf.containment_radius(
            0.68, energy_true=energy_axis_true.center, position=center
        )
        .to_value("deg")
        .tolist(),
        "edisp_geom_shape": [int(n) for n in edisp_geom.data_shape],
        "edisp_kernel_center": edisp.get_edisp_kernel(position=center).data.tolist(),
        "edisp_kernel_corner": edisp.get_edisp_kernel(position=corner).data.tolist(),
        "edisp_exposure_sum_m2s": float(edisp.exposure_map.quantity.to_value("m2 s").sum()),
        "mask_safe_all": bool(dataset.mask_safe.data.all()),
        "livetime_s": float(obs.observation_live_time_duration.to_value("s")),
    }
    masks = {}
    for label, kwargs in {
        "offset-max-0.8": dict(methods=["offset-max"], offset_max="0.8 deg"),
        "aeff-default": dict(methods=["aeff-default"]),
        "aeff-max": dict(methods=["aeff-max"], aeff_percent=10),
        "aeff-max-position": dict(
            methods=["aeff-max"], aeff_percent=40, position=SkyCoord(83.0, 22.5, unit="deg")
        ),
        "edisp-bias": dict(methods=["edisp-bias"], bias_percent=10),
        "bkg-peak": dict(methods=["bkg-peak"]),
    }.items():
        mask = SafeMaskMaker(**kwargs).run(dataset.copy(name=label), obs).mask_safe.data
        masks[label] = {
            "per_energy": mask.sum(axis=(1, 2)).astype(int).tolist(),
            "sample": _sample(mask.astype(int)),
        }
    out["safe_masks"] = masks
    # FoV background: exclusion circle of 0.3 deg around the Crab
    exclusion = ~geom.to_image().region_mask([CircleSkyRegion(center, radius=0.3 * u.deg)])
    fov = {}
    for method in ("scale", "fit"):
        ds = dataset.copy(name=f"fov-{method}")
        ds = FoVBackgroundMaker(method=method, exclusion_mask=exclusion).run(ds)
        model = ds.models[f"{ds.name}-bkg"].spectral_model
        fov[method] = {
            "norm": float(model.norm.value),
            "norm_err": float(model.norm.error),
            "tilt": float(model.tilt.value),
        }
    out["fov_background"] = fov
    return out


if __name__ == "__main__":
    main()
