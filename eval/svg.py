"""Small inline SVG plots for the HTML report: a histogram with a box plot under it.

Hand-written so the report needs no plotting library, script or CDN."""

from __future__ import annotations

from html import escape

from eval.results import percentile

WIDTH, HEIGHT = 260, 120
PAD_L, PAD_R, PAD_T = 8, 8, 16
HIST_H = 62
BOX_Y = PAD_T + HIST_H + 14


def bounds(values: list[float]) -> tuple[float, float]:
    """[0, 1] for scores; the data's own range (from 0) for costs such as latency."""
    low, high = min(values), max(values)
    if low >= 0.0 and high <= 1.0:
        return 0.0, 1.0
    low = min(low, 0.0)
    return low, high if high > low else low + 1.0


def bin_counts(values: list[float], low: float, high: float, bins: int) -> list[int]:
    counts = [0] * bins
    span = high - low
    for v in values:
        index = int((v - low) / span * bins) if span else 0
        counts[min(max(index, 0), bins - 1)] += 1
    return counts


def distribution_svg(title: str, values: list[float], *, bins: int = 10) -> str:
    """A histogram of ``values`` with a box plot (quartiles, whiskers at min/max) below it."""
    if not values:
        return ""
    low, high = bounds(values)
    counts = bin_counts(values, low, high, bins)
    inner = WIDTH - PAD_L - PAD_R
    peak = max(counts) or 1
    bar_w = inner / bins

    def x(value: float) -> float:
        return PAD_L + (value - low) / (high - low) * inner

    parts = [
        f'<svg width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">',
        f'<title>{escape(title)}: n={len(values)}</title>',
        f'<text x="{PAD_L}" y="11" class="t">{escape(title)}</text>',
    ]
    for i, count in enumerate(counts):
        h = count / peak * HIST_H
        top = PAD_T + HIST_H - h
        parts.append(f'<rect class="bar" x="{PAD_L + i * bar_w + 1:.1f}" y="{top:.1f}" width="{bar_w - 2:.1f}" '
                     f'height="{h:.1f}"><title>{count}</title></rect>')
    base = PAD_T + HIST_H
    parts.append(f'<line class="axis" x1="{PAD_L}" y1="{base}" x2="{WIDTH - PAD_R}" y2="{base}"/>')
    q1, q2, q3 = (percentile(values, q) for q in (25, 50, 75))
    lo, hi = min(values), max(values)
    parts += [
        f'<line class="whisker" x1="{x(lo):.1f}" y1="{BOX_Y}" x2="{x(hi):.1f}" y2="{BOX_Y}"/>',
        f'<rect class="box" x="{x(q1):.1f}" y="{BOX_Y - 6}" width="{max(x(q3) - x(q1), 1):.1f}" height="12"/>',
        f'<line class="median" x1="{x(q2):.1f}" y1="{BOX_Y - 6}" x2="{x(q2):.1f}" y2="{BOX_Y + 6}"/>',
        f'<text x="{PAD_L}" y="{HEIGHT - 4}" class="l">{_fmt(low)}</text>',
        f'<text x="{WIDTH - PAD_R}" y="{HEIGHT - 4}" class="l" text-anchor="end">{_fmt(high)}</text>',
        f'<text x="{WIDTH / 2}" y="{HEIGHT - 4}" class="l" text-anchor="middle">median {_fmt(q2)} · '
        f'n={len(values)}</text>',
        "</svg>",
    ]
    return "".join(parts)


def _fmt(value: float) -> str:
    return f"{value:.2f}" if abs(value) < 10 else f"{value:,.0f}"
