"""A synthetic cohort that needs multiple instance learning.

Each patient is a *bag* of ``n_beats`` consecutive beats of one record of a
:class:`~effnotes.mil.beats.BeatBank`, from a seeded random start (so the RR intervals are that
record's; every record serves positive and negative patients in the same proportion), scaled
by a patient gain and given the patient's own measurement noise. A bag never wraps around its
record, so it never repeats a beat: a record with fewer beats than one bag is dropped
(:func:`draw_bags` names it), as the reader's own records are
(:func:`effnotes.mil.records.records_cohort`); :func:`bag_repetition` measures the
repetition of any bags from their beat indices. In a minority of beats, the
*witnesses*, a Gaussian deflection of amplitude ±``amplitude`` mV is added in the ST/T window.
Positive patients carry a witness fraction ``witness_positive``; negative ones a fraction drawn
uniformly from ``[0, witness_negative_max]``. Within a patient the deflections alternate in
sign, so the patient's mean beat is unchanged (a template classifier sees nothing) and the RR
intervals are untouched (HRV sees nothing): only a model that looks at single beats and pools
them can tell the classes apart.

Optional survival times have hazard ``base_hazard * exp(survival_beta * w)``, ``w`` the
patient's witness fraction, with administrative censoring at ``follow_up`` (years).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from effnotes.mil.beats import BeatBank


@dataclass(frozen=True)
class CohortConfig:
    """The cohort's size and its planted signal (see the module docstring). ``instance_beats``
    adjacent beats make one instance; ``deflection_at_s`` and ``deflection_width_s`` place
    the witness deflection after the R peak (seconds); ``gain`` and ``noise_mv`` are ranges of
    the per-patient gain and noise standard deviation (mV)."""

    n_patients: int = 600
    n_beats: int = 200
    instance_beats: int = 2
    prevalence: float = 0.25
    witness_positive: float = 0.10
    witness_negative_max: float = 0.02
    amplitude: float = 0.20
    deflection_at_s: float = 0.22
    deflection_width_s: float = 0.03
    gain: tuple[float, float] = (0.85, 1.15)
    noise_mv: tuple[float, float] = (0.01, 0.04)
    survival_beta: float = 25.0
    base_hazard: float = 0.05
    follow_up: float = 1.0
    sampling_rate: int = 128
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n_patients < 4:
            raise ValueError(f"n_patients must be at least 4, got {self.n_patients}")
        if self.instance_beats not in (1, 2, 3, 4):
            raise ValueError(f"instance_beats must be 1 to 4, got {self.instance_beats}")
        if self.n_beats < self.instance_beats or self.n_beats % self.instance_beats:
            raise ValueError(f"n_beats ({self.n_beats}) must be a positive multiple of "
                             f"instance_beats ({self.instance_beats})")
        if not 0 < self.prevalence < 1:
            raise ValueError(f"prevalence must be in (0, 1), got {self.prevalence}")
        for name in ("witness_positive", "witness_negative_max"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be a fraction in [0, 1], got {getattr(self, name)}")
        if self.base_hazard <= 0 or self.follow_up <= 0:
            raise ValueError("base_hazard and follow_up must be positive")


@dataclass(frozen=True)
class Cohort:
    """Patients as bags. ``beats`` float32 ``(n_patients, n_beats, window)`` (mV);
    ``witness`` bool ``(n_patients, n_beats)``; ``rr_ms`` float32 ``(n_patients, n_beats)``;
    ``labels`` int ``(n_patients,)``; ``witness_fraction`` ``(n_patients,)``; ``time`` (years)
    and ``event`` (bool) ``(n_patients,)``; ``record`` ``(n_patients,)``, the bank record each
    patient's beats came from; ``instance_beats`` beats per instance; ``beat_index`` int
    ``(n_patients, n_beats)``, the bank beat at each position of each bag."""

    beats: np.ndarray
    witness: np.ndarray
    rr_ms: np.ndarray
    labels: np.ndarray
    witness_fraction: np.ndarray
    time: np.ndarray
    event: np.ndarray
    record: np.ndarray
    sampling_rate: int
    instance_beats: int
    beat_index: np.ndarray

    @property
    def n_patients(self) -> int:
        return self.beats.shape[0]

    def instances(self) -> np.ndarray:
        """The bags as instances of ``instance_beats`` adjacent beats: float32
        ``(n_patients, n_beats // instance_beats, instance_beats * window)``."""
        p, n, w = self.beats.shape
        k = self.instance_beats
        return self.beats.reshape(p, n // k, k * w)

    def instance_witness(self) -> np.ndarray:
        """Whether each instance holds a witness beat: bool ``(n_patients, n_instances)``."""
        p, n = self.witness.shape
        return self.witness.reshape(p, n // self.instance_beats, self.instance_beats).any(-1)

    def mean_beats(self) -> np.ndarray:
        """Each patient's average beat, ``(n_patients, window)``."""
        return self.beats.mean(axis=1)


def deflection(config: CohortConfig, window: int) -> np.ndarray:
    """The witness deflection's shape for a beat of ``window`` samples (peak 1, R at the
    centre): a Gaussian ``deflection_at_s`` after the R peak."""
    t = (np.arange(window) - window // 2) / config.sampling_rate
    return np.exp(-0.5 * ((t - config.deflection_at_s) / config.deflection_width_s) ** 2)


def _alternating_signs(n: int, rng: np.random.Generator) -> np.ndarray:
    signs = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    rng.shuffle(signs)
    return signs


@dataclass(frozen=True)
class Bags:
    """Which beats make each patient's bag: ``index`` int ``(n_patients, n_beats)``, bank
    beat indices, consecutive within one record; ``record`` int ``(n_patients,)``, the
    record (position in :meth:`~effnotes.mil.beats.BeatBank.runs`) of each bag; ``labels``
    int ``(n_patients,)``; ``dropped``, the records left out for holding fewer beats than a
    bag; ``record_beats``, every record's number of beats."""

    index: np.ndarray
    record: np.ndarray
    labels: np.ndarray
    dropped: tuple[int, ...]
    record_beats: tuple[int, ...]


def contiguous_bag(run: np.ndarray, n_beats: int, rng: np.random.Generator) -> np.ndarray:
    """``n_beats`` consecutive entries of ``run`` (a record's beat indices) from a start drawn
    by ``rng``; never wraps around, so a ``run`` shorter than the bag is refused."""
    if len(run) < n_beats:
        raise ValueError(f"a record of {len(run)} beats cannot hold a bag of n_beats={n_beats} "
                         "consecutive beats without repeating some")
    start = int(rng.integers(len(run) - n_beats + 1))
    return run[start:start + n_beats]


def _generators(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    """Two independent generators from ``seed``: one for the bags (labels, records, starts),
    one for what is planted in them, so that cohorts that differ only in their planted signal
    share their bags."""
    bags, signal = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(bags), np.random.default_rng(signal)


def draw_bags(bank: BeatBank, config: CohortConfig = CohortConfig()) -> Bags:
    """The labels and bags of the cohort that :func:`make_cohort` makes with ``config``
    (seeded by ``config.seed``): each patient a run of ``config.n_beats`` consecutive beats of
    one record (:func:`contiguous_bag`), the records with fewer beats than that dropped, every
    kept record serving both classes in the same proportion."""
    if bank.sampling_rate != config.sampling_rate:
        raise ValueError(f"mismatched sampling rates: the bank is at {bank.sampling_rate} Hz, the "
                         f"cohort expects {config.sampling_rate} Hz")
    rng, _ = _generators(config.seed)
    runs = bank.runs()
    p, n = config.n_patients, config.n_beats
    lengths = tuple(len(run) for run in runs)
    kept = [r for r, length in enumerate(lengths) if length >= n]
    dropped = tuple(r for r, length in enumerate(lengths) if length < n)
    if len(kept) < 2:
        raise ValueError(f"only {len(kept)} of the bank's {len(runs)} records hold "
                         f"n_beats={n} beats (the longest holds {max(lengths)}): simulate longer "
                         "records (effnotes.mil.beats.bank_for_bags) or use shorter bags")
    n_pos = int(round(config.prevalence * p))
    labels = np.zeros(p, dtype=int)
    labels[rng.choice(p, n_pos, replace=False)] = 1
    # each record serves the two classes in the same proportion, so that neither a record's
    # rhythm nor its beat shape says anything about the label
    source = np.empty(p, dtype=int)
    for cls in (0, 1):
        members = np.flatnonzero(labels == cls)
        repeats = -(-len(members) // len(kept))
        source[members] = rng.permutation(np.tile(kept, repeats))[:len(members)]
    index = np.stack([contiguous_bag(runs[source[i]], n, rng) for i in range(p)])
    return Bags(index, source, labels, dropped, lengths)


def bag_repetition(index: np.ndarray) -> dict:
    """How much bags repeat beats, measured on their bank beat indices ``index`` int
    ``(n_patients, n_beats)``: ``repeated_positions`` (over all bags, the positions holding
    a beat already in their bag), ``bags_repeating`` (bags with at least one),
    ``mean_repeated_share`` (the mean over bags of their repeated positions over ``n_beats``,
    a fraction) and ``max_uses`` (the most times one beat appears in one bag; 1: none
    repeats)."""
    index = np.asarray(index)
    if index.ndim != 2 or index.shape[1] == 0 or not np.issubdtype(index.dtype, np.integer):
        raise ValueError(f"index must be an integer array (n_patients, n_beats) with n_beats "
                         f">= 1, got {index.dtype} of shape {index.shape}")
    ordered = np.sort(index, axis=1)
    repeated = (ordered[:, 1:] == ordered[:, :-1]).sum(axis=1)
    uses = max((int(np.unique(row, return_counts=True)[1].max()) for row in index), default=1)
    return {"repeated_positions": int(repeated.sum()),
            "bags_repeating": int((repeated > 0).sum()),
            "mean_repeated_share": float((repeated / index.shape[1]).mean()) if len(index) else 0.0,
            "max_uses": uses}


def make_cohort(bank: BeatBank, config: CohortConfig = CohortConfig()) -> Cohort:
    """Resample ``config.n_patients`` patients from ``bank`` as the bags of
    :func:`draw_bags` and plant the witness signal (seeded by ``config.seed``)."""
    bags = draw_bags(bank, config)
    _, rng = _generators(config.seed)
    labels = bags.labels
    p, n, w = config.n_patients, config.n_beats, bank.window
    shape = deflection(config, w).astype(np.float32)
    beats = np.empty((p, n, w), dtype=np.float32)
    witness = np.zeros((p, n), dtype=bool)
    fractions = np.empty(p)
    for i in range(p):
        index = bags.index[i]
        gain = rng.uniform(*config.gain)
        noise = rng.uniform(*config.noise_mv)
        beats[i] = gain * bank.beats[index] + rng.normal(0, noise, (n, w)).astype(np.float32)
        fraction = (config.witness_positive if labels[i] else
                    rng.uniform(0, config.witness_negative_max))
        k = int(round(fraction * n))
        chosen = rng.choice(n, k, replace=False)
        witness[i, chosen] = True
        beats[i, chosen] += (gain * config.amplitude * _alternating_signs(k, rng)[:, None]
                             * shape[None, :])
        fractions[i] = k / n
    hazard = config.base_hazard * np.exp(config.survival_beta * fractions)
    event_time = rng.exponential(1.0 / hazard)
    time = np.minimum(event_time, config.follow_up)
    event = event_time <= config.follow_up
    return Cohort(beats=beats, witness=witness, rr_ms=bank.rr_ms[bags.index].astype(np.float32),
                  labels=labels, witness_fraction=fractions, time=time, event=event,
                  record=bags.record, sampling_rate=config.sampling_rate,
                  instance_beats=config.instance_beats, beat_index=bags.index)
