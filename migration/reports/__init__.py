"""Reports of a reconciliation: a terminal summary, a deterministic JSON document, a self-contained HTML page."""

from migration.reports.html_report import render_html
from migration.reports.json_report import render_json, report_document
from migration.reports.terminal import render_terminal

__all__ = ["render_html", "render_json", "render_terminal", "report_document"]
