"""docs/configuration.md is generated from the pydantic models of ``fluxfit run``.

The committed page must be current, every key of the configuration must have a description
in docs/make_config_reference.py, and the page's YAML examples must validate.
"""

import importlib.util
import re
from pathlib import Path

import pytest
import yaml

pytest.importorskip("pydantic", minversion="2")

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _generator():
    spec = importlib.util.spec_from_file_location(
        "make_config_reference", DOCS / "make_config_reference.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_configuration_reference_is_current():
    assert (DOCS / "configuration.md").read_text() == _generator().render(), (
        "docs/configuration.md is stale: run python docs/make_config_reference.py"
    )


def test_every_key_is_described():
    module = _generator()
    paths = module.key_paths()
    assert "fit.sampler_options" in paths and "estimators.lightcurve.n_sigma_ul" in paths
    missing = [key for key in paths if key not in module.DESCRIPTIONS]
    assert not missing, f"add descriptions to docs/make_config_reference.py: {missing}"
    stale = [key for key in module.DESCRIPTIONS if key not in paths]
    assert not stale, f"descriptions of keys that do not exist: {stale}"


def test_examples_on_the_page_validate():
    from fluxfit.cli.config import AnalysisConfig

    text = (DOCS / "configuration.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
    assert len(blocks) >= 2
    for block in blocks:
        AnalysisConfig.model_validate(yaml.safe_load(block))
