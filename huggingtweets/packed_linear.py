"""Linear layers with their weights laid out once for oneDNN, for generating on a CPU in fp32.

Generating posts multiplies a handful of rows (one per post still being written) by every weight
matrix at every step. PyTorch's plain fp32 ``linear`` takes the weight in its stored layout, and for so
few rows its kernels run far below the CPU's speed; oneDNN's, given the weight re-arranged once for
them, do not: on a 2-core AVX2 CPU a decoding step of the embedded model took 131-140 ms for ten posts
and 65-70 ms for one, against 75 ms and 48 ms with the weights packed once at load time
(bench/README.md, attempt 36). The arithmetic is the same fp32 multiply-add, summed in another order,
so logits agree to about 1e-5.

Imported only when a model is loaded for generating: it needs torch.
"""

from __future__ import annotations

import torch

ROWS_HINT = 16
"""The batch size oneDNN lays the weights out for: about the number of posts written at once (the
benchmarks used 16). Any number of rows still works; in a microbenchmark 10 and 64 measured the same,
1 was slower for ten rows."""


class PackedLinear(torch.nn.Module):
    """``torch.nn.Linear``'s forward with a oneDNN-packed copy of the weight (inference only)."""

    def __init__(self, linear: torch.nn.Linear, rows_hint: int = ROWS_HINT) -> None:
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.packed = torch.ops.mkldnn._reorder_linear_weight(linear.weight.detach(), rows_hint)
        self.bias = None if linear.bias is None else linear.bias.detach()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, self.in_features)
        y = torch.ops.mkldnn._linear_pointwise(flat, self.packed, self.bias, "none", [], "")
        return y.reshape(*x.shape[:-1], self.out_features)


def can_pack(model: torch.nn.Module) -> bool:
    """True for an fp32 model on the CPU with a PyTorch that has oneDNN's packed linear."""
    try:
        p = next(model.parameters())
    except StopIteration:
        return False
    return (p.device.type == "cpu" and p.dtype == torch.float32 and torch.backends.mkldnn.is_available()
            and hasattr(torch.ops.mkldnn, "_reorder_linear_weight")
            and hasattr(torch.ops.mkldnn, "_linear_pointwise"))


def pack_linear_layers(model: torch.nn.Module) -> int:
    """Replace every ``nn.Linear`` of ``model`` by a ``PackedLinear``, in place; return how many.

    The model can then only generate (no gradients, no ``save_pretrained``). An output layer tied to
    the input embeddings gets its own packed copy; the embeddings keep the original. Returns 0 and
    leaves the model as it was when it cannot be packed (not fp32 on a CPU, or no oneDNN).
    """
    if not can_pack(model):
        return 0
    targets = [(name, mod) for name, mod in model.named_modules() if type(mod) is torch.nn.Linear]
    try:
        packed = [(name, PackedLinear(mod)) for name, mod in targets]
    except RuntimeError:
        return 0  # a oneDNN build that cannot pack this layout: plain linear layers it is
    for name, new in packed:
        parent_name, _, attr = name.rpartition(".")
        setattr(model.get_submodule(parent_name) if parent_name else model, attr, new)
    return len(packed)
