"""MADDNESS on bad input: every case raises a named error (its type, and a message naming
the argument), and a failed or stale call never changes the estimator or answers wrongly.

The compiled kernels used here (4 codebooks, 3 outputs) are the ones test_maddness.py
compiles too, so this module adds little compile time."""

import copy

import numpy as np
import pytest

from effnotes.maddness import Maddness, NotFittedError

BACKENDS = ["numba", "numpy"]
C, D, M = 4, 16, 3


def make_data(n=400, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, D)).cumsum(axis=1).astype(np.float32)
    B = rng.normal(size=(D, M)).astype(np.float32)
    return A, B


A, B = make_data()


@pytest.fixture(scope="module", params=BACKENDS)
def fitted(request):
    est = Maddness(C, backend=request.param).fit(A[:300], B)
    est.matmul(A)  # the compiled path prepares its arrays once; later calls change nothing
    return est


def split_column(est):
    return int(est.split_dims_[1, 2])


def unread_column(est):
    return next(j for j in range(D) if j not in est.split_dims_)


def with_value(X, row, col, value, order="C"):
    X = np.array(X, order=order)
    X[row, col] = value
    return X


# --- parameters, checked at fit ------------------------------------------------------------
PARAM_CASES = [
    ("ncodebooks", 0, ValueError), ("ncodebooks", -2, ValueError),
    ("ncodebooks", 2.5, TypeError), ("ncodebooks", True, TypeError),
    ("ncodebooks", "4", TypeError), ("ncodebooks", 5, ValueError),
    ("ncodebooks", 32, ValueError),
    ("lam", float("nan"), ValueError), ("lam", -1.0, ValueError),
    ("lam", float("inf"), ValueError), ("lam", "1", TypeError), ("lam", None, TypeError),
    ("try_ndims", 0, ValueError), ("try_ndims", -1, ValueError),
    ("try_ndims", 1.5, TypeError), ("try_ndims", None, TypeError),
    ("aggregation", "mean", ValueError), ("aggregation", None, ValueError),
    ("backend", "cuda", ValueError), ("backend", 1, ValueError),
    ("quantize", "yes", TypeError), ("quantize", 1, TypeError),
]


@pytest.mark.parametrize("name,value,error", PARAM_CASES,
                         ids=[f"{n}={v!r}" for n, v, _ in PARAM_CASES])
def test_bad_parameter_refused_at_fit(name, value, error):
    est = Maddness(C, **{name: value}) if name != "ncodebooks" else Maddness(value)
    with pytest.raises(error, match=rf"^{name}\b"):
        est.fit(A, B)
    assert not hasattr(est, "prototypes_")


