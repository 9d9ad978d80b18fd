"""The `fluxfit demo` command: outputs under --out, readable YAML, refusal to overwrite."""

import subprocess
import sys

import pytest

from fluxfit.cli.main import main
from fluxfit.models import Models


def test_demo_writes_outputs(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "src2.spectral.kT_1" in printed or "kT_1" in printed
    assert "Fluxes" in printed
    models = Models.read(out / "models.yaml")
    assert models.names == ["src1", "src2"]
    kt = models["src1"].spectral_model.kT
    assert kt.is_linked and kt.link_info.master is models["src2"].spectral_model.kT_1
    assert (out / "fluxes.ecsv").is_file() and (out / "parameters.ecsv").is_file()
    # a second run into the same folder refuses to overwrite, with a clear message
    assert main(["demo", "--out", str(out)]) == 1
    assert "exists" in capsys.readouterr().err
    assert main(["demo", "--out", str(out), "--overwrite", "--quiet"]) == 0


def test_demo_default_folder_in_cwd(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "fluxfit.cli.main", "--quiet", "demo"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    folders = list(tmp_path.glob("fluxfit-demo-*"))
    assert len(folders) == 1 and (folders[0] / "models.yaml").is_file()


def test_cli_help_and_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert "fluxfit" in capsys.readouterr().out
    assert main([]) == 2
