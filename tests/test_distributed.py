"""The μS decoder under FSDP2 (effnotes.unit_scaling.distributed), on the CPU with gloo.

The multi-process tests start the ranks themselves as ``python -m
effnotes.unit_scaling.distributed`` subprocesses with torchrun's environment variables
(``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR=127.0.0.1``, a free loopback port, gloo on ``lo``),
so nothing leaves the machine. Each uses a tiny decoder and a few steps."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from effnotes.unit_scaling import distributed as D
from effnotes.unit_scaling.fp8_allgather import (FP8AllGatherWeight, cast_shard,
                                                 enable_fp8_all_gather, plain)
from effnotes.unit_scaling.formats import E4M3, to_fp8
from effnotes.unit_scaling.model import Decoder, DecoderConfig
from effnotes.unit_scaling.train import TrainSettings

ROOT = Path(__file__).resolve().parent.parent
TINY = dict(vocab_size=64, d_model=32, n_layers=2, n_heads=2, seq_len=16)
RTOL = 1e-4  # float tolerance: the ranks' reductions add in another order than one process


def _tiny_args(**extra) -> list[str]:
    args = []
    for key, value in {**TINY, **extra}.items():
        args += ["--" + key.replace("_", "-"), str(value)]
    return args


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _launch(world_size: int, args: list[str], timeout: float = 120) -> list[int]:
    """Run ``python -m effnotes.unit_scaling.distributed ARGS`` as ``world_size`` ranks on
    loopback; return their exit statuses (the output is shown if one fails unexpectedly)."""
    env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port()),
           "WORLD_SIZE": str(world_size), "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    if Path("/sys/class/net/lo").exists():
        env["GLOO_SOCKET_IFNAME"] = "lo"
    procs = [subprocess.Popen([sys.executable, "-m", "effnotes.unit_scaling.distributed", *args],
                              env={**env, "RANK": str(r), "LOCAL_RANK": str(r)}, cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for r in range(world_size)]
    outputs = []
    try:
        for proc in procs:
            outputs.append(proc.communicate(timeout=timeout)[0])
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    codes = [proc.returncode for proc in procs]
    for code, output in zip(codes, outputs):
        if code not in (0, D.KILLED_EXIT_CODE):
            pytest.fail(f"a rank exited with {code}:\n{output[-4000:]}")
    return codes


def _log(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _run_config(precision: str, steps: int) -> D.RunConfig:
    return D.RunConfig(model=DecoderConfig(**TINY, precision=precision),
                       settings=TrainSettings(steps=steps, batch_size=4, warmup_steps=1),
                       data="random")


TRAIN = ["train", "--steps", "{steps}", "--batch-size", "4", "--warmup-steps", "1",
         "--data", "random", "--device", "cpu", "--no-progress"]


def _train_args(steps: int, *extra: str) -> list[str]:
    return [a.format(steps=steps) for a in TRAIN] + _tiny_args() + list(extra)


def test_two_gloo_ranks_with_fp8_all_gather_match_one_process(tmp_path):
    log = tmp_path / "losses.jsonl"
    assert _launch(2, _train_args(5, "--precision", "fp8_sim", "--fp8-all-gather",
                                  "--log", str(log))) == [0, 0]
    records = _log(log)
    assert [r["step"] for r in records] == [1, 2, 3, 4, 5]
    assert {r["world_size"] for r in records} == {2}
    reference = D.reference_losses(_run_config("fp8_sim", 5))
    assert [r["loss"] for r in records] == pytest.approx(reference, rel=RTOL)
    assert reference[-1] < reference[0]  # it trains: not a comparison of untouched models


def test_a_killed_run_resumes_from_its_checkpoint_at_another_world_size(tmp_path):
    ckpt, first, second = tmp_path / "ckpt", tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    common = ("--precision", "fp32", "--checkpoint-dir", str(ckpt), "--checkpoint-every", "2")
    codes = _launch(2, _train_args(5, *common, "--log", str(first), "--kill-after", "3"))
    assert codes == [D.KILLED_EXIT_CODE] * 2
    assert [r["step"] for r in _log(first)] == [1, 2, 3]
    assert D.latest_checkpoint(ckpt)[0] == 2  # step 3 was lost with the kill
    assert _launch(1, _train_args(5, *common, "--log", str(second))) == [0]
    resumed = _log(second)
    assert [(r["step"], r["world_size"]) for r in resumed] == [(3, 1), (4, 1), (5, 1)]
    assert resumed[0]["loss"] == pytest.approx(_log(first)[-1]["loss"], rel=RTOL)
    reference = D.reference_losses(_run_config("fp32", 5))
    assert [r["loss"] for r in resumed] == pytest.approx(reference[2:], rel=RTOL)


def test_fp8_all_gather_is_bit_for_bit_bf16_all_gather_then_cast(tmp_path):
    out = tmp_path / "check.json"
    # d_model 15: the 45-row qkv and the 15-row weights split unevenly over 2 ranks (padding)
    config = dict(TINY, d_model=15, n_heads=3)
    assert _launch(2, ["check-fp8-gather", "--device", "cpu", "--mixed-precision", "bf16",
                       "--out", str(out)] + [a for k, v in config.items()
                                             for a in ("--" + k.replace("_", "-"), str(v))]) \
        == [0, 0]
    result = json.loads(out.read_text())
    assert result["compute_dtype"] == "bfloat16" and result["n_hidden_weights"] == 8
    assert all(w["equal_bytes"] and w["max_abs_diff"] == 0 for w in result["weights"])
    fp8, bf16 = result["collectives_fp8"], result["collectives_high_precision"]
    assert "uint8" in fp8["dtypes"]["all_gather"] and bf16["dtypes"]["all_gather"] == ["bfloat16"]
    # every hidden weight is gathered twice (forward, and again for the backward), one byte
    # per element instead of two; FSDP pads each to a multiple of the world size in rows
    padded = sum(-(-w["shape"][0] // 2) * 2 * w["shape"][1] for w in result["weights"])
    assert bf16["bytes"]["all_gather"] - fp8["bytes"]["all_gather"] == 2 * padded
    assert fp8["bytes"]["reduce_scatter"] == bf16["bytes"]["reduce_scatter"]
    predicted = result["predicted_all_gather_bytes"]  # what the benchmark reports at N=1
    assert predicted == {"fp8": fp8["bytes"]["all_gather"],
                         "high_precision": bf16["bytes"]["all_gather"]}


def test_the_benchmark_runs_at_n1_and_stores_its_result(tmp_path):
    results = tmp_path / "results"
    env_args = ["bench", "--tiny", "--device", "cpu", "--store", "--arms",
                "plain_fp8,fsdp_fp8,fsdp_fp8_gather8"]
    os.environ["EFFNOTES_RESULTS"] = str(results)
    try:
        assert _launch(1, env_args) == [0]
    finally:
        del os.environ["EFFNOTES_RESULTS"]
    from effnotes.results import load_result

    stored = load_result("unit_scaling", "distributed_tiny_n1", root=results)
    data = stored.data
    assert stored.provenance["parameters"]["world_size"] == 1 and data["world_size"] == 1
    assert set(data["arms"]) == {"plain_fp8", "fsdp_fp8", "fsdp_fp8_gather8"}
    assert all(arm["step_s"] > 0 and arm["precision"] == "fp8_sim" for arm in data["arms"].values())
    summary = data["summary"]
    assert {"wrapper_overhead_fp8", "fp8_gather_step_ratio",
            "all_gather_bytes_ratio"} <= set(summary)
    assert 0.25 < summary["all_gather_bytes_ratio"] < 1  # hidden weights at 1 byte, not 2
    assert summary["all_gather_bytes_counted"] == {"fsdp_fp8": 0, "fsdp_fp8_gather8": 0}
    recorded = {c["name"]: c["holds"] for c in stored.provenance["claims"]}  # judged, stored
    assert recorded == {"fp8_gather_fewer_bytes": True, "counted_bytes_as_computed": True}

    from effnotes.unit_scaling.dist_summary import distributed_summary

    empty = distributed_summary(root=results)  # only the tiny result: the chapter ignores it
    assert empty.table is None and "not stored yet" in empty.n1_text
    assert "has not been run yet" in empty.multi_text
    folder = results / "unit_scaling"
    (folder / "distributed_n1.json").write_text((folder / "distributed_tiny_n1.json").read_text())
    shown = distributed_summary(root=results)
    assert len(shown.table) == 3 and shown.multi is None
    plain_ms = f"{1e3 * data['arms']['plain_fp8']['step_s']:.0f} ms for the plain step"
    assert plain_ms in shown.n1_text
    assert f"({summary['all_gather_bytes_ratio']:.2f}×)" in shown.n1_text


def test_fp8_weight_wrapper_behaves_as_its_data():
    torch.manual_seed(0)
    model = Decoder(DecoderConfig(**TINY, precision="fp8_sim"))
    before = [p.detach().clone() for p in model.parameters()]
    assert enable_fp8_all_gather(model) == 8
    wrapped = [p for p in model.parameters() if isinstance(p.data, FP8AllGatherWeight)]
    assert len(wrapped) == 8
    for old, new in zip(before, model.parameters()):
        assert torch.equal(old, plain(new.data))
    ids = torch.randint(0, 64, (2, 16))
    loss = model.loss(ids, ids)
    loss.backward()
    assert all(p.grad is not None and not isinstance(p.grad, FP8AllGatherWeight)
               for p in model.parameters())


def test_cast_shard_and_argument_checks():
    x = torch.randn(64, 8) * 200
    assert torch.equal(cast_shard(x), to_fp8(x, E4M3).view(torch.uint8))
    via_bf16 = to_fp8(x.to(torch.bfloat16), E4M3).view(torch.uint8)
    assert torch.equal(cast_shard(x, torch.bfloat16), via_bf16)
    assert cast_shard(torch.tensor([1e6])).view(torch.float8_e4m3fn).float().item() == 448.0
    with pytest.raises(ValueError, match="fp8_all_gather needs FP8"):
        D.shard_decoder(Decoder(DecoderConfig(**TINY)), None, fp8_all_gather=True)
    with pytest.raises(ValueError, match="no effnotes.unit_scaling.modules.Linear"):
        enable_fp8_all_gather(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="does not split evenly over 3"):
        D.local_rows(torch.zeros(4, 2), 0, 3)
    with pytest.raises(ValueError, match="mixed_precision"):
        D.mixed_precision_policy("fp16")
    with pytest.raises(ValueError, match="checkpoint_every needs a checkpoint_dir"):
        D.RunConfig(model=DecoderConfig(**TINY), settings=TrainSettings(), checkpoint_every=2)


def test_batches_depend_on_seed_and_step_only(tmp_path):
    a = D.global_batch(7, 4, 16, seed=3, vocab_size=64)
    assert torch.equal(a[0], D.global_batch(7, 4, 16, seed=3, vocab_size=64)[0])
    assert not torch.equal(a[0], D.global_batch(8, 4, 16, seed=3, vocab_size=64)[0])
    assert torch.equal(a[0][:, 1:], a[1][:, :-1])  # targets are the next tokens
    assert torch.equal(torch.cat([D.local_rows(a[0], r, 2) for r in range(2)]), a[0])
    (tmp_path / "step_0000004").mkdir()  # an interrupted save: no .metadata
    (tmp_path / "step_0000002").mkdir()
    (tmp_path / "step_0000002" / ".metadata").write_bytes(b"")
    assert D.latest_checkpoint(tmp_path) == (2, tmp_path / "step_0000002")
    assert D.latest_checkpoint(tmp_path / "missing") is None