# --- fit's matrices --------------------------------------------------------------------------
FIT_CASES = [
    ("A_train", A.tolist(), TypeError), ("A_train", A.astype(np.int32), TypeError),
    ("A_train", A.astype(np.complex64), TypeError), ("A_train", A[0], ValueError),
    ("A_train", A[None], ValueError), ("A_train", with_value(A, 7, 3, np.nan), ValueError),
    ("A_train", with_value(A, 7, 3, -np.inf), ValueError), ("A_train", A[:0], ValueError),
    ("A_train", A[:10], ValueError), ("A_train", A[:, :0], ValueError),
    ("B", B[:-1], ValueError), ("B", with_value(B, 2, 1, np.nan), ValueError),
    ("B", B.astype(np.int64), TypeError), ("B", B[:, 0], ValueError),
    ("B", B.tolist(), TypeError), ("B", with_value(B, 0, 0, np.inf), ValueError),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name,value,error", FIT_CASES,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(FIT_CASES)])
def test_bad_fit_input_refused(backend, name, value, error):
    args = {"A_train": A, "B": B, name: value}
    est = Maddness(C, backend=backend)
    with pytest.raises(error, match=rf"^{name}\b"):
        est.fit(args["A_train"], args["B"])
    assert not hasattr(est, "prototypes_")


def test_nonfinite_training_value_is_located():
    with pytest.raises(ValueError, match="row 7, column 3"):
        Maddness(C).fit(with_value(A, 7, 3, np.nan), B)


# --- matmul / encode / set_B / aggregate inputs ----------------------------------------------
def input_cases(est):
    split, unread = split_column(est), unread_column(est)
    return {
        "A wrong width": (lambda: est.matmul(A[:, :-1]), ValueError, "A has 15 columns"),
        "A 1-D": (lambda: est.matmul(A[0]), ValueError, "A must be 2-D"),
        "A int": (lambda: est.matmul(A.astype(np.int16)), TypeError, "A must be float32"),
        "A list": (lambda: est.matmul(A.tolist()), TypeError, "A must be a NumPy array"),
        "A NaN read": (lambda: est.matmul(with_value(A, 5, split, np.nan)), ValueError,
                       f"A has nan at row 5, column {split}"),
        "A NaN read, F order": (lambda: est.matmul(with_value(A, 399, split, np.nan, "F")),
                                ValueError, f"A has nan at row 399, column {split}"),
        "A inf read": (lambda: est.matmul(with_value(A, 0, split, np.inf)), ValueError,
                       f"A has inf at row 0, column {split}"),
        "A NaN unread, full scan": (
            lambda: est.matmul(with_value(A, 9, unread, np.nan), check_finite=True),
            ValueError, f"A contains NaN.*row 9, column {unread}"),
        "check_finite not bool": (lambda: est.matmul(A, check_finite="no"), TypeError,
                                  "check_finite"),
        "out wrong shape": (lambda: est.matmul(A, out=np.empty((3, M), np.float32)),
                            ValueError, "out must be"),
        "out float64": (lambda: est.matmul(A, out=np.empty((len(A), M))), ValueError, "out must be"),
        "out F order": (lambda: est.matmul(A, out=np.empty((len(A), M), np.float32, order="F")),
                        ValueError, "out must be"),
        "out read-only": (lambda: est.matmul(A, out=np.broadcast_to(np.float32(0), (len(A), M))),
                          ValueError, "out must be"),
        "out list": (lambda: est.matmul(A, out=[[0.0] * M] * len(A)), ValueError, "out must be"),
        "encode wrong width": (lambda: est.encode(A[:, 1:]), ValueError, "A has 15 columns"),
        "encode NaN read": (lambda: est.encode(with_value(A, 3, split, np.nan)), ValueError,
                            f"A has nan at row 3, column {split}"),
        "encode NaN read, F order": (
            lambda: est.encode(with_value(A, 3, split, np.nan, "F")), ValueError,
            f"A has nan at row 3, column {split}"),
        "predict_float NaN read": (lambda: est.predict_float(with_value(A, 3, split, np.nan)),
                                   ValueError, f"A has nan at row 3, column {split}"),
        "set_B wrong rows": (lambda: copy.deepcopy(est).set_B(B[1:]), ValueError, "B has 15 rows"),
        "set_B NaN": (lambda: copy.deepcopy(est).set_B(with_value(B, 1, 1, np.nan)),
                      ValueError, "B contains NaN"),
        "codes 16": (lambda: est.aggregate(np.full((4, C), 16, np.uint8)), ValueError,
                     "codes must be in 0..15, got 16 at row 0, codebook 0"),
        "codes 255": (lambda: est.aggregate(with_value(np.zeros((9, C), np.uint8), 8, 2, 255)),
                      ValueError, "codes must be in 0..15, got 255 at row 8, codebook 2"),
        "codes int64": (lambda: est.aggregate(np.zeros((4, C), np.int64)), ValueError,
                        "codes must be uint8"),
        "codes wrong C": (lambda: est.aggregate(np.zeros((4, C + 1), np.uint8)), ValueError,
                          "codes must be uint8 of shape"),
        "codes 1-D": (lambda: est.aggregate(np.zeros(4, np.uint8)), ValueError,
                      "codes must be uint8 of shape"),
        "codes list": (lambda: est.aggregate([[0] * C]), TypeError, "codes must be a NumPy array"),
        "runner part": (lambda: est.runner(A, "both"), ValueError, "part must be one of"),
    }


INPUT_CASE_NAMES = list(input_cases(Maddness(C, backend="numpy").fit(A[:300], B)))


@pytest.mark.parametrize("case", INPUT_CASE_NAMES)
def test_bad_call_input_refused(fitted, case):
    if case == "runner part" and fitted.backend == "numpy":
        pytest.skip("the runner times the compiled kernels only")
    call, error, message = input_cases(fitted)[case]
    before = dict(fitted.__dict__)
    with pytest.raises(error, match="^" + message):
        call()
    assert all(fitted.__dict__[k] is v for k, v in before.items())


def test_nan_outside_the_read_columns_cannot_reach_the_output(fitted):
    poisoned = A.copy()
    unread = [j for j in range(D) if j not in fitted.split_dims_]
    assert unread, "every column is read: choose wider slices"
    poisoned[:, unread] = np.nan
    for X, Y in ((poisoned, A), (np.asfortranarray(poisoned), np.asfortranarray(A))):
        np.testing.assert_array_equal(fitted.matmul(X), fitted.matmul(Y))
        np.testing.assert_array_equal(fitted.encode(X), fitted.encode(Y))
        assert np.isfinite(fitted.matmul(X)).all()


# --- learned state: stale parameters, failed and repeated fits -------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name,value", [("ncodebooks", 8), ("ncodebooks", 2), ("lam", 0.5),
                                        ("try_ndims", 2)])
