"""Training throughput of a model built from a config: tokens/s of huggingtweets' own `train()`.

For sizes no one ships in a wheel (a 1B-class model on a GPU machine with no network): the model is
made from a Llama config with random weights, saved as a base-model folder, and trained with the
`default` recipe's loop for a fixed number of steps on a dataset of generated posts. No download: the
tokenizer is the embedded model's when it has been converted here, else a byte-level BPE trained on the
posts (the config's vocabulary stays the embedded model's 49,152 either way, so the output layer costs
what it would).

    python bench/bench_throughput.py --preset tiny --steps 3            # a smoke test on a CPU
    python bench/bench_throughput.py --preset 1b --steps 30 --batch-size 8 --block-size 1024
    python bench/bench_throughput.py --preset 135m --steps 30 --peak-tflops 989

Prints a table and writes the numbers to bench/results/throughput-<time>.json. Model FLOPs are counted
as 6 x trained parameters + 2 x fixed ones per token (attention's share left out), so "TFLOP/s" is a
lower bound on what the hardware did.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _report import write_report  # bench/, first on sys.path when a script runs

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VOCAB = 49152  # the embedded SmolLM2's
PRESETS = {
    # hidden, intermediate, layers, heads, kv heads
    "tiny": (64, 128, 2, 4, 2),
    "135m": (576, 1536, 30, 9, 3),  # the embedded model's shape
    "1b": (2048, 5632, 22, 32, 4),  # TinyLlama-1.1B's shape: 1.17B parameters with this vocabulary
}


def make_dataset(posts: int, tmp: Path) -> Path:
    from huggingtweets.api import prepare

    archive = tmp / "posts.zip"
    subprocess.run([sys.executable, str(ROOT / "examples" / "make_sample_archive.py"), "--posts", str(posts),
                    "--seed", "3", "-o", str(archive)], check=True, stdout=subprocess.DEVNULL)
    return prepare([f"archive:{archive}"], tmp / "dataset", min_chars=0).path


def tokenizer_for(dataset: Path):
    """The embedded model's tokenizer if converted here, else a BPE trained on the dataset's posts."""
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    from huggingtweets.training.base_models import embedded_folder

    try:
        folder = embedded_folder()
        if (folder / "tokenizer.json").is_file():
            return AutoTokenizer.from_pretrained(folder), "embedded"
    except Exception:  # no wheel, no cache: build one below
        pass
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    from huggingtweets.dataset.folder import read_jsonl

    texts = [r["text"] for r in read_jsonl(dataset / "train.jsonl")]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts + ["\n"], trainers.BpeTrainer(
        vocab_size=8000, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", bos_token="<|endoftext|>",
                                   model_max_length=2048), "bpe-from-posts"


def build_model(preset: str, folder: Path, tokenizer) -> int:
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig

    hidden, inter, layers, heads, kv = PRESETS[preset]
    eos = tokenizer.convert_tokens_to_ids(tokenizer.eos_token)
    config = LlamaConfig(vocab_size=VOCAB, hidden_size=hidden, intermediate_size=inter, num_hidden_layers=layers,
                         num_attention_heads=heads, num_key_value_heads=kv, max_position_embeddings=2048,
                         tie_word_embeddings=preset != "1b", bos_token_id=eos, eos_token_id=eos, pad_token_id=eos)
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config)
    n = sum(p.numel() for p in model.parameters())
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return n


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", choices=sorted(PRESETS), default="1b")
    p.add_argument("--dataset", help="a dataset folder [default: one made from --posts generated posts]")
    p.add_argument("--posts", type=int, default=3000)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--epochs", type=int, default=10, help="enough passes for --steps on a small dataset")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--block-size", type=int, default=1024)
    p.add_argument("--precision", default="auto")
    p.add_argument("--peak-tflops", type=float, help="the hardware's dense bf16 peak, for the utilisation")
    p.add_argument("--out", help="JSON file [default: bench/results/throughput-<time>.json]")
    args = p.parse_args()

    import torch

    from huggingtweets.training import resolve_config, train

    with tempfile.TemporaryDirectory(prefix="ht-throughput-") as tmp_name:
        tmp = Path(tmp_name)
        dataset = Path(args.dataset) if args.dataset else make_dataset(args.posts, tmp)
        tokenizer, tokenizer_kind = tokenizer_for(dataset)
        t = time.perf_counter()
        params = build_model(args.preset, tmp / "base", tokenizer)
        build_s = time.perf_counter() - t
        cfg = resolve_config("default", {
            "base_model": str(tmp / "base"), "freeze_layers": 0, "max_steps": args.steps, "epochs": args.epochs,
            "batch_size": args.batch_size, "block_size": args.block_size, "precision": args.precision,
            "best_on_validation": False, "checkpoint_minutes": 0})
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        result = train(dataset, tmp / "bot", cfg, progress=False)
        m = result.metrics
        gpu_mem = torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None
        device = torch.cuda.get_device_name() if torch.cuda.is_available() else platform.processor() or "cpu"
    tflops = 6 * params * m["tokens_per_second"] / 1e12
    rows = [("model", "params M", "steps", "tokens", "train s", "wall s", "tok/s", "TFLOP/s", "peak mem MB"),
            (args.preset, f"{params / 1e6:.0f}", str(m["steps"]), str(m["train_tokens"]), f"{m['train_seconds']:.1f}",
             f"{m['wall_seconds']:.1f}", f"{m['tokens_per_second']:.0f}", f"{tflops:.2f}",
             f"{gpu_mem:.0f} (GPU)" if gpu_mem is not None else f"{m['peak_rss_mb']:.0f} (RSS)")]
    table = "\n".join("  ".join(c.rjust(11) if i else c.ljust(8) for i, c in enumerate(row)) for row in rows)
    print(table)
    print(f"device: {device}; precision {result.config.run.precision}; batch {args.batch_size} x "
          f"{result.config.data.block_size} tokens; model built in {build_s:.1f} s"
          + (f"; {tflops / args.peak_tflops:.1%} of {args.peak_tflops:g} TFLOP/s" if args.peak_tflops else ""))
    report = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "torch": torch.__version__,
                    "device": device, "cpu_capability": torch.backends.cpu.get_cpu_capability()},
        "preset": args.preset, "shape": dict(zip(("hidden", "intermediate", "layers", "heads", "kv_heads"),
                                                 PRESETS[args.preset])),
        "parameters": params, "tokenizer": tokenizer_kind, "config": result.config.to_dict(),
        "metrics": {k: v for k, v in m.items() if k != "log_history"},
        "model_tflops_per_second": tflops, "peak_gpu_memory_mb": gpu_mem, "table": table,
    }
    write_report(report, args.out, "throughput")


if __name__ == "__main__":
    main()
