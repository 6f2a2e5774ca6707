"""What identifies a configuration: its hash, the toolkit version, and the ``sp.pipeline`` id made of both.

Secrets enter only as their reference, so the hash and the id can go into headers and reports.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel

from toolkit.config.models import PipelineConfig


def config_to_dict(cfg: BaseModel) -> Any:
    """A JSON-ready view of the config (or a section of it) with secrets shown only as references."""
    return cfg.model_dump(mode="json")


#: sections that change how the pipeline is watched, not what it does, so not its ``sp.pipeline`` header
_NOT_HASHED = frozenset({"slo"})


def config_hash(cfg: PipelineConfig) -> str:
    """SHA-256 of the canonical JSON of the config: same settings, same hash, whatever the file format.

    Secrets enter only as their reference (``env:NAME``/``file:PATH``), so rotating a
    password does not change the hash and the hash reveals nothing about it.
    """
    described = {k: v for k, v in config_to_dict(cfg).items() if k not in _NOT_HASHED}
    canonical = json.dumps(described, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def toolkit_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("snowplow-kafka-toolkit")
    except PackageNotFoundError:
        return "0+unknown"


def pipeline_id(cfg: PipelineConfig) -> str:
    """The ``sp.pipeline`` header value: toolkit version and a short config hash."""
    return f"sptk/{toolkit_version()} config/{config_hash(cfg)[:16]}"