def test_changing_a_learned_parameter_after_fit_is_refused(backend, name, value):
    est = Maddness(C, backend=backend).fit(A, B)
    expected = est.matmul(A)
    original = getattr(est, name)
    setattr(est, name, value)
    for call in (lambda: est.matmul(A), lambda: est.encode(A),
                 lambda: est.aggregate(np.zeros((2, C), np.uint8)), lambda: est.set_B(B)):
        with pytest.raises(ValueError, match=f"^{name} was {original!r} at fit"):
            call()
    setattr(est, name, original)
    np.testing.assert_array_equal(est.matmul(A), expected)
    setattr(est, name, value)
    est.fit(A, B)  # a refit takes the new value
    assert est.encode(A).shape == (len(A), est.ncodebooks) or name != "ncodebooks"
    assert est.matmul(A).shape == (len(A), M)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name,value,error", [("ncodebooks", 4.0, TypeError),
                                              ("ncodebooks", True, TypeError),
                                              ("try_ndims", 4.0, TypeError),
                                              ("lam", "1.0", TypeError),
                                              ("lam", float("nan"), ValueError)])
def test_a_learned_parameter_of_the_wrong_type_after_fit_is_refused(backend, name, value,
                                                                     error):
    est = Maddness(C, backend=backend).fit(A, B)  # ncodebooks 4, try_ndims 4, lam 1.0
    expected = est.matmul(A)
    original = getattr(est, name)
    setattr(est, name, value)  # equal to the fitted value for 4.0 and True, never coerced
    for call in (lambda: est.matmul(A), lambda: est.encode(A), lambda: est.predict_float(A),
                 lambda: est.aggregate(np.zeros((2, C), np.uint8)), lambda: est.set_B(B)):
        with pytest.raises(error, match=f"^{name} must be"):
            call()
    setattr(est, name, original)
    np.testing.assert_array_equal(est.matmul(A), expected)


@pytest.mark.parametrize("name,value,error", [("aggregation", "median", ValueError),
                                              ("backend", "cuda", ValueError),
                                              ("quantize", "no", TypeError)])
