import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from effnotes.cyclic.plots import (draw_schedule_shape, plot_curves, plot_schedule,  # noqa: E402
                                   plot_trace)
from effnotes.cyclic.schedule import CyclicSchedule  # noqa: E402


@pytest.fixture(autouse=True)
def no_windows(monkeypatch):
    monkeypatch.setattr(plt, "show", lambda: plt.close("all"))


def test_plot_schedule_marks_the_troughs():
    fig, ax = plt.subplots()
    plot_schedule(CyclicSchedule(4, 2, 4), 32, steps_per_unit=2, unit="epochs", ax=ax)
    troughs = ax.collections[0].get_offsets()
    assert troughs[:, 0].tolist() == [4.0, 8.0, 16.0]  # steps W + S_k = 8, 16, 32, 2 per epoch
    assert ax.get_xlabel() == "training progress (epochs)"
    with pytest.raises(ValueError, match="warm-up"):
        plot_schedule(CyclicSchedule(4, 2, 30), 28, ax=ax)


def test_draw_schedule_shape_handles_a_short_budget():
    draw_schedule_shape(8, 8, 2.0, 512)
    draw_schedule_shape(32, 8, 2.0, 16)  # budget inside the warm-up: a message, not an error


def test_plot_trace_and_curves():
    rows = [{"method": m, "seed": s, "kind": k, "budget_epochs": b, "step": 10 * b,
             "train_time_s": b * 0.1 + s * 0.01, "val_accuracy": 0.9 + 0.01 * b + 0.001 * s}
            for m in ("baseline", "mixup") for s in range(2) for k in ("standard", "cyclic")
            for b in (1, 2, 4)]
    points = pd.DataFrame(rows)
    fig = plot_curves(points, ["baseline", "mixup"], ncols=2)
    assert [ax.get_title() for ax in fig.axes] == ["baseline", "mixup"]
    trace = pd.DataFrame({"step": [10, 20, 30, 40], "val_accuracy": [0.8, 0.9, 0.85, 0.95],
                          "lr": [0.1, 0.0, 0.1, 0.0]})
    ax = plot_trace(trace, points.iloc[:2], steps_per_epoch=10)
    assert ax.get_xlabel() == "epoch"
