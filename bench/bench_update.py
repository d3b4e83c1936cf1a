"""`huggingtweets update` against retraining from scratch, side by side in one run (issue 18's measure).

For each real account: its archive is cut at the date by which ``--share`` of its posts had been written
(``_date_split.py``); a bot is trained on the cut archive (the bot as it was), then updated with the whole
archive, and, in another home, a bot is retrained from scratch on the whole archive with the same recipe.
Both are scored on the update's split: the validation posts of the cut archive ("old") and the later
ones ("new"), each post on its own in fp32, as ``huggingtweets evaluate`` scores them.

    python bench/bench_update.py                                    # every account of ../shared/realdata
    python bench/bench_update.py ../shared/realdata/andreruffert.zip --recipe default
    python bench/bench_update.py ACCOUNT.zip --max-steps 2          # a smoke test
    python bench/bench_update.py ACCOUNT.zip --variant half=replay_ratio=0.5 --variant ff=freeze_layers=0.5

Targets: the update's wall time at most 1/3 of the retraining's; its bits/char on the new validation posts
within 2% of the retrained bot's; on the old validation posts within 2% of the bot before the update.
Each stage runs in its own process (its own home), timed whole: preparing, training, scoring, the card.
Prints a table and writes bench/results/update-<time>.json. Nothing else CPU-heavy may run meanwhile.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _date_split import cut_archive  # bench/, first on sys.path when a script runs
from _report import write_report

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _config(args: argparse.Namespace):
    from huggingtweets.training import resolve_config

    overrides = {"max_steps": args.max_steps} if args.max_steps else {}
    return resolve_config(args.recipe, overrides)


def child(args: argparse.Namespace) -> dict:
    """One stage, in this process: ``train`` (a bot from an archive) or ``update`` (a bot with an archive)."""
    import huggingtweets as ht

    if args.child == "train":
        bot = ht.make_bot([f"archive:{args.archive}"], args.bot, _config(args), tracker="none", eval_posts=None,
                          min_chars=0)
        return {"steps": bot.metrics.get("steps") or bot.metrics.get("global_step"),
                "eval_bits_per_char": bot.metrics.get("eval_bits_per_char"), "dataset": str(bot.dataset.path)}
    from huggingtweets import update_data

    overrides = {"max_steps": args.max_steps} if args.max_steps else {}
    for key, value in json.loads(args.variant_settings or "{}").items():
        if key in ("replay_ratio", "replay_min"):  # the module's constants, for this process only
            setattr(update_data, key.upper(), value)
        else:
            overrides[key] = value
    stages: dict[str, float] = {}
    start = time.perf_counter()

    def on_progress(record: dict) -> None:
        if record.get("stage"):
            stages[record["stage"]] = round(time.perf_counter() - start, 1)

    result = ht.update_bot(args.bot, [f"archive:{args.archive}"], tracker="none", config=overrides or None,
                           on_progress=on_progress, eval_posts=None)  # as the retraining: no evaluation
    stages["done"] = round(time.perf_counter() - start, 1)
    return {"changed": result.changed, "reason": result.reason, "new_train": result.new_train,
            "new_valid": result.new_valid, "replay": result.replay, "scores": result.scores,
            "dataset": str(result.dataset) if result.dataset else None, "stages": stages}


def score(args: argparse.Namespace) -> dict:
    """Bits/char of ``args.bot`` on the old and the new validation posts of the update's datasets."""
    from huggingtweets.bot_folder import BotFolder
    from huggingtweets.dataset.folder import DatasetFolder
    from huggingtweets.generate import Bot
    from huggingtweets.update_data import diff
    from huggingtweets.update_steps import _bits

    old, new = DatasetFolder.open(args.old_dataset), DatasetFolder.open(args.new_dataset)
    data = diff(old, new, int(new.stats.settings.get("seed", 42)))
    loaded = Bot.load(args.bot, dtype="fp32")
    handles = [u.handle for u in BotFolder.open(args.bot).stats.users]
    return {"old_valid": _bits(loaded, data.old_valid, handles), "new_valid": _bits(loaded, data.new_valid, handles),
            "old_posts": len(data.old_valid), "new_posts": len(data.new_valid)}