def test_bad_inference_parameter_set_after_fit_is_refused(name, value, error):
    est = Maddness(C).fit(A, B)
    setattr(est, name, value)
    with pytest.raises(error, match=f"^{name} must be"):
        est.matmul(A)


@pytest.mark.parametrize("backend", BACKENDS)
def test_changing_aggregation_after_fit_gives_that_aggregation(backend):
    est = Maddness(C, aggregation="average", backend=backend).fit(A, B)
    est.matmul(A)  # prepares the averaging kernel's arrays
    est.aggregation = "sum"
    fresh = Maddness(C, aggregation="sum", backend=backend).fit(A, B)
    np.testing.assert_allclose(est.matmul(A), fresh.matmul(A), rtol=1e-6, atol=1e-5)
    est.aggregation = "average"
    ref = Maddness(C, backend="numpy").fit(A, B)
    np.testing.assert_allclose(est.matmul(A), ref.matmul(A), rtol=1e-5, atol=1e-4)


def state(est):
    return {k: (v.copy() if isinstance(v, np.ndarray) else copy.deepcopy(v))
            for k, v in est.__dict__.items()}


def assert_same_state(est, saved):
    assert set(est.__dict__) == set(saved)
    for key, value in saved.items():
        now = est.__dict__[key]
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(now, value, err_msg=key)
        elif key == "quantized_":
            np.testing.assert_array_equal(now.lut, value.lut)
        elif key == "_prepared":
            assert (now is None) == (value is None)
        else:
            assert now == value, key


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_failed_refit_leaves_the_estimator_as_it_was(backend):
    est = Maddness(C, backend=backend).fit(A, B)
    expected = est.matmul(A)
    saved = state(est)
    A3 = make_data(seed=3)[0]
    with pytest.raises(ValueError, match="B has 15 rows"):
        est.fit(A3, B[:-1])
    with pytest.raises(ValueError, match="A_train contains NaN"):
        est.fit(with_value(A3, 0, 0, np.nan), B)
    with pytest.raises(ValueError, match="B"):
        est.set_B(with_value(B, 0, 0, np.nan))
    assert_same_state(est, saved)
    np.testing.assert_array_equal(est.matmul(A), expected)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_refit_clears_every_cached_array(backend):
    est = Maddness(C, backend=backend).fit(A, B)
    est.matmul(A)
    A3 = make_data(seed=3)[0] * 3 + 1
    est.fit(A3)
    assert not {"tables_", "quantized_", "_prepared", "n_outputs_"} & set(est.__dict__)
    with pytest.raises(NotFittedError, match="set_B"):
        est.matmul(A3)
    est.fit(A3, B)
    np.testing.assert_allclose(est.matmul(A3), est.aggregate(est.encode(A3)), rtol=0, atol=0)
    fresh = Maddness(C, backend=backend).fit(A3, B)
    np.testing.assert_array_equal(est.matmul(A3), fresh.matmul(A3))


def test_calls_before_fit_say_to_fit():
    for call in (lambda e: e.matmul(A), lambda e: e.encode(A), lambda e: e.set_B(B),
                 lambda e: e.aggregate(np.zeros((2, C), np.uint8)), lambda e: e.runner(A)):
        with pytest.raises(NotFittedError, match=r"call fit\(A_train, B\)"):
            call(Maddness(C))
    with pytest.raises(NotFittedError, match="set_B"):
        Maddness(C).fit(A).matmul(A)


# --- the two backends agree on edge cases ----------------------------------------------------
@pytest.fixture(scope="module")
def pair():
    return [Maddness(C, backend=b).fit(A, B) for b in BACKENDS]


@pytest.mark.parametrize("order", ["C", "F"])
def test_backends_agree_on_zero_rows(pair, order):
    X = np.asarray(A[:0], order=order)
    for est in pair:
        assert est.matmul(X).shape == (0, M) and est.encode(X).shape == (0, C)
        assert est.aggregate(np.zeros((0, C), np.uint8)).shape == (0, M)


