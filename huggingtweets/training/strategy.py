"""The strategy: which weights train. Full fine-tuning, LoRA adapters on every linear layer, and the
lowest blocks fixed with the graph cut above them."""

from __future__ import annotations

from typing import Any

from ..errors import LoraTargetError, UsageError
from . import base_models
from .recipes import TrainConfig


def lora_targets(model) -> list[str]:
    """Names of every linear layer (``nn.Linear`` or GPT-2's ``Conv1D``) but the output layer."""
    import torch.nn as nn

    kinds: tuple[type, ...] = (nn.Linear,)
    try:
        from transformers.pytorch_utils import Conv1D

        kinds = kinds + (Conv1D,)
    except ImportError:
        pass
    output = model.get_output_embeddings()
    names = {name.rsplit(".", 1)[-1] for name, mod in model.named_modules()
             if isinstance(mod, kinds) and mod is not output}
    if not names:
        found = sorted({type(m).__name__ for m in model.modules() if m is not output})
        raise LoraTargetError(getattr(model.config, "model_type", type(model).__name__), found)
    return sorted(names)


def apply_strategy(model, cfg: TrainConfig):
    """Full fine-tuning (every weight trains) or LoRA (adapters on every linear layer); return the model
    to train."""
    if cfg.model.lora:
        targets = lora_targets(model)
        peft = base_models.require("peft")
        lora = peft.LoraConfig(r=cfg.model.lora_r, lora_alpha=cfg.model.lora_alpha,
                               lora_dropout=cfg.model.lora_dropout, target_modules=targets,
                               task_type="CAUSAL_LM")
        import warnings

        with warnings.catch_warnings():
            # peft warns that GPT-2's Conv1D needs fan_in_fan_out, then sets it itself.
            warnings.simplefilter("ignore", UserWarning)
            model = peft.get_peft_model(model, lora)
    if cfg.model.freeze_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    if cfg.model.freeze_layers:
        freeze_lower_layers(model, cfg.model.freeze_layers)
    return model


def transformer_blocks(model) -> list:
    """The model's stack of transformer blocks: the outermost ``nn.ModuleList`` as long as the config's
    number of layers (not, say, a longer list of experts inside each block), else the longest one."""
    import torch.nn as nn

    lists = [m for m in model.modules() if isinstance(m, nn.ModuleList)]
    config = getattr(model, "config", None)
    layers = getattr(config, "num_hidden_layers", None) or getattr(config, "n_layer", None)
    same = [m for m in lists if len(m) == layers]
    if same:
        return list(same[0])
    return list(max(lists, key=len)) if lists else []


def freeze_lower_layers(model, n: float) -> int:
    """Fix the lowest ``n`` blocks (below 1: that share of them) and cut the graph below the first one
    left, so that backward stops there; return how many were fixed."""
    blocks = transformer_blocks(model)
    share = 0 < n < 1
    n = int(len(blocks) * n + 1e-9) if share else int(n)
    if n == 0:
        return 0
    if n >= len(blocks):
        raise UsageError(f"--freeze-layers {n}: the model has {len(blocks)} transformer blocks; "
                         f"fix fewer than {len(blocks)}")
    for block in blocks[:n]:
        block.requires_grad_(False)
    inputs, outputs = model.get_input_embeddings(), model.get_output_embeddings()
    if outputs is None or inputs.weight is not outputs.weight:
        inputs.requires_grad_(False)  # no gradient reaches it any more

    def detach_input(_module, args, kwargs):
        # The blocks take the hidden states first, by position or by name.
        if args:
            return (args[0].detach(),) + tuple(args[1:]), kwargs
        if "hidden_states" in kwargs:
            kwargs["hidden_states"] = kwargs["hidden_states"].detach()
        return args, kwargs

    blocks[n].register_forward_pre_hook(detach_input, with_kwargs=True)
    return n


def trainable(model) -> dict[str, Any]:
    return {n: p for n, p in model.named_parameters() if p.requires_grad}
