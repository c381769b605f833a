"""μnit Scaling: FP8 training with static scales (Narayan et al., 2025).

- :mod:`.formats`: E4M3/E5M2 casts with clipping, and the autograd casts that simulate FP8
  training on any device;
- :mod:`.functional` and :mod:`.modules`: unit-scaled ops (linear, fixed-tau residual,
  attention, readout, loss with a fixed gradient scale) and thin modules around them;
- :mod:`.model`: a decoder in the standard parametrisation or μS, and the learning-rate
  rules for width transfer; :mod:`.train` trains it on bytes (:mod:`.data`);
- :mod:`.variance`: the op-by-op variance derivation and its Monte Carlo checks;
- :mod:`.analysis`: per-op tensor scales and FP8 underflow/saturation, as a DataFrame;
- :mod:`.fp8_cuda`: real FP8 GEMMs through ``torch._scaled_mm``; :mod:`.fp8_transpose`:
  the backward's transposed FP8 operands in one tiled pass; :mod:`.torchao_float8`: torchao's
  dynamic-scale float8 on the same decoder, as a baseline; :mod:`.lion`: the Lion optimiser;
- :mod:`.gpu_bench`: the step-time, loss-parity and inference-parity benchmarks;
  :mod:`.gpu_report` reads their stored results for the chapter; :mod:`.experiment`: the
  chapter as one command.
- :mod:`.distributed`: data-parallel training under FSDP2 (``torchrun ... -m
  effnotes.unit_scaling.distributed``), with the FP8 weight all-gather of
  :mod:`.fp8_allgather`; :mod:`.dist_bench` times it, :mod:`.dist_summary` reads the result.
"""

from effnotes.chapters import Chapter, register
from effnotes.unit_scaling.profiles import PROFILES as _PROFILES

CHAPTER = register(Chapter(
    name='unit_scaling',
    title='μnit Scaling: FP8 training without dynamic scales',
    notebook='unit_scaling.ipynb',
    paper='Narayan et al., ICML 2025',
    package=__name__,
    profiles=_PROFILES,
))

from effnotes.unit_scaling.formats import (E4M3, E5M2, FP8Format, cast_backward, cast_forward,
                                           get_format, quantize, saturation_fraction,
                                           underflow_fraction)
from effnotes.unit_scaling.model import Decoder, DecoderConfig, optimizer_groups

__all__ = ["E4M3", "E5M2", "FP8Format", "cast_backward", "cast_forward", "get_format", "quantize",
           "saturation_fraction", "underflow_fraction", "Decoder", "DecoderConfig",
           "optimizer_groups"]
