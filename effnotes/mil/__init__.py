"""Multiple instance learning for ECG risk stratification (Shanmugam, Blalock & Guttag, 2019).

- :mod:`~effnotes.mil.beats`: R-peak segmentation, a simulated beat bank and its safe cache;
- :mod:`~effnotes.mil.wfdb_io`: real WFDB records into the same beats;
- :mod:`~effnotes.mil.cohort`: patients as bags with a planted minority signal and survival;
- :mod:`~effnotes.mil.pooling` and :mod:`~effnotes.mil.models`: instance models and pooling;
- :mod:`~effnotes.mil.baselines`: HRV, mean-beat and morphologic-variability-style features;
- :mod:`~effnotes.mil.metrics`: AUC, quartile risk ratio, Cox hazard ratio;
- :mod:`~effnotes.mil.experiment`: the chapter's experiment as named stages, ``run(profile)``;
- :mod:`~effnotes.mil.claims`: the claims judged on a live or stored run, and the page's numbers;
- :mod:`~effnotes.mil.plots`: the chapter's figures.
"""

from effnotes.chapters import Chapter, register
from effnotes.mil.profiles import PROFILES as _PROFILES

CHAPTER = register(Chapter(
    name='mil_ecg',
    title='Multiple instance learning for ECG risk',
    notebook='mil_ecg.ipynb',
    paper='Shanmugam, Blalock & Guttag, MLHC 2019',
    package=__name__,
    profiles=_PROFILES,
))

from effnotes._lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "beats": ["BankConfig", "BeatBank", "bank_for_bags", "combine_banks", "load_beat_bank",
              "segment_beats"],
    "cohort": ["Bags", "Cohort", "CohortConfig", "bag_repetition", "draw_bags", "make_cohort"],
    "metrics": ["auc", "cox_top_quartile", "instance_auc", "score_quartiles",
                "top_quartile_risk_ratio"],
    "models": ["AttentionMIL", "InstanceMIL", "TrainConfig"],
    "pooling": ["max_pool", "mean_pool", "pool", "topk_pool"],
})
