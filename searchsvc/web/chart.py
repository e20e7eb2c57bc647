"""The timeline as the page draws it: a server-rendered SVG bar chart whose bars are links.

    SearchResult.timeline --chart()--> Chart: bars placed in percent of the width (so the
    SVG needs no viewBox and its text keeps its size at any width), a label and a link each
    --templates/_timeline.html--> <svg> with one <a aria-label="May 2023: 12 releases"> a bar

A bar's link sets from and to to the bar's days, in the shortest form that says them
(2023, 2023-05, 2023-05-04) and clears year and month: the chart, the quick ranges and the
from/to inputs are one date filter. No script: the CSP forbids it, and none is needed.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

from searchsvc.searching import Bucket, Timeline

HEIGHT = 120  # the plot's height in pixels; bars grow up from its bottom
MIN_BAR = 2  # a bar of one among thousands still shows
MIN_SLOTS = 10  # fewer bars are centred, each a tenth of the width, not one wide block


@dataclass(frozen=True)
class ChartBar:
    """One bar: where it is drawn, what it says and where it leads."""

    label: str  # "May 2023", for screen readers and the tooltip
    tick: str  # the axis label ("May"), "" for none
    major: bool  # whether the tick shows on a narrow screen too
    count: int
    url: str
    x: float  # percent of the width
    width: float  # percent of the width
    y: int  # pixels from the top
    height: int  # pixels


@dataclass(frozen=True)
class Chart:
    """The timeline's bars, with what the caption says."""

    unit: str
    bars: list[ChartBar]
    top: int  # the largest count (the gridline's label)
    total: int  # the dated matches drawn
    undated: int
    height: int = HEIGHT
    show_counts: bool = False  # counts above the bars, when there are few


def chart(drawn: Timeline | None, link) -> Chart | None:
    """The chart of a timeline; link(from, to) is the URL that narrows to those dates."""
    if drawn is None or not drawn.buckets:
        return None
    n = len(drawn.buckets)
    top = max(b.count for b in drawn.buckets)
    slot = 100 / max(n, MIN_SLOTS)
    left = (100 - slot * n) / 2
    gap = min(slot * 0.2, 1.0) if n > MIN_SLOTS else slot * 0.15
    # Ticks on every bar when they fit, else every few; "major" ones also on a phone.
    every, major = max(1, -(-n // 12)), max(1, -(-n // 6))
    bars = []
    for i, bucket in enumerate(drawn.buckets):
        height = round(bucket.count / top * (HEIGHT - 18)) if top else 0
        height = max(height, MIN_BAR) if bucket.count else 0
        first = i == 0 or bucket.start.year != drawn.buckets[i - 1].start.year
        bars.append(
            ChartBar(
                label=bucket_label(drawn.unit, bucket),
                tick=tick_label(drawn.unit, bucket, first) if i % every == 0 else "",
                major=i % major == 0,
                count=bucket.count,
                url=link(*range_args(bucket)),
                x=round(left + i * slot + gap / 2, 3),
                width=round(slot - gap, 3),
                y=HEIGHT - height,
                height=height,
            )
        )
    total = sum(b.count for b in drawn.buckets)
    return Chart(drawn.unit, bars, top, total, drawn.undated, show_counts=n <= 16)


def range_args(bucket: Bucket) -> tuple[str, str]:
    """The from and to of a bar, as short as they can be written: 2023, 2023-05, 2023-05-04."""
    start, end = bucket.start, bucket.end
    whole_years = start.month == 1 and start.day == 1 and end.month == 12 and end.day == 31
    if whole_years:
        return str(start.year), str(end.year)
    last = calendar.monthrange(end.year, end.month)[1]
    if start.day == 1 and end.day == last and (start.year, start.month) == (end.year, end.month):
        month = f"{start.year:04d}-{start.month:02d}"
        return month, month
    return start.isoformat(), end.isoformat()


def bucket_label(unit: str, bucket: Bucket) -> str:
    """What a bar stands for, in words: 'May 2023', 'Week of 1 May 2023', '2020–2029'."""
    start, end = bucket.start, bucket.end
    if unit == "day":
        return _day(start)
    if unit == "month" and start.day == 1 and end.month == start.month:
        return f"{calendar.month_name[start.month]} {start.year}"
    whole_year = (start.month, start.day, end.month, end.day) == (1, 1, 12, 31)
    if unit == "year" and start.year == end.year and whole_year:
        return str(start.year)
    if start == end:
        return _day(start)
    if unit == "week":
        return f"{_day(start)} – {_day(end)}"
    if whole_year:
        return f"{start.year}–{end.year}"
    return f"{_day(start)} – {_day(end)}"


def tick_label(unit: str, bucket: Bucket, first_of_year: bool) -> str:
    """The axis label under a bar: short, with the year where it changes."""
    start = bucket.start
    if unit in ("day", "week"):
        day = f"{start.day} {calendar.month_abbr[start.month]}"
        return f"{day} {start.year}" if first_of_year else day
    if unit == "month":
        month = calendar.month_abbr[start.month]
        return f"{month} {start.year}" if first_of_year else month
    return str(start.year)


def _day(d: date) -> str:
    return f"{d.day} {calendar.month_abbr[d.month]} {d.year}"
