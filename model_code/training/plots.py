"""The training-curve PNG written beside every trained model."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

CURVE_FILE = "training_curve.png"


def plot_training_curve(history: Sequence[dict[str, float]], path: str | Path, title: str = "") -> Path:
    """Plot train loss and validation IoUs per epoch into ``path`` (PNG); returns the path."""
    path = Path(path)
    epochs = [row["epoch"] for row in history]
    fig, (ax_loss, ax_iou) = plt.subplots(1, 2, figsize=(9, 3.4), dpi=100)
    ax_loss.plot(
        epochs, [row.get("train_loss", float("nan")) for row in history], marker="o", color="tab:red"
    )
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("train loss (BCE + Dice)")
    ax_loss.grid(alpha=0.3)
    for key, label in (
        ("val_iou", "wall IoU"),
        ("val_opening_iou", "opening IoU"),
        ("val_mean_iou", "mean IoU"),
    ):
        values = [row.get(key) for row in history]
        if any(v is not None for v in values):
            ax_iou.plot(epochs, [float("nan") if v is None else v for v in values], marker="o", label=label)
    ax_iou.set_xlabel("epoch")
    ax_iou.set_ylabel("validation IoU")
    ax_iou.set_ylim(0, 1)
    ax_iou.grid(alpha=0.3)
    if ax_iou.lines:
        ax_iou.legend(loc="lower right")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
