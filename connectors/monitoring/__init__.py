"""Operating the toolkit: Prometheus rules generated from the ``[slo]`` section (docs/operations.md)."""
