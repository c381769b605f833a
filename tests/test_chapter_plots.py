"""Plot helpers that the chapters' widgets call."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from effnotes.maddness.plots import plot_lambda_grid  # noqa: E402
from effnotes.plotting import plot_amdahl  # noqa: E402
from effnotes.unit_scaling.analysis import plot_residual_profiles  # noqa: E402


def test_plot_amdahl_draws_a_curve_per_fraction_and_the_measured_point():
    fig, ax = plt.subplots()
    plot_amdahl(0.8, 4.0, measured=(3.0, 2.0), ax=ax)
    assert [line.get_label() for line in ax.get_lines()] == [
        "p = 0.50", "p = 0.80", "p = 0.90", "p = 0.99"]
    assert ax.get_title() == "S = 2.50 at p = 0.80, s = 4.0"   # 1 / (0.2 + 0.8 / 4)
    assert len(ax.collections) == 1 and ax.get_xscale() == "log"
    plt.close(fig)


def test_plot_lambda_grid_circles_the_chosen_point_and_names_a_missing_one():
    grid = pd.DataFrame({"ncodebooks": [4, 16, 4, 16], "lam": [0.0, 0.0, 1.0, 1.0],
                         "time_ms": [0.1, 0.3, 0.1, 0.3], "nmse": [0.5, 0.2, 0.4, 0.1],
                         "relative_accuracy": [0.9, 0.97, 0.92, 0.99]})
    fig, ax = plt.subplots()
    plot_lambda_grid(grid, 16, 1.0, ax=ax)
    assert len(ax.get_lines()) == 2
    assert ax.get_title() == "C=16, λ=1.0: NMSE 0.1000, rel. acc. 0.9900, 0.300 ms"
    with pytest.raises(ValueError, match="ncodebooks=8, lam=1.0"):
        plot_lambda_grid(grid, 8, 1.0, ax=ax)
    plt.close(fig)


def test_plot_residual_profiles_draws_both_parametrisations():
    fig, ax = plt.subplots()
    plot_residual_profiles(tau=0.2, depth=3, width=32, ax=ax)
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[:2] == ["μS, τ = 0.20", "SP (pre-LN)"]
    assert len(ax.get_lines()[0].get_xdata()) == 3
    plt.close(fig)


def test_unit_scaling_training_plots():
    from effnotes.unit_scaling.plots import plot_lr_sweep, plot_training_curves

    curves = pd.DataFrame({"parametrisation": ["mus"] * 4 + ["sp"] * 4,
                           "precision": ["fp32", "fp32", "fp8_sim", "fp8_sim"] * 2,
                           "step": [0, 1] * 4, "loss": [3.0, 2.0, 3.1, 2.1, 3.0, 2.5, 3.2, 2.9]})
    fig, ax = plt.subplots()
    plot_training_curves(curves, ax=ax)
    assert len(ax.get_lines()) >= 4 and ax.get_ylabel() == "training loss (nats/byte)"
    plt.close(fig)
    sweep = pd.DataFrame({"parametrisation": ["sp"] * 4 + ["mus"] * 4,
                          "width": [32, 32, 64, 64] * 2, "lr": [0.01, 0.02] * 4,
                          "loss": [2.0, 1.8, 2.1, 2.3, 2.0, 1.9, 1.9, 1.8]})
    best = pd.DataFrame({"parametrisation": ["sp", "sp", "mus", "mus"],
                         "width": [32, 64, 32, 64], "best_lr": [0.02, 0.01, 0.02, 0.02],
                         "best_loss": [1.8, 2.1, 1.9, 1.8]})
    axes = plot_lr_sweep(sweep, best)
    assert [a.get_title() for a in axes] == ["SP (one global rate)", "μS (√ rule)"]
    assert all(a.get_xscale() == "log" and len(a.collections) >= 1 for a in axes)
    plt.close("all")
