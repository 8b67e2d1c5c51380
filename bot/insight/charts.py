"""Weekly trend charts as PNG files (matplotlib, Agg backend, no pyplot global state).

Three panels share the week axis: requests per week (self-service and the rest, with the
bypass line), rates per week (self-service, bypass, within SLA, understood at once) and the
median first-response and resolution times in business hours. Text comes from the catalog;
Chinese labels need a CJK font on the machine, without one the chart is drawn in English.
"""

from __future__ import annotations

import logging
import math
import time
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.desk import Desk
from bot.insight.metrics import SELF_SERVED, Rate, Report

log = logging.getLogger(__name__)

WIDTH, HEIGHT, DPI = 10.0, 9.0, 100  # 1000 x 900 pixels
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "SimHei",
    "Microsoft YaHei",
    "PingFang SC",
    "AR PL UMing CN",
    "Droid Sans Fallback",
)


@cache
def cjk_font() -> str | None:
    """The first installed font that can draw Chinese, if any."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in installed), None)


def chart_language(lang: str) -> str:
    if lang == "zh" and cjk_font() is None:
        log.info("no CJK font installed: drawing the chart in English")
        return "en"
    return lang


def _percent(rate: Rate) -> float:
    value = rate.value
    return math.nan if value is None else value * 100


def _hours(value: float | None) -> float:
    return math.nan if value is None else value


def draw(desk: Desk, report: Report, path: Path, lang: str) -> Path:
    """Draw the weekly trends of `report` into `path` (PNG); returns the path."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    lang = chart_language(lang)
    texts = desk.texts

    def t(key: str) -> str:
        return texts.plain(lang, f"insight.chart.{key}")

    weeks = report.weeks
    zone = ZoneInfo(report.timezone)
    months = texts.list(lang, "months")
    labels = []
    for week in weeks:
        local = week.start.astimezone(zone)
        labels.append(
            texts.plain(
                lang,
                "insight.chart.day",
                day=local.day,
                month=local.month,
                month_name=months[local.month - 1],
            )
        )
    x = list(range(len(weeks)))
    # Chinese needs a CJK font; its Latin digits fall back to DejaVu Sans.
    family = [cjk_font() or "DejaVu Sans", "DejaVu Sans"] if lang == "zh" else ["DejaVu Sans"]
    rc: Any = {"font.family": family}

    from matplotlib import rc_context

    with rc_context(rc):
        figure = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI)
        FigureCanvasAgg(figure)
        volume, rates, times = figure.subplots(3, 1, sharex=True)
        figure.suptitle(t("title"), fontsize=14, fontweight="bold")

        self_served = [sum(w.by_kind[k] for k in SELF_SERVED) for w in weeks]
        others = [w.requests - s for w, s in zip(weeks, self_served, strict=True)]
        volume.bar(x, others, color="#4c72b0", label=t("requests"))
        volume.bar(x, self_served, bottom=others, color="#55a868", label=t("self_service"))
        volume.plot(
            x, [w.bypass.part for w in weeks], color="#c44e52", marker="o", label=t("logged")
        )
        volume.set_title(t("volume"), fontsize=11, loc="left")
        volume.yaxis.set_major_locator(MaxNLocator(integer=True))
        volume.set_ylim(bottom=0)

        for series, key, color in (
            ([_percent(w.self_service) for w in weeks], "self_service_rate", "#55a868"),
            ([_percent(w.bypass) for w in weeks], "bypass_rate", "#c44e52"),
            ([_percent(w.sla) for w in weeks], "sla_rate", "#8172b2"),
            ([_percent(w.matcher_understood) for w in weeks], "understood_rate", "#ccb974"),
        ):
            rates.plot(x, series, marker="o", color=color, label=t(key))
        rates.set_ylim(0, 105)
        rates.set_title(t("rates"), fontsize=11, loc="left")

        times.plot(
            x,
            [_hours(w.first_response.p50) for w in weeks],
            marker="o",
            color="#4c72b0",
            label=t("first_response"),
        )
        times.plot(
            x,
            [_hours(w.resolution.p50) for w in weeks],
            marker="s",
            color="#dd8452",
            label=t("resolution"),
        )
        times.set_title(t("times"), fontsize=11, loc="left")
        times.set_ylim(bottom=0)
        times.set_xticks(x, labels, rotation=0 if len(x) <= 8 else 45)
        times.set_xlabel(t("week"))
        for ax in (volume, rates, times):
            ax.grid(axis="y", alpha=0.3)
            # Outside the plot, so no line or bar hides behind it.
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
            ax.set_xlim(-0.6, max(len(x), 1) - 0.4)
        figure.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, format="png")
    return path


def charts_dir(desk: Desk) -> Path:
    return desk.settings.resolve(desk.settings.insight.charts)


def forget_old_charts(desk: Desk) -> int:
    """Delete chart files older than `insight.keep_charts`; returns how many."""
    folder = charts_dir(desk)
    if not folder.is_dir():
        return 0
    cutoff = time.time() - desk.settings.insight.keep_charts.total_seconds()
    removed = 0
    for path in folder.glob("*.png"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except OSError as exc:  # another replica removed it first
            log.debug("chart %s not removed: %s", path, exc)
    return removed
