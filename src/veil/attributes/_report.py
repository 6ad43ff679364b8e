"""Write an attribute-privacy report: JSON, a short Markdown summary and a bar chart (matplotlib)."""

from __future__ import annotations

import json
import math
from pathlib import Path

from veil.attributes._classes import ATTRIBUTES
from veil.attributes._evaluate import AttributeReport

__all__ = ["write_attribute_report"]


def write_attribute_report(report: AttributeReport, out: str | Path) -> list[Path]:
    """Write ``attributes.json``, ``attributes.md`` and ``attributes.png`` into ``out``; returns their paths.

    The chart shows, for each judge (black-box ones hatched) and attribute, the
    accuracy (or agreement) on clean and on protected photos.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    data = report.to_dict()
    json_path = folder / "attributes.json"
    json_path.write_text(json.dumps(data, indent=2, default=_plain) + "\n")

    overall = [row for row in report.accuracy if row["group"] == "all"]
    figure, axes = pyplot.subplots(1, len(ATTRIBUTES), figsize=(4 * len(ATTRIBUTES), 3.5), sharey=True)
    for axis, attribute in zip(axes, ATTRIBUTES, strict=True):
        rows = [r for r in overall if r["attribute"] == attribute]
        names = [r["judge"] + ("" if r["white_box"] else " (black)") for r in rows]
        positions = range(len(rows))
        axis.bar([p - 0.2 for p in positions], [r["before"] for r in rows], width=0.4, label="clean")
        axis.bar(
            [p + 0.2 for p in positions],
            [r["after"] for r in rows],
            width=0.4,
            label="protected",
            hatch=None,
        )
        axis.set_xticks(list(positions), names, rotation=20)
        axis.set_title(attribute)
        axis.set_ylim(0, 1)
    axes[0].set_ylabel("accuracy" if report.has_labels else "agreement with the clean read")
    axes[0].legend()
    figure.tight_layout()
    plot_path = folder / "attributes.png"
    figure.savefig(plot_path, dpi=100)
    pyplot.close(figure)

    lines = [
        "# Attribute privacy report",
        "",
        f"{report.n_photos} protected photos ({report.fallbacks} photos read without a detected face).",
        "",
        "| judge | box | attribute | n | clean | protected |",
        "|---|---|---|---|---|---|",
    ]
    for row in overall:
        box = "white" if row["white_box"] else "black"
        cells = [
            row["judge"],
            box,
            row["attribute"],
            str(row["n"]),
            f"{row['before']:.3f}",
            f"{row['after']:.3f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "| recognizer | TAR@FAR1e-3 clean | protected | protocol |", "|---|---|---|---|"]
    for name, figures in report.verification.items():
        cells = [name, f"{figures['tar_clean']:.3f}", f"{figures['tar_protected']:.3f}", figures["protocol"]]
        lines.append("| " + " | ".join(cells) + " |")
    quality = report.quality
    lines += ["", f"DSSIM mean {quality['dssim_mean']:.4f} (max {quality['dssim_max']:.4f}); "
              f"PSNR mean {quality['psnr_mean']:.1f} dB.", "", "![accuracy](attributes.png)", ""]  # fmt: skip
    md_path = folder / "attributes.md"
    md_path.write_text("\n".join(lines))
    return [json_path, md_path, plot_path]


def _plain(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return str(value)
