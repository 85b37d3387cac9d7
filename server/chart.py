"""The overview's chart as inline SVG, drawn on the server: nothing to load from anywhere,
it prints, and a phone shows it without JavaScript. Bars: visits per day; line: the
weekly active ratio on its own 0–100 % scale."""

from __future__ import annotations

from xml.sax.saxutils import escape

from server.trend import Trend

WIDTH, HEIGHT = 700, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 44, 12, 36


def _nice_max(value: int) -> int:
    """The top of the scale: a round number at least ``value``, even, so its middle is whole."""
    step = 1
    while step * 10 < value:
        step *= 10
    top = max(step * (-(-value // step)), 2)
    return top + step if top // step % 2 else top


def render(trend: Trend, visits_label: str, ratio_label: str) -> str:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = _nice_max(max((n for _, n in trend.days), default=0))
    slot = plot_w / max(len(trend.days), 1)
    parts = [
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" class="chart" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(visits_label)} · {escape(ratio_label)}</title>",
    ]
    for frac in (0, 0.5, 1):
        y = TOP + plot_h * (1 - frac)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{LEFT - 4}" y="{y + 4:.1f}" class="axis" text-anchor="end">{int(top * frac):,}</text>')
        parts.append(f'<text x="{WIDTH - RIGHT + 4}" y="{y + 4:.1f}" class="axis ratio">{int(100 * frac)} %</text>')
    for i, (day, count) in enumerate(trend.days):
        h = plot_h * count / top
        x = LEFT + i * slot
        parts.append(
            f'<rect x="{x + 1:.1f}" y="{TOP + plot_h - h:.1f}" width="{max(slot - 2, 1):.1f}" height="{h:.1f}" class="bar">'
            f"<title>{day:%d/%m}: {count:,}</title></rect>"
        )
        if day.weekday() == 0:
            label = f'<text x="{x + slot / 2:.1f}" y="{HEIGHT - BOTTOM + 14}" class="axis" text-anchor="middle">'
            parts.append(f"{label}{day:%d/%m}</text>")
    points = []
    for end, value in trend.weeks:
        index = next(i for i, (d, _) in enumerate(trend.days) if d == end)
        x = LEFT + (index - 3) * slot + slot / 2  # the middle of its 7 days
        points.append((x, TOP + plot_h * (1 - value / 100), value))
    if points:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in points)
        parts.append(f'<polyline points="{path}" class="line"/>')
        for x, y, value in points:
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" class="dot"><title>{value:.2f} %</title></circle>')
    parts.append(
        f'<rect x="{LEFT}" y="{HEIGHT - 14}" width="10" height="10" class="bar"/>'
        f'<text x="{LEFT + 14}" y="{HEIGHT - 5}" class="axis">{escape(visits_label)}</text>'
        f'<circle cx="{WIDTH / 2 + 5:.0f}" cy="{HEIGHT - 9}" r="4" class="dot"/>'
        f'<text x="{WIDTH / 2 + 14:.0f}" y="{HEIGHT - 5}" class="axis">{escape(ratio_label)}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)
