"""The protection card: a :class:`ProtectionReport` as one self-contained HTML page.

Written beside ``protection.json`` by ``veil eval protection --out``: the rates
with their baselines, per group when known, a bar chart, the visual quality and
the most visible cloaks before and after.
"""

from __future__ import annotations

from io import BytesIO

import numpy as np

from veil.evaluate._card import CardImage, CardSection, CardTable, before_after, render_card
from veil.evaluate._protection_report import PhotoQuality, ProtectionReport, QualitySummary
from veil.io import read_image
from veil.quality import region

__all__ = ["protection_card"]

DEFAULT_EXAMPLES = 4
_CHART_SIZE_IN = (8.0, 3.6)
_CHART_DPI = 110
_DEFINITION = (
    "Protection success rate: the fraction of probes whose nearest gallery photo (rank 1, by cosine) "
    "is not the person. Poisoning: the person's gallery photos are cloaked, probes are their clean "
    "photos. Evasion: the gallery is clean, probes are cloaked. Baseline: the same with the clean "
    "originals in place of the cloaked photos, so the cloak's effect is the difference. A countermeasure "
    "is applied to the cloaked photos (and, for the baseline, their originals) before use."
)


def protection_card(
    report: ProtectionReport, *, title: str = "Protection card", examples: int = DEFAULT_EXAMPLES
) -> str:
    """The report as a self-contained HTML page (see :func:`render_card`).

    Args:
        report: From :func:`evaluate_protection`.
        title: The page's title.
        examples: How many before/after face thumbnails to show: the photos with
            the largest face DSSIM, the cloaks most likely to be seen.

    Raises:
        InputError: An example photo can no longer be read.
    """
    sections = [_summary(report), _quality(report)]
    if any(entry.by_group for entry in report.rates):
        sections.insert(1, _groups(report))
    shown = sorted((p for p in report.photos if p.face is not None), key=_face_dssim, reverse=True)
    if examples > 0 and shown:
        sections.append(_examples(shown[:examples]))
    return render_card(title, sections)


def _percent(rate: float | None) -> str:
    return "n/a" if rate is None else f"{100 * rate:.1f}%"


def _summary(report: ProtectionReport) -> CardSection:
    who = (
        f"{len(report.protected)} protected identities ({', '.join(report.protected)}) against "
        f"{report.n_distractors} unprotected identities."
    )
    if report.skipped:
        who += f" Left out, every photo cloaked: {', '.join(report.skipped)}."
    fallbacks = ", ".join(f"{variant} {count}" for variant, count in report.fallbacks.items() if count)
    notes = [who, _DEFINITION, f"Photos with no face found (centred crop used): {fallbacks or 'none'}."]
    countermeasures = list(dict.fromkeys(entry.countermeasure for entry in report.rates))
    rows = []
    for entry in report.rates:
        if entry.countermeasure == countermeasures[0]:
            cells = [report.rate(entry.recognizer, entry.protocol, cm) for cm in countermeasures]
            box = "white-box" if entry.is_white_box else "black-box"
            rates = (f"{_percent(cell.rate)} ({_percent(cell.baseline)})" for cell in cells)
            rows.append((entry.recognizer, box, entry.protocol, str(entry.n_probes), *rates))
    header = ("recognizer", "", "protocol", "probes", *countermeasures)
    notes.append("Each cell: the protection success rate with the cloak (in brackets, the baseline).")
    chart = CardImage(_chart(report), "Protection success per countermeasure; black ticks: baseline.")
    return CardSection("Protection", tuple(notes), CardTable(header, tuple(rows)), (chart,))


