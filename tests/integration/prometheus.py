"""promtool and prometheus for tests: scripts/prometheus_tools.py builds them once and caches them."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def prometheus_tool(name: str) -> Path:
    """The cached binary (built on first use: minutes on a fresh machine, the way CI starts)."""
    spec = importlib.util.spec_from_file_location("prometheus_tools", ROOT / "scripts" / "prometheus_tools.py")
    assert spec and spec.loader
    tools = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tools)
    return tools.ensure(name)
