"""Figure controls that work on a static page: every figure is drawn ahead of time.

A widget drawn by ``interactive_output`` needs a running kernel to redraw, so on the rendered
book's pages its controls move and nothing changes. :func:`precomputed_controls` instead draws
the figure for every combination of the controls' values while the notebook runs, keeps the
images in nested ``ipywidgets.Stack`` containers, and links each control's ``index`` to its
stacks' ``selected_index`` with ``jslink``. The links run in the browser from the embedded
widget state, so the page switches images without a kernel; in a live notebook the same
controls switch the same images.

The grid is the product of the controls' options, so it is kept small: at most
:data:`MAX_FIGURES` figures.
"""

from __future__ import annotations

import io
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

#: the most figures one set of controls may draw (the product of the options' counts)
MAX_FIGURES = 160


def _check_options(options: Any) -> dict[str, tuple]:
    if not isinstance(options, Mapping) or not options:
        raise ValueError("options: expected a non-empty mapping of control name -> values, "
                         f"got {options!r}")
    checked = {}
    for name, values in options.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"options: control names must be identifiers, got {name!r}")
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise ValueError(f"options[{name!r}]: expected a non-empty sequence of values, "
                             f"got {values!r}")
        if len(set(map(repr, values))) != len(values):
            raise ValueError(f"options[{name!r}]: values repeat: {list(values)!r}")
        checked[name] = tuple(values)
    count = math.prod(len(values) for values in checked.values())
    if count > MAX_FIGURES:
        raise ValueError(f"options: {count} combinations would be drawn, more than "
                         f"MAX_FIGURES = {MAX_FIGURES}; offer fewer values")
    return checked


def _check_initial(initial: Any, options: Mapping[str, tuple]) -> dict[str, Any]:
    initial = {} if initial is None else initial
    if not isinstance(initial, Mapping):
        raise ValueError(f"initial: expected a mapping of control name -> value, got {initial!r}")
    unknown = set(initial) - set(options)
    if unknown:
        raise ValueError(f"initial: no control named {sorted(unknown)}; the controls are "
                         f"{list(options)}")
    for name, value in initial.items():
        if value not in options[name]:
            raise ValueError(f"initial[{name!r}]: {value!r} is not one of its options "
                             f"{list(options[name])}")
    return {name: initial.get(name, values[0]) for name, values in options.items()}


def nearest_option(options: Sequence[float], value: float) -> float:
    """The option closest to ``value`` (the first of a tie): where to start a control over a
    grid when the measured value is not one of its points."""
    if isinstance(options, (str, bytes)) or not isinstance(options, Sequence) or not options:
        raise ValueError(f"options: expected a non-empty sequence of numbers, got {options!r}")
    if not all(isinstance(o, (int, float)) and not isinstance(o, bool) and math.isfinite(o)
               for o in options):
        raise ValueError(f"options: expected finite numbers, got {list(options)!r}")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"value: expected a finite number, got {value!r}")
    return min(options, key=lambda option: abs(option - value))


def render_png(draw: Callable[..., Any], values: Mapping[str, Any], *, dpi: int = 80) -> bytes:
    """PNG bytes of the figure ``draw(**values)`` draws on a new ``plt.figure``; a
    ``plt.show()`` inside ``draw`` is ignored, and the figure is closed afterwards."""
    import matplotlib.pyplot as plt

    before = set(plt.get_fignums())
    show, plt.show = plt.show, lambda *args, **kwargs: None
    try:
        draw(**values)
        new = [number for number in plt.get_fignums() if number not in before]
        if not new:
            raise ValueError(f"draw: drew no new figure for {dict(values)!r}")
        buffer = io.BytesIO()
        plt.figure(new[-1]).savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
        return buffer.getvalue()
    finally:
        plt.show = show
        for number in set(plt.get_fignums()) - before:
            plt.close(number)


def _control(name: str, values: tuple, initial: Any, label: str):
    import ipywidgets as widgets

    options = [(_label(value), value) for value in values]
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    kind = widgets.SelectionSlider if numeric else widgets.Dropdown
    return kind(options=options, value=initial, description=label,
                style={"description_width": "initial"})


def _label(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def precomputed_controls(draw: Callable[..., Any], options: Mapping[str, Sequence], *,
                         initial: Mapping[str, Any] | None = None,
                         labels: Mapping[str, str] | None = None, dpi: int = 80):
    """Controls over a precomputed grid of figures, working with or without a kernel.

    ``draw(**values)`` draws one figure on a new ``plt.figure`` (and does not show it), for
    ``values`` one option of each control; ``options`` maps each control's name (``draw``'s
    keyword) to its values, offered in that order (numbers get a slider, anything else
    a drop-down); ``initial`` gives the values first shown (default: each first option);
    ``labels`` the controls' descriptions (default: their names). Returns an
    ``ipywidgets.VBox`` of the controls above the figure; display it. Draws
    ``prod(len(values))`` figures, at most :data:`MAX_FIGURES`, at ``dpi`` dots per inch."""
    import ipywidgets as widgets

    if not callable(draw):
        raise TypeError(f"draw: expected a function drawing one figure, got {draw!r}")
    options = _check_options(options)
    start = _check_initial(initial, options)
    labels = {} if labels is None else dict(labels)
    if set(labels) - set(options):
        raise ValueError(f"labels: no control named {sorted(set(labels) - set(options))}")
    if not isinstance(dpi, int) or isinstance(dpi, bool) or not 20 <= dpi <= 300:
        raise ValueError(f"dpi: expected an integer from 20 to 300, got {dpi!r}")
    names = list(options)
    images = {combo: render_png(draw, dict(zip(names, combo)), dpi=dpi)
              for combo in itertools.product(*options.values())}
    controls = [_control(name, options[name], start[name], labels.get(name, name))
                for name in names]

    def stack(level: int, prefix: tuple):
        if level == len(names):
            return widgets.Image(value=images[prefix], format="png")
        values = options[names[level]]
        box = widgets.Stack([stack(level + 1, prefix + (value,)) for value in values],
                            selected_index=values.index(start[names[level]]))
        widgets.jslink((controls[level], "index"), (box, "selected_index"))
        return box

    return widgets.VBox([widgets.HBox(controls[:2]), *[widgets.HBox(controls[i:i + 2])
                                                       for i in range(2, len(controls), 2)],
                         stack(0, ())])
