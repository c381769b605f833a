"""A synthetic cohort that needs multiple instance learning.

Each patient is a *bag* of ``n_beats`` consecutive beats resampled from one record of a
:class:`~effnotes.mil.beats.BeatBank` (so the RR intervals are that record's; every record
serves positive and negative patients in the same proportion), scaled by a
patient gain and given the patient's own measurement noise. In a minority of beats, the
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
    patient's beats came from; ``instance_beats`` beats per instance."""

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


def make_cohort(bank: BeatBank, config: CohortConfig = CohortConfig()) -> Cohort:
    """Resample ``config.n_patients`` patients from ``bank`` and plant the witness signal
    (seeded by ``config.seed``)."""
    if bank.sampling_rate != config.sampling_rate:
        raise ValueError(f"mismatched sampling rates: the bank is at {bank.sampling_rate} Hz, the "
                         f"cohort expects {config.sampling_rate} Hz")
    rng = np.random.default_rng(config.seed)
    runs = bank.runs()
    p, n, w = config.n_patients, config.n_beats, bank.window
    n_pos = int(round(config.prevalence * p))
    labels = np.zeros(p, dtype=int)
    labels[rng.choice(p, n_pos, replace=False)] = 1
    shape = deflection(config, w).astype(np.float32)
    beats = np.empty((p, n, w), dtype=np.float32)
    rr = np.empty((p, n), dtype=np.float32)
    witness = np.zeros((p, n), dtype=bool)
    fractions = np.empty(p)
    # each record serves the two classes in the same proportion, so that neither a record's
    # rhythm nor its beat shape says anything about the label
    source = np.empty(p, dtype=int)
    for cls in (0, 1):
        members = np.flatnonzero(labels == cls)
        repeats = -(-len(members) // len(runs))
        source[members] = rng.permutation(np.tile(np.arange(len(runs)), repeats))[:len(members)]
    for i in range(p):
        run = runs[source[i]]
        index = run[(rng.integers(len(run)) + np.arange(n)) % len(run)]
        gain = rng.uniform(*config.gain)
        noise = rng.uniform(*config.noise_mv)
        beats[i] = gain * bank.beats[index] + rng.normal(0, noise, (n, w)).astype(np.float32)
        rr[i] = bank.rr_ms[index]
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
    return Cohort(beats, witness, rr, labels, fractions, time, event, source, config.sampling_rate,
                  config.instance_beats)