def _stage(args: argparse.Namespace, home: Path, *extra: str) -> tuple[dict, float]:
    """Run one stage in its own process with ``home`` as HUGGINGTWEETS_HOME; (its JSON, its wall time)."""
    cmd = [sys.executable, __file__, "--recipe", args.recipe, *extra]
    if args.max_steps:
        cmd += ["--max-steps", str(args.max_steps)]
    env = {**os.environ, "HUGGINGTWEETS_HOME": str(home), "WANDB_MODE": "disabled"}
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    seconds = time.perf_counter() - start
    if proc.returncode:
        raise SystemExit(f"stage {extra[:2]} failed with exit code {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1]), round(seconds, 1)


def account(args: argparse.Namespace, zip_path: Path, tmp: Path) -> dict:
    name = zip_path.stem
    cut = tmp / f"{name}-cut.zip"
    when, before, total = cut_archive(zip_path, cut, args.share)
    print(f"== {name}: {before} of {total} posts before {when:%Y-%m-%d}", flush=True)
    home_a, home_b = tmp / f"home-{name}-update", tmp / f"home-{name}-retrain"
    bot_a, bot_b = tmp / f"{name}-bot", tmp / f"{name}-retrained"
    first, t_first = _stage(args, home_a, "--child", "train", "--archive", str(cut), "--bot", str(bot_a))
    print(f"   bot on the cut archive: {t_first} s", flush=True)
    updates = []
    for label, settings in args.variants:
        upd, t_update = _stage(args, home_a, "--child", "update", "--archive", str(zip_path), "--bot", str(bot_a),
                               "--variant-settings", json.dumps(settings))
        print(f"   update {label}: {t_update} s, changed={upd['changed']} {upd.get('reason') or ''} "
              f"stages={upd['stages']}", flush=True)
        updates.append((label, settings, upd, t_update))
        if upd["changed"] and len(updates) < len(args.variants):  # the next variant starts from the same bot
            _stage(args, home_a, "--rollback", "--bot", str(bot_a))  # (which removes that dataset version)
    again, t_retrain = _stage(args, home_b, "--child", "train", "--archive", str(zip_path), "--bot", str(bot_b))
    print(f"   retraining: {t_retrain} s", flush=True)
    new_dataset = next((u[2]["dataset"] for u in reversed(updates) if u[2]["dataset"]), None) or again["dataset"]
    scored, _ = _stage(args, home_b, "--score", "--bot", str(bot_b), "--old-dataset", first["dataset"],
                       "--new-dataset", new_dataset)
    rows = []
    for label, settings, upd, t_update in updates:
        s = upd["scores"]
        row = {"account": name, "variant": label, "settings": settings, "cut": when.isoformat(),
               "posts_before": before, "posts_all": total, "first_seconds": t_first, "update_seconds": t_update,
               "retrain_seconds": t_retrain, "time_ratio": round(t_update / t_retrain, 3),
               "changed": upd["changed"], "stages": upd["stages"], "new_train": upd["new_train"],
               "new_valid": upd["new_valid"], "replay": upd["replay"],
               "old_valid_before": s.get("old_valid", {}).get("before"),
               "old_valid_update": s.get("old_valid", {}).get("after"),
               "new_valid_before": s.get("new_valid", {}).get("before"),
               "new_valid_update": s.get("new_valid", {}).get("after"),
               "old_valid_retrain": scored["old_valid"], "new_valid_retrain": scored["new_valid"]}
        row["new_vs_retrain"] = _rel(row["new_valid_update"], row["new_valid_retrain"])
        row["old_vs_before"] = _rel(row["old_valid_update"], row["old_valid_before"])
        rows.append(row)
    return rows


def parse_variant(spec: str) -> tuple[str, dict]:
    """``"NAME=key=value,key=value"`` -> (NAME, {key: value}), values read as JSON when they parse."""
    label, _, rest = spec.partition("=")
    settings = {}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        try:
            settings[key] = json.loads(value)
        except json.JSONDecodeError:
            settings[key] = value
    return label, settings


def _rel(a: float | None, b: float | None) -> float | None:
    return round((a - b) / b, 4) if a is not None and b else None


def table(rows: list[dict]) -> str:
    head = ("account", "variant", "update s", "retrain s", "ratio", "new: update", "new: retrain", "vs retrain",
            "old: before", "old: update", "vs before")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        f = lambda v: "-" if v is None else f"{v:.4f}"  # noqa: E731
        p = lambda v: "-" if v is None else f"{v:+.1%}"  # noqa: E731
        lines.append(f"| {r['account']} | {r['variant']} | {r['update_seconds']} | {r['retrain_seconds']} | {r['time_ratio']:.2f} | "
                     f"{f(r['new_valid_update'])} | {f(r['new_valid_retrain'])} | {p(r['new_vs_retrain'])} | "
                     f"{f(r['old_valid_before'])} | {f(r['old_valid_update'])} | {p(r['old_vs_before'])} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("archives", nargs="*", help="X archives (default: ../shared/realdata/*.zip)")
    p.add_argument("--recipe", default="default")
    p.add_argument("--share", type=float, default=0.8, help="share of the posts in the cut archive")
    p.add_argument("--max-steps", type=int, help="stop each training after N steps (smoke tests)")
    p.add_argument("--out", help="JSON file [default: bench/results/update-<time>.json]")
    p.add_argument("--variant", action="append", default=[],
                   help="NAME=key=value,... an update setting to try (replay_ratio, replay_min, or a training "
                        "setting such as freeze_layers or learning_rate); each starts from the same bot "
                        "(rolled back in between); default: the update as shipped")
    p.add_argument("--variant-settings", help=argparse.SUPPRESS)
    p.add_argument("--rollback", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--child", choices=["train", "update"], help=argparse.SUPPRESS)
    p.add_argument("--score", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--archive", help=argparse.SUPPRESS)
    p.add_argument("--bot", help=argparse.SUPPRESS)
    p.add_argument("--old-dataset", help=argparse.SUPPRESS)
    p.add_argument("--new-dataset", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.rollback:
        import huggingtweets as ht

        print(json.dumps({"version": ht.rollback(args.bot).version}))
        return
    if args.child or args.score:
        print(json.dumps(child(args) if args.child else score(args)))
        return
    args.variants = [parse_variant(v) for v in args.variant] or [("shipped", {})]
    archives = [Path(a) for a in args.archives] or sorted((ROOT.parent / "shared" / "realdata").glob("*.zip"))
    rows = []
    with tempfile.TemporaryDirectory(prefix="ht-bench-update-") as tmp:
        for zip_path in archives:
            rows.extend(account(args, zip_path, Path(tmp)))
    print(table(rows))
    write_report({"machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
                  "recipe": args.recipe, "share": args.share, "accounts": rows}, args.out, "update")


if __name__ == "__main__":
    main()
