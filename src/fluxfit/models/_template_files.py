"""Where the template files named in a models YAML are looked for.

A models YAML names template files (``filename`` of `TemplateSpatialModel` and
`LightCurveTemplateTemporalModel`). `Models.read` records the YAML file while it builds the
models (`reading_models_file`); `resolve_template` then looks for a relative name in the
YAML's folder first, and otherwise where it did before (the current folder, after expanding
``$VARIABLES`` and ``~``, as Gammapy does: ``$GAMMAPY_DATA/...``). A template file that lies
outside the YAML's folder (after resolving ``..`` and symbolic links) is read, with a warning
in the log naming the YAML, the key and the file, as `read_datasets` does for data files.
Models built from a YAML string (`Models.from_yaml`) resolve names from the current folder.
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

__all__ = ["reading_models_file", "resolve_template"]

log = logging.getLogger("fluxfit.models")

_MODELS_FILE: ContextVar[Path | None] = ContextVar("fluxfit_models_file", default=None)


@contextmanager
def reading_models_file(path):
    """Within this block, template names resolve against the folder of ``path``."""
    token = _MODELS_FILE.set(Path(path))
    try:
        yield
    finally:
        _MODELS_FILE.reset(token)


def resolve_template(filename, where: str, key: str = "filename") -> Path:
    """The file a template name of a models YAML designates (see the module)."""
    path = Path(os.path.expandvars(str(filename))).expanduser()
    yaml_path = _MODELS_FILE.get()
    if yaml_path is None:
        return path
    folder = yaml_path.parent
    if not path.is_absolute() and (folder / path).exists():
        path = folder / path
    if path.exists():
        resolved, inside = path.resolve(), folder.resolve()
        if not resolved.is_relative_to(inside):
            log.warning(
                "%s: key %r = %r reads %s, outside the folder %s of the models file %s",
                where,
                key,
                str(filename),
                resolved,
                inside,
                yaml_path,
            )
    return path
