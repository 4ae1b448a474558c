"""Plots drawn server-side as inline SVG: no script, no CDN, readable in a printout."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

PALETTE = ("#1f6feb", "#d1242f", "#1a7f37", "#bf8700", "#8250df", "#0a7ea4", "#cf222e",
           "#57606a")


def _nice(top: float, percent: bool) -> float:
    """A round axis maximum: 1, 2, 5, 10, 20 … (or a whole percent)."""
    if percent:
        return max(0.01, math.ceil(top * 100) / 100)
    step = 1.0
    while step * 10 < top:
        step *= 10
    for m in (1, 2, 5, 10):
        if m * step >= top:
            return m * step
    return top


def bars(labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], *,
         width: int = 720, height: int = 220, percent: bool = False,
         label_chars: int = 0) -> str:
    """Grouped vertical bars: one group per label, one bar per series, with a legend;
    ``label_chars`` keeps only the end of each label (days: ``MM-DD``)."""
    if not labels or not series:
        return ""
    top = _nice(max((v for _, vals in series for v in vals), default=0) or 1.0, percent)
    left, bottom, legend_h = 40, 28, 18 * ((len(series) + 3) // 4)
    plot_h = height - bottom - legend_h - 8
    group_w = (width - left - 8) / len(labels)
    bar_w = min(48.0, max(2.0, group_w * 0.8 / len(series)))
    parts = [f'<svg class="plot" viewBox="0 0 {width} {height}" role="img" '
             f'xmlns="http://www.w3.org/2000/svg">']
    for frac in (0, 0.5, 1):
        y = 8 + plot_h * (1 - frac)
        value = top * frac
        text = f"{value:.0%}" if percent else f"{value:g}"
        parts.append(f'<line x1="{left}" x2="{width - 8}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'class="grid"/><text x="{left - 4}" y="{y + 4:.1f}" '
                     f'text-anchor="end">{text}</text>')
    for i, label in enumerate(labels):
        x0 = left + i * group_w + (group_w - bar_w * len(series)) / 2
        for j, (name, vals) in enumerate(series):
            v = vals[i] if i < len(vals) else 0
            h = plot_h * (v / top)
            parts.append(f'<rect x="{x0 + j * bar_w:.1f}" y="{8 + plot_h - h:.1f}" '
                         f'width="{bar_w - 1:.1f}" height="{h:.1f}" '
                         f'fill="{PALETTE[j % len(PALETTE)]}"><title>{escape(name)} '
                         f'{escape(label)}: {v:.0%}</title></rect>' if percent else
                         f'<rect x="{x0 + j * bar_w:.1f}" y="{8 + plot_h - h:.1f}" '
                         f'width="{bar_w - 1:.1f}" height="{h:.1f}" '
                         f'fill="{PALETTE[j % len(PALETTE)]}"><title>{escape(name)} '
                         f'{escape(label)}: {v:g}</title></rect>')
        parts.append(f'<text x="{left + (i + 0.5) * group_w:.1f}" y="{8 + plot_h + 16:.1f}" '
                     f'text-anchor="middle">{escape(label[-label_chars:] if label_chars else label)}</text>')
    for j, (name, _) in enumerate(series):
        x = left + (j % 4) * ((width - left) / 4)
        y = height - legend_h + 18 * (j // 4) + 10
        parts.append(f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" '
                     f'fill="{PALETTE[j % len(PALETTE)]}"/><text x="{x + 14:.1f}" '
                     f'y="{y:.1f}">{escape(name[:24])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def stacked(rows: Sequence[tuple[str, Sequence[int]]], names: Sequence[str], *,
            width: int = 720, row_h: int = 32) -> str:
    """One horizontal 100 % bar per row (a hall and service), split by rating 1–5. Each
    label sits on its own line above its bar: a hall's full name (越秀区北京街道党群服务中心…)
    is longer than any label column a tablet could spare."""
    if not rows:
        return ""
    height = row_h * len(rows) + 30
    parts = [f'<svg class="plot" viewBox="0 0 {width} {height}" role="img" '
             f'xmlns="http://www.w3.org/2000/svg">']
    colours = ("#d1242f", "#fb8f44", "#bf8700", "#4ac26b", "#1a7f37")
    for i, (label, counts) in enumerate(rows):
        y = i * row_h
        total = sum(counts)
        shown = label if len(label) <= 60 else label[:59] + "…"
        parts.append(f'<text x="0" y="{y + 12}">{escape(shown)}</text>'
                     f'<rect x="0" y="{y + 16}" width="{width}" height="{row_h - 20}" '
                     f'fill="#eaeef2"/>')
        x = 0.0
        for k, c in enumerate(counts):
            w = width * c / (total or 1)
            if w > 0:
                parts.append(f'<rect x="{x:.1f}" y="{y + 16}" width="{w:.1f}" '
                             f'height="{row_h - 20}" fill="{colours[k]}"><title>'
                             f'{escape(names[k])}: {c}</title></rect>')
            x += w
    for k, name in enumerate(names):
        x = k * (width / 5)
        parts.append(f'<rect x="{x:.1f}" y="{height - 18}" width="10" height="10" '
                     f'fill="{colours[k]}"/><text x="{x + 14:.1f}" y="{height - 9}">'
                     f'{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)
