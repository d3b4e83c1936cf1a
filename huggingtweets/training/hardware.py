"""Where and how training computes: the processes under DDP, the device, the arithmetic, glibc's
handling of freed memory on a CPU, and each process's share of the CPU threads.

Threads. torch sizes its thread pool to every core, and OpenMP threads spin a while at each barrier
waiting for work. Two processes doing so on the same cores fight: on 2 cores a 4-post `generate` beside
a training run took 280 s instead of 10, and the web app's "Write 10 posts" 90 s during training. The
rule (``bench/bench_busy_generate.py`` times it):

- A process alone uses every core (torch's default); ``OMP_NUM_THREADS`` set by the user always wins.
- Generation (``huggingtweets generate``, and the web app's generation worker at each request) takes
  the cores other processes leave free at that moment (``generation_threads``): all of them on an idle
  machine, 1 on 2 cores beside a training run; never less than 1. When that is not every core, the CLI
  also shortens the spin waits (``SPIN_ENV``) before it imports torch.
- The web app's training worker leaves one core to the server and a generation worker from 4 cores
  up (``cores - 1``); on 2-3 cores it keeps every core but runs at a lower priority (``TRAINING_NICE``),
  so a visitor's posts take the cores first instead of every training run going at half speed.
- The web app's workers spin only briefly at a barrier (``SPIN_ENV``, set by ``worker_env`` before
  they import torch), and generation uses one inter-op thread (it runs one operation at a time): no
  pool burns a core it does not compute on.
"""

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


# --- CPU threads: each process its share of the cores (the rule: the module's docstring) ------

SPIN_ENV = {"GOMP_SPINCOUNT": "10000", "KMP_BLOCKTIME": "0"}
"""OpenMP threads wait for work by spinning ~10,000 iterations (microseconds: enough for back-to-back
operations) before sleeping, instead of libgomp's 300,000 or Intel OpenMP's 200 ms."""
TRAINING_NICE = 10
"""Priority of the web app's training worker on 2-3 cores (0 is normal, 19 the lowest)."""


def usable_cores() -> int:
    """CPUs this process may compute on: ``machine_cores``, and no more than ``OMP_NUM_THREADS`` when
    that is set."""
    cores = machine_cores()
    user = os.environ.get("OMP_NUM_THREADS", "")
    if user.isdigit() and int(user) > 0:
        cores = min(cores, int(user))
    return cores


def machine_cores() -> int:
    """CPUs this process may run on: its affinity, capped by a cgroup CPU quota (a container's CPU limit)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    try:  # cgroup v2: "max 100000" or "200000 100000" (quota and period, in microseconds)
        with open("/sys/fs/cgroup/cpu.max") as f:
            quota, period = f.read().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, int(int(quota) / int(period) + 0.5)))
    except (OSError, ValueError):
        pass
    return max(1, cores)


def busy_cores(samples: int = 10, interval: float = 0.01) -> float:
    """How many cores other processes keep busy now.

    On Linux, the mean number of runnable threads (the fourth field of ``/proc/loadavg``, less the one
    reading it) over ``samples`` reads ``interval`` seconds apart: it sees a job that started a second
    ago, which the 1-minute load average would take a minute to show. Elsewhere, that load average.
    """
    import time

    counts = []
    for i in range(samples):
        try:
            with open("/proc/loadavg") as f:
                running = f.read().split()[3].split("/")[0]
            counts.append(max(0, int(running) - 1))
        except (OSError, IndexError, ValueError):
            break
        if i < samples - 1:
            time.sleep(interval)
    if counts:
        return sum(counts) / len(counts)
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return 0.0


def generation_threads(cores: int | None = None, busy: float | None = None) -> int:
    """Threads for generating now: the cores that other processes leave free, rounded, at least 1.

    >>> generation_threads(cores=2, busy=0.1), generation_threads(cores=2, busy=1.9)
    (2, 1)
    """
    cores = usable_cores() if cores is None else cores
    busy = busy_cores() if busy is None else busy
    return max(1, min(cores, int(cores - busy + 0.5)))


def training_threads(cores: int | None = None) -> int:
    """Threads of the web app's training worker: one core left free from 4 cores up, else every core
    (then at priority ``TRAINING_NICE``: see ``worker_env``)."""
    cores = machine_cores() if cores is None else cores
    return cores - 1 if cores >= 4 else cores


def worker_env(role: str, cores: int | None = None) -> dict[str, str]:
    """Environment for a new web-app worker process (``train`` or ``generate``), set before it imports
    torch: the short spin waits, and for ``train`` its thread count. What the user set is kept.

    The generation worker is not given a count: it sizes its threads at each request
    (``generation_threads``), since a training run may start or end between two.
    """
    env = {k: os.environ.get(k, v) for k, v in SPIN_ENV.items()}
    if role == "train" and not os.environ.get("OMP_NUM_THREADS"):
        threads = str(training_threads(cores))
        env.update(OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
    return env


def lower_priority(cores: int | None = None) -> None:
    """In the web app's training worker on 2-3 cores: run at ``TRAINING_NICE``. The worker has a session
    of its own, which Linux may schedule as a group (autogroup), so the group's priority is lowered too."""
    cores = machine_cores() if cores is None else cores
    if cores >= 4 or not hasattr(os, "nice"):
        return
    try:
        os.nice(TRAINING_NICE)
        with open("/proc/self/autogroup", "w") as f:
            f.write(str(TRAINING_NICE))
    except OSError:
        pass


def use_threads(threads: int, *, busy: bool = False) -> int:
    """Make this process compute on ``threads`` threads; return that number.

    Before torch is imported, the environment sizes its pools (and with ``busy``, short spin waits);
    then ``torch.set_num_threads``, and one inter-op thread where torch still allows setting it.
    """
    if "torch" not in sys.modules:
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
        os.environ.setdefault("MKL_NUM_THREADS", str(threads))
        if busy:
            for k, v in SPIN_ENV.items():
                os.environ.setdefault(k, v)
    import torch

    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass  # already set, or parallel work already started: the pool is idle between operations anyway
    return threads
