"""config.yaml files for tests that run a command on a file: the repository's own settings
with some keys changed, its content paths made absolute so the file can live anywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


# Where every test's desks keep trained matcher models (`matcher.cache`): one folder for
# the whole run, inside the repository (var/ is ignored by git). A model is keyed by what
# shapes it, so tests with other catalogs or settings never read each other's.
MODELS = str(ROOT / "var" / "cache")


def config_file(folder: Path, changes: dict[str, Any] | None = None) -> Path:
    data = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    data["paths"] = {key: str(ROOT / value) for key, value in data["paths"].items()}
    data["matcher"]["cache"] = MODELS
    path = folder / "config.yaml"
    path.write_text(
        yaml.safe_dump(_merge(data, changes or {}), allow_unicode=True, sort_keys=False), "utf-8"
    )
    return path