def test_backends_agree_on_zero_output_columns():
    outs = [Maddness(C, backend=b).fit(A, B[:, :0]).matmul(A) for b in BACKENDS]
    assert all(o.shape == (len(A), 0) and o.dtype == np.float32 for o in outs)


def test_backends_agree_on_nan_without_the_full_scan(pair):
    unread, split = unread_column(pair[0]), split_column(pair[0])
    outs = [est.matmul(with_value(A, 4, unread, np.nan), check_finite=False) for est in pair]
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-5, atol=1e-4)
    messages = []
    for est in pair:
        with pytest.raises(ValueError) as info:
            est.matmul(with_value(A, 4, split, np.nan), check_finite=False)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


# --- the baselines and faiss's PQ: the same checks, one interface -----------------------------
from effnotes.maddness import baselines  # noqa: E402
from effnotes.maddness.faiss_pq import FaissPQ, faiss_available  # noqa: E402

QUANTISERS = [baselines.ProductQuantizer, baselines.Bolt]
if faiss_available():
    QUANTISERS.append(FaissPQ)
BUDGETED = [*QUANTISERS, baselines.GaussianSketch, baselines.PCAProjection]
SEEDED = [baselines.ProductQuantizer, baselines.Bolt, baselines.GaussianSketch]
ALL_METHODS = [baselines.Exact, *BUDGETED]
A_SMALL = A[:64]

BUDGET_CASES = [(0, ValueError), (-2, ValueError), (4.0, TypeError), (True, TypeError),
                ("4", TypeError)]


@pytest.mark.parametrize("cls", BUDGETED, ids=lambda c: c.__name__)
@pytest.mark.parametrize("value, error", BUDGET_CASES, ids=lambda v: repr(v))
def test_a_baselines_bad_budget_is_named(cls, value, error):
    with pytest.raises(error, match="budget"):
        cls(budget=value).fit(A_SMALL, B)


@pytest.mark.parametrize("cls", SEEDED, ids=lambda c: c.__name__)
@pytest.mark.parametrize("value, error", [(0.5, TypeError), (-1, ValueError), ("0", TypeError)])
def test_a_baselines_bad_seed_is_named(cls, value, error):
    with pytest.raises(error, match="seed"):
        cls(budget=C, seed=value).fit(A_SMALL, B)


@pytest.mark.parametrize("cls", QUANTISERS, ids=lambda c: c.__name__)
def test_quantisers_name_a_budget_that_does_not_divide_and_too_few_rows(cls):
    with pytest.raises(ValueError, match="budget=3"):
        cls(budget=3).fit(A_SMALL, B)
    with pytest.raises(ValueError, match="A_train has 15 rows"):
        cls(budget=C).fit(A[:15], B)


def test_pca_refuses_more_directions_than_the_data_has():
    with pytest.raises(ValueError, match="budget must be at most 16"):
        baselines.PCAProjection(budget=D + 1).fit(A_SMALL, B)
    with pytest.raises(ValueError, match="budget must be at most 3"):
        baselines.PCAProjection(budget=4).fit(A[:3], B)


BASELINE_FIT_CASES = [
    ("A_train", A_SMALL.tolist(), B, TypeError), ("A_train", A_SMALL.astype(np.int32), B, TypeError),
    ("A_train", with_value(A_SMALL, 3, 2, np.nan), B, ValueError), ("A_train", A[:0], B, ValueError),
    ("A_train", A_SMALL[0], B, ValueError), ("B", A_SMALL, B[:5], ValueError),
    ("B", A_SMALL, B.astype(np.int64), TypeError), ("B", A_SMALL, with_value(B, 0, 0, np.inf), ValueError),
]


def same_state(a, b) -> bool:
    if isinstance(b, np.ndarray):
        return np.array_equal(a, b)
    if hasattr(b, "__dataclass_fields__"):
        return all(same_state(getattr(a, f), getattr(b, f)) for f in b.__dataclass_fields__)
    return a == b


