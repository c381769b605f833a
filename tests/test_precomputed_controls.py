"""Figure controls over a precomputed grid: one image per combination, each control linked
to its stacks in the browser, and bad arguments refused by name."""

import ipywidgets as widgets
from ipywidgets.widgets.widget_link import Link
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from effnotes import precomputed_controls as pc  # noqa: E402

DRAWN = []


def draw(a, b):
    DRAWN.append((a, b))
    plt.figure(figsize=(2, 1.5))
    plt.plot([0, 1], [0, a])
    plt.title(b)
    plt.show()  # ignored while drawing


def _leaves(widget, path=()):
    if isinstance(widget, widgets.Image):
        yield path, widget
    for i, child in enumerate(getattr(widget, "children", ())):
        yield from _leaves(child, path + (i,))


def test_every_combination_is_drawn_once_and_the_controls_are_linked():
    DRAWN.clear()
    open_before = plt.get_fignums()
    box = pc.precomputed_controls(draw, {"a": [1, 2, 3], "b": ["x", "y"]}, initial={"a": 2})
    assert sorted(DRAWN) == [(a, b) for a in (1, 2, 3) for b in "xy"]
    assert plt.get_fignums() == open_before  # every figure closed
    images = list(_leaves(box))
    assert len(images) == 6 and all(img.value[:4] == b"\x89PNG" for _, img in images)
    assert len({img.value for _, img in images}) == 6  # six different pictures
    slider, dropdown = box.children[0].children
    assert isinstance(slider, widgets.SelectionSlider) and slider.value == 2
    assert isinstance(dropdown, widgets.Dropdown) and dropdown.value == "x"
    outer = box.children[-1]
    assert isinstance(outer, widgets.Stack) and outer.selected_index == 1
    links = [w for w in widgets.Widget.widgets.values() if isinstance(w, Link)]
    targets = {(id(link.source[0]), id(link.target[0])) for link in links}
    assert (id(slider), id(outer)) in targets
    assert all((id(dropdown), id(inner)) in targets for inner in outer.children)


def test_nearest_option():
    assert pc.nearest_option([0.1, 0.5, 0.9], 0.62) == 0.5
    with pytest.raises(ValueError, match="value: expected a finite number"):
        pc.nearest_option([1, 2], float("nan"))
    with pytest.raises(ValueError, match="options: expected a non-empty"):
        pc.nearest_option([], 1.0)


@pytest.mark.parametrize("kwargs, message", [
    ({"options": {}}, "options: expected a non-empty mapping"),
    ({"options": {"a": []}}, r"options\['a'\]: expected a non-empty sequence"),
    ({"options": {"a": "xyz"}}, r"options\['a'\]: expected a non-empty sequence"),
    ({"options": {"a": [1, 1]}}, r"options\['a'\]: values repeat"),
    ({"options": {"a b": [1]}}, "options: control names must be identifiers"),
    ({"options": {"a": list(range(20)), "b": list(range(20))}}, "more than MAX_FIGURES"),
    ({"options": {"a": [1], "b": ["x"]}, "initial": {"c": 1}}, "initial: no control named"),
    ({"options": {"a": [1], "b": ["x"]}, "initial": {"a": 5}}, r"initial\['a'\]: 5 is not one"),
    ({"options": {"a": [1], "b": ["x"]}, "labels": {"c": "C"}}, "labels: no control named"),
    ({"options": {"a": [1], "b": ["x"]}, "dpi": 0}, "dpi: expected an integer"),
])
def test_bad_arguments_are_named(kwargs, message):
    DRAWN.clear()
    with pytest.raises(ValueError, match=message):
        pc.precomputed_controls(draw, **kwargs)
    assert not DRAWN  # refused before drawing anything


def test_a_draw_that_draws_nothing_is_named():
    with pytest.raises(TypeError, match="draw: expected a function"):
        pc.precomputed_controls(None, {"a": [1]})
    with pytest.raises(ValueError, match="draw: drew no new figure"):
        pc.precomputed_controls(lambda a: None, {"a": [1]})
