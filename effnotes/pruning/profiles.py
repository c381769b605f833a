"""The pruning chapter's profiles: one frozen :class:`Profile` per profile name.

The ``ci`` profile is what the rendered book runs (its values are the notebook's
``parameters`` cell); ``smoke`` is what the tests run; ``gpu`` is the stored run."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Profile:
    """The parameters of one run of the pruning chapter."""

    #: how many seeds (dense models) each grid trains; seeds first_seed .. first_seed + seeds - 1
    seeds: int
    #: the main grid's target compression ratios ``|θ| / |θ ≠ 0|`` (1 is the dense control)
    compressions: tuple
    #: the compression ratios of the two checkpoint grids (pitfall 1)
    flip_compressions: tuple
    #: channels of the CNN's first convolution (the next two have twice as many)
    channels: int
    #: units of the CNN's hidden layer
    hidden: int
    #: epochs of dense training (SGD, cosine schedule; AdamW for the checkpoint grids)
    pretrain_epochs: int
    #: epochs of fine-tuning each pruned model with its mask in place
    finetune_epochs: int
    #: images in the batch whose forward pass is timed
    timing_batch: int
    #: seconds of timing per measurement (split over the interleaved rounds)
    timing_min_run_time: float
    #: the smallest accuracy gap (fraction of test images) counted as seed noise at 2x
    noise_floor: float
    #: "cpu", "cuda" or "auto"
    device: str
    #: the reader's image data (CIFAR binary or ImageFolder), or None for the bundled digits
    data_path: str | None
    #: whether the finding claims (kind "result") are asserted: False where the run is too
    #: small for a finding to show (smoke); correctness claims are asserted at every profile
    enforce_results: bool
    #: whether the timing claims are asserted: only where the machine is not shared (gpu);
    #: on the 2-core CI machine they are shown, not asserted, since its speed drifts
    enforce_timing: bool
    #: the measured inference speedup of the folded pruned model must lie within this of 1x
    #: (a fraction): wide on the shared 2-core CPU, whose speed drifts between measurements
    speedup_tolerance: float
    #: whether random pruning is expected to collapse (a narrow first layer: 8 or 16
    #: channels), or to survive (64 channels); it decides which of the width claims is asserted
    random_collapses: bool
    #: the first seed; a run uses seeds first_seed .. first_seed + seeds - 1, so a second,
    #: disjoint seed set is first_seed = seeds
    first_seed: int = 0


SMOKE = Profile(
    seeds=2,
    compressions=(1, 2, 8, 16),
    flip_compressions=(8,),
    channels=8,
    hidden=32,
    pretrain_epochs=4,
    finetune_epochs=1,
    timing_batch=256,
    timing_min_run_time=0.05,
    noise_floor=0.03,
    device='cpu',
    data_path=None,
    enforce_results=False,
    enforce_timing=False,
    speedup_tolerance=0.5,
    random_collapses=True,
)
CI = replace(
    SMOKE,
    seeds=3,
    compressions=(1, 2, 4, 8, 16, 32),
    flip_compressions=(4, 8, 16, 32),
    channels=16,
    hidden=64,
    pretrain_epochs=15,
    finetune_epochs=5,
    timing_batch=1024,
    timing_min_run_time=0.5,
    noise_floor=0.005,
    enforce_results=True,
)
GPU = replace(
    CI,
    seeds=8,
    compressions=(1, 2, 4, 8, 16, 32, 64),
    flip_compressions=(4, 8, 16, 32, 64),
    channels=64,
    hidden=256,
    pretrain_epochs=30,
    finetune_epochs=10,
    timing_batch=8192,
    timing_min_run_time=1.0,
    device='cuda',
    enforce_timing=True,
    speedup_tolerance=0.25,
    random_collapses=False,
)

PROFILES = {"smoke": SMOKE, "ci": CI, "gpu": GPU}
