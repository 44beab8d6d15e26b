"""Training and validation loss by step, drawn to a PNG (matplotlib, optional dependency)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bot.finetune.errors import FinetuneError
from bot.finetune.jobs import MetricPoint


def plot_losses(points: Sequence[MetricPoint], out: Path, *, title: str) -> Path:
    """Write the loss curves to ``out`` (blocking: call through ``asyncio.to_thread``)."""
    if not points:
        raise FinetuneError("The job has no loss figures yet, so there is nothing to plot.")
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display needed, and never a GUI window from a CLI
        from matplotlib import pyplot as plt
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        raise FinetuneError(
            "Plotting needs matplotlib, which is not installed: pip install 'catchbot[plot]'."
        ) from None
    train = [(p.step, p.train_loss) for p in points if p.train_loss is not None]
    valid = [(p.step, p.valid_loss) for p in points if p.valid_loss is not None]
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=100)
    try:
        for series, label in ((train, "training loss"), (valid, "validation loss")):
            if not series:
                continue
            # A line needs two points: with few, each point is a marker, so a first figure shows.
            ax.plot(
                [s for s, _ in series],
                [v for _, v in series],
                label=label,
                linewidth=1.2,
                marker="o" if len(series) < 30 else None,
                markersize=4,
            )
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps are whole numbers
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
        ax.legend()
        fig.tight_layout()
        out.parent.mkdir(parents=True, exist_ok=True)
        try:
            fig.savefig(out, format="png")
        except OSError as exc:
            raise FinetuneError(f"Could not write the plot to {out}: {exc.strerror or exc}.") from None
    finally:
        plt.close(fig)
    return out
