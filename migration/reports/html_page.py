"""What every sptk HTML page shares: the page shell, tables and SVG bar charts with real axes.

Pages are self-contained (inline CSS and SVG, no script, nothing fetched), escape every value that comes from
data, and are deterministic (no run time, fixed number formatting), so the same report gives the same bytes.
Charts scale with their container (``viewBox``, no fixed width) and wide tables scroll inside their own box, so a
page never overflows horizontally on a narrow screen.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

VERDICT_COLOURS = {"parity": "#1a7f37", "warn": "#9a6700", "fail": "#cf222e", "undecided": "#57606a"}
W, H, LEFT, RIGHT, TOP, BOTTOM = 960, 300, 64, 16, 16, 56

CSS = """
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;padding:16px;color:#1f2328;max-width:1100px}
h1{margin:0 0 4px;font-size:1.6em}h2{margin-top:28px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
.verdict{display:inline-block;color:#fff;padding:4px 12px;border-radius:6px;font-weight:600}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #d0d7de;padding:3px 8px;text-align:left;
vertical-align:top}td{overflow-wrap:break-word}
th{background:#f6f8fa}tr.bad td{background:#ffebe9}tr.warn td{background:#fff8c5}
code,pre{font-size:12px}pre{white-space:pre-wrap;overflow-wrap:anywhere}.muted{color:#57606a}
p,li{overflow-wrap:anywhere}
svg{display:block;width:100%;height:auto;max-width:100%}svg text{font:11px system-ui,sans-serif;fill:#57606a}
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 10px;vertical-align:middle}
svg.strip{max-width:760px}svg.strip text{font-size:16px}
table.history td:nth-child(1),table.history td:nth-child(8){white-space:nowrap}
"""


def page(title: str, body: Sequence[str]) -> str:
    return "\n".join([
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>", *body, "</body></html>\n"])


def badge(text: str, colour: str, extra: str = "") -> str:
    return f"<span class='verdict' style='background:{colour}'>{escape(text.upper())}</span>{escape(extra)}"


def verdict_badge(verdict: str, extra: str = "") -> str:
    return badge(verdict, VERDICT_COLOURS.get(verdict, VERDICT_COLOURS["undecided"]), extra)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], classes: Sequence[str] | None = None,
          css_class: str = "") -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for index, row in enumerate(rows):
        css = f' class="{escape(classes[index])}"' if classes and classes[index] else ""
        body.append(f"<tr{css}>" + "".join(f"<td>{escape(cell(v))}</td>" for v in row) + "</tr>")
    table_class = f' class="{escape(css_class)}"' if css_class else ""
    return f"<div class='scroll'><table{table_class}><tr>{head}</tr>{''.join(body)}</table></div>"


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``top`` (1, 2 or 5 times a power of ten apart)."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    power = max(1, 10 ** math.floor(math.log10(raw)))  # counts: whole-number ticks
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return [step * i for i in range(math.ceil(top / step - 1e-9) + 1)]


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    colour: str


@dataclass(frozen=True, slots=True)
class Bar:
    label: str  # the x-axis text of this bar (a window start, a bin's first window)
    tip: str  # the tooltip: what the bar holds
    values: dict[str, float]  # series name -> value
    band: str | None = None  # a background colour behind the bar (e.g. a window that differs)


def bar_chart(label: str, bars: Sequence[Bar], series: Sequence[Series], y_title: str, x_title: str,
              stacked: bool = True) -> str:
    """Bars per x slot, stacked or grouped by series, with y ticks and labels, up to 8 x labels, axis titles."""
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM
    totals = [sum(b.values.values()) if stacked else max(b.values.values(), default=0) for b in bars]
    ticks = nice_ticks(max(totals, default=0))
    top = ticks[-1]
    slot = plot_w / max(len(bars), 1)
    parts = [f'<svg viewBox="0 0 {W} {H}" role="img" aria-label="{escape(label)}" preserveAspectRatio="xMidYMid meet">']

    def y(value: float) -> float:
        return TOP + plot_h - plot_h * value / top

    for tick in ticks:
        parts.append(f'<g class="tick"><line x1="{LEFT}" x2="{W - RIGHT}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
                     f'stroke="#eaeef2"/><text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">'
                     f'{tick:g}</text></g>')
    for i, bar in enumerate(bars):
        x = LEFT + i * slot
        if bar.band:
            parts.append(f'<rect x="{x:.2f}" y="{TOP}" width="{slot:.2f}" height="{plot_h}" fill="{bar.band}"/>')
        width = slot * 0.8 if stacked else slot * 0.8 / len(series)
        base = 0.0
        for k, s in enumerate(series):
            value = bar.values.get(s.name, 0)
            if not value:
                continue
            x0 = x + slot * 0.1 + (0 if stacked else k * width)
            y0, y1 = (y(base + value), y(base)) if stacked else (y(value), y(0))
            parts.append(f'<rect data-bucket="{escape(s.name)}" x="{x0:.2f}" y="{y0:.2f}" width="{width:.2f}" '
                         f'height="{y1 - y0:.2f}" fill="{s.colour}"><title>{escape(bar.tip)}: {escape(s.name)} '
                         f'{value:g}</title></rect>')
            if stacked:
                base += value
    parts.append(f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{W - RIGHT}" y2="{TOP + plot_h}" stroke="#57606a"/>'
                 f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="#57606a"/>')
    step = max(1, math.ceil(len(bars) / 8))
    for i in range(0, len(bars), step):
        x = LEFT + (i + 0.5) * slot
        parts.append(f'<g class="tick"><line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP + plot_h}" y2="{TOP + plot_h + 4}" '
                     f'stroke="#57606a"/><text x="{x:.1f}" y="{TOP + plot_h + 16}" text-anchor="middle">'
                     f'{escape(bars[i].label)}</text></g>')
    parts.append(f'<text x="{LEFT + plot_w / 2:.0f}" y="{H - 8}" text-anchor="middle">{escape(x_title)}</text>'
                 f'<text transform="translate(14 {TOP + plot_h / 2:.0f}) rotate(-90)" text-anchor="middle">'
                 f'{escape(y_title)}</text></svg>')
    legend = "".join(f'<span style="background:{s.colour}"></span>{escape(s.name)}' for s in series)
    return "".join(parts) + f"<p class='legend'>{legend}</p>"
