"""Where and how training computes: the processes under DDP, the device, the arithmetic, and glibc's
handling of freed memory on a CPU."""

from __future__ import annotations

import os
import sys
from contextlib import nullcontext
from dataclasses import dataclass

from ..errors import UsageError
from .recipes import TrainConfig


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    owns_group: bool = False

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            import torch.distributed as dist

            dist.barrier()


def init_distributed() -> Dist:
    """Join the process group that ``torchrun``/``accelerate launch`` set up through the environment
    (gloo on CPU, NCCL on GPUs); alone, a no-op. Safe to call more than once."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    import torch
    import torch.distributed as dist

    rank, local = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    owns = False
    if not dist.is_initialized():
        cuda = torch.cuda.is_available()
        if cuda:
            torch.cuda.set_device(local)
        dist.init_process_group(backend="nccl" if cuda else "gloo")
        owns = True
    return Dist(rank, world, local, owns)


# --- hardware ----------------------------------------------------------------------------------------


def cpu_supports_bf16() -> bool:
    """Native bf16 arithmetic (AVX-512 BF16 or AMX): emulated bf16 would be slower than fp32."""
    import torch

    cpu = getattr(torch, "cpu", None)
    for check in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        fn = getattr(cpu, check, None)
        try:
            if fn is not None and fn():
                return True
        except Exception:
            pass
    return False


def resolve_device(cfg: TrainConfig, d: Dist):
    import torch

    want = cfg.run.device
    if want == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: no CUDA GPU is visible; leave the device to auto")
    if want == "cuda" or (want == "auto" and torch.cuda.is_available()):
        return torch.device("cuda", d.local_rank)
    return torch.device("cpu")


def resolve_precision(want: str, device) -> str:
    import torch

    if device.type == "cuda":
        if want == "auto":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return want
    if want == "fp16":
        raise UsageError("--precision fp16 needs a CUDA GPU; on the CPU use bf16 or fp32")
    if want == "auto":
        return "bf16" if cpu_supports_bf16() else "fp32"
    return want


def keep_freed_memory() -> None:
    """Ask glibc to serve every allocation from its heap and never hand freed memory back to the OS.

    By default every tensor over 128 KiB is its own mmap, returned on free, and each step then faults
    in and zeroes the same memory again. Raising the mmap threshold to its maximum (32 MiB) halved the
    page faults (bench/README.md, attempt 9), but the largest tensors of a step (the logits, their
    gradient, the embedding matrix's gradient: 100-200 MB each) stayed above it: ~100,000 faults and
    0.6 s of kernel time per 4x128 step. With no mmap at all they reuse freed heap memory: ~0 faults,
    and steps 15-20% faster (attempt 43), for 10-20% more peak memory. glibc still maps memory when the
    heap cannot grow. A no-op off glibc.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_max = -1, -4
        libc.mallopt(m_mmap_max, 0)
        libc.mallopt(m_trim_threshold, 2**31 - 1)
    except (OSError, AttributeError):
        pass


def autocast_for(precision: str, device):
    import torch

    if precision == "fp32":
        return nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device.type, dtype=dtype)


def agree(flag: bool, device) -> bool:
    """Under DDP, a time-based decision taken by the first process, shared with the others."""
    import torch
    import torch.distributed as dist

    t = torch.tensor([float(flag)], device=device if device.type == "cuda" else "cpu")
    dist.broadcast(t, 0)
    return bool(t.item())
