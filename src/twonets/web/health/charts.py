"""Line charts drawn as inline SVG on the server, so the health pages need no chart script."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape


def _ticks(top: float, count: int = 4) -> list[float]:
    """Round tick values from 0 to at least ``top``."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    magnitude = 10 ** len(str(int(raw))) / 10 if raw >= 1 else 1.0
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    ticks = [0.0]
    while ticks[-1] < top:
        ticks.append(ticks[-1] + step)
    return ticks


def line_chart(
    lines: Sequence[tuple[str, str, Sequence[float]]],
    x_labels: Sequence[str],
    *,
    title: str,
    marks: Sequence[int] = (),
    mark_text: str = "alarm on %(day)s: %(value)s",
    width: int = 720,
    height: int = 260,
    testid: str = "chart",
) -> Markup:
    """An accessible SVG line chart: (label, colour, values) per line; ``marks`` flag points.

    ``title`` and the labels come translated; ``mark_text`` names a flagged point from its
    ``%(day)s`` and ``%(value)s``.
    """
    left, right, top_pad, bottom = 56, 12, 14, 30
    n = max((len(v) for _, _, v in lines), default=0)
    top_value = max((max(v, default=0.0) for _, _, v in lines), default=0.0)
    ticks = _ticks(top_value)
    y_max = ticks[-1] or 1.0
    plot_w, plot_h = width - left - right, height - top_pad - bottom

    def x(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top_pad + plot_h * (1 - v / y_max)

    parts = [
        f'<svg viewBox="0 0 {width} {height}" role="img" class="chart" '
        f'data-testid="{escape(testid)}" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for t in ticks:
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(t):.1f}" y2="{y(t):.1f}" '
            'class="grid"/>'
            f'<text x="{left - 6}" y="{y(t) + 4:.1f}" text-anchor="end">{t:,.0f}</text>'
        )
    if n:
        step = max(1, n // 6)
        for i in range(0, n, step):
            parts.append(
                f'<text x="{x(i):.1f}" y="{height - 10}" text-anchor="middle">'
                f"{escape(x_labels[i])}</text>"
            )
    for label, colour, values in lines:
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{escape(colour)}" '
            f'stroke-width="2"><title>{escape(label)}</title></polyline>'
        )
    if lines:
        values = lines[0][2]
        for i in marks:
            if 0 <= i < len(values):
                parts.append(
                    f'<circle cx="{x(i):.1f}" cy="{y(values[i]):.1f}" r="4" class="alarm">'
                    f"<title>{escape(mark_text % {'day': x_labels[i], 'value': f'{values[i]:g}'})}"
                    "</title></circle>"
                )
    parts.append("</svg>")
    return Markup("".join(parts))