def _groups(report: ProtectionReport) -> CardSection:
    rows = tuple(
        (
            entry.recognizer,
            entry.protocol,
            entry.countermeasure,
            f"{column} = {group.group}",
            str(group.n_trials),
            f"{_percent(group.rate)} [{_percent(group.low)}, {_percent(group.high)}]",
            _percent(base.rate),
        )
        for entry in report.rates
        for column, groups in entry.by_group.items()
        for group, base in zip(groups, entry.baseline_by_group[column], strict=True)
    )
    header = ("recognizer", "protocol", "countermeasure", "group", "probes", "cloaked [95% CI]", "baseline")
    note = (
        "Rates per group of the protected people, with 95% Wilson intervals: small groups are wide guesses."
    )
    return CardSection("By group", (note,), CardTable(header, rows))


def _quality(report: ProtectionReport) -> CardSection:
    rows = tuple(
        _quality_row(name, summary)
        for name, summary in (("whole photo", report.whole_quality), ("face", report.face_quality))
        if summary is not None
    )
    notes = ["DSSIM = (1 - SSIM) / 2: 0 for an unchanged photo; PSNR in dB, higher is closer."]
    notes.extend(f"Not compared: {p.photo.cloaked}: {p.error}" for p in report.errors)
    header = ("region", "photos", "mean DSSIM", "max DSSIM", "mean PSNR")
    return CardSection("Visual quality", tuple(notes), CardTable(header, rows))


def _quality_row(name: str, summary: QualitySummary) -> tuple[str, ...]:
    psnr = f"{summary.mean_psnr:.1f} dB" if np.isfinite(summary.mean_psnr) else "identical"
    return (name, str(summary.n_photos), f"{summary.mean_dssim:.4f}", f"{summary.max_dssim:.4f}", psnr)


def _face_dssim(photo: PhotoQuality) -> float:
    return photo.face.dssim if photo.face is not None else 0.0


def _examples(photos: list[PhotoQuality]) -> CardSection:
    images = tuple(
        CardImage.of(
            before_after(
                region(read_image(p.photo.clean), p.face_box), region(read_image(p.photo.cloaked), p.face_box)
            ),
            f"{p.photo.identity}/{p.photo.cloaked.name}: face DSSIM {_face_dssim(p):.4f}",
        )
        for p in photos
    )
    note = "Face regions, clean (left) and cloaked (right): the most visible cloaks of the set."
    return CardSection("Before and after", (note,), images=images)


def _chart(report: ProtectionReport) -> bytes:
    """A PNG bar chart: one panel per protocol, bars per recognizer and countermeasure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    is_white_box = {entry.recognizer: entry.is_white_box for entry in report.rates}
    recognizers = list(is_white_box)
    countermeasures = list(dict.fromkeys(entry.countermeasure for entry in report.rates))
    protocols = list(dict.fromkeys(entry.protocol for entry in report.rates))
    figure = Figure(figsize=_CHART_SIZE_IN, layout="constrained")
    FigureCanvasAgg(figure)
    width = 0.8 / len(countermeasures)
    for panel, protocol in enumerate(protocols, 1):
        axes = figure.add_subplot(1, len(protocols), panel)
        for index, countermeasure in enumerate(countermeasures):
            entries = [report.rate(name, protocol, countermeasure) for name in recognizers]
            x = np.arange(len(recognizers)) + (index - (len(countermeasures) - 1) / 2) * width
            axes.bar(x, [e.rate for e in entries], width, label=countermeasure)
            axes.scatter(x, [e.baseline for e in entries], marker="_", color="black", s=120, zorder=3)
        labels = [f"{name}\n{'white' if is_white_box[name] else 'black'}-box" for name in recognizers]
        axes.set_xticks(np.arange(len(recognizers)), labels)
        axes.set(title=protocol, ylim=(0.0, 1.05), ylabel="protection success rate" if panel == 1 else "")
        axes.grid(True, axis="y", alpha=0.3)
    figure.legend(*figure.axes[0].get_legend_handles_labels(), loc="outside right upper", fontsize="small")
    buffer = BytesIO()
    figure.savefig(buffer, format="png", dpi=_CHART_DPI)
    return buffer.getvalue()