@pytest.mark.parametrize("cls", ALL_METHODS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("name, A_train, B_, error", BASELINE_FIT_CASES,
                         ids=[f"{n}-{i}" for i, (n, *_ ) in enumerate(BASELINE_FIT_CASES)])
def test_baselines_refuse_bad_fit_input_and_keep_their_state(cls, name, A_train, B_, error):
    est = cls(budget=C).fit(A_SMALL, B)
    before = copy.deepcopy({k: v for k, v in vars(est).items() if k != "pq_"})
    expected = est.matmul(A[:8])
    with pytest.raises(error, match=rf"\b{name}\b"):
        est.fit(A_train, B_)
    assert vars(est).keys() - {"pq_"} == before.keys()
    assert all(same_state(getattr(est, key), value) for key, value in before.items())
    assert np.array_equal(est.matmul(A[:8]), expected)


@pytest.mark.parametrize("cls", ALL_METHODS, ids=lambda c: c.__name__)
def test_baselines_refuse_bad_matmul_input_by_name(cls):
    with pytest.raises(NotFittedError, match="fit"):
        cls(budget=C).matmul(A)
    est = cls(budget=C).fit(A_SMALL, B)
    for value, error in ((A[:, :4], ValueError), (A.astype(np.int16), TypeError),
                         (with_value(A[:4], 1, 1, np.nan), ValueError), (A.tolist(), TypeError)):
        with pytest.raises(error, match=r"^A\b"):
            est.matmul(value)


@pytest.mark.skipif(not faiss_available(), reason="faiss-cpu is not installed")
@pytest.mark.parametrize("threads, error", [(0, ValueError), (-1, ValueError), (1.5, TypeError),
                                            (True, TypeError)])
def test_faiss_pq_names_bad_threads(threads, error):
    with pytest.raises(error, match="threads"):
        FaissPQ(budget=C, threads=threads).fit(A_SMALL, B)


@pytest.mark.skipif(not faiss_available(), reason="faiss-cpu is not installed")
@pytest.mark.parametrize("out", [np.empty((2, M), np.float32), np.empty((8, M)), [],
                                 np.empty((M, 8), np.float32).T],
                         ids=["short", "float64", "list", "not contiguous"])
def test_faiss_pq_refuses_an_out_array_it_cannot_fill_exactly(out):
    est = FaissPQ(budget=C).fit(A_SMALL, B)
    with pytest.raises(ValueError, match="^out must be"):
        est.matmul(A[:8], out=out)
    filled = np.full((8, M), np.nan, np.float32)
    assert est.matmul(A[:8], out=filled) is filled and np.array_equal(filled, est.matmul(A[:8]))


@pytest.mark.parametrize("call, error, name", [
    (lambda: baselines.make_method(3, 4), TypeError, "name"),
    (lambda: baselines.make_method("LSH", 4), ValueError, "name"),
    (lambda: baselines.make_method("PQ", 4.5), TypeError, "budget"),
], ids=["name number", "name unknown", "budget float"])
def test_make_method_names_bad_arguments(call, error, name):
    with pytest.raises(error, match=name):
        call()


def test_baselines_accept_float64_and_numpy_integer_budgets():
    est = baselines.ProductQuantizer(budget=np.int64(C), seed=np.int32(0)).fit(A_SMALL, B)
    assert np.array_equal(est.matmul(A[:8]),
                          baselines.ProductQuantizer(budget=C).fit(A_SMALL, B).matmul(A[:8]))
    for cls in ALL_METHODS:  # float64, as NumPy users pass it: a float32 product comes back
        out = cls(budget=C).fit(A_SMALL.astype(np.float64), B.astype(np.float64)).matmul(
            A[:8].astype(np.float64))
        assert out.dtype == np.float32 and out.shape == (8, M) and np.isfinite(out).all()
