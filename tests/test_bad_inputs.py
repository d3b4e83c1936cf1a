"""A corpus of bad inputs, across the commands: each ends in one line that says what to do (issue 17).

Table-driven: each case is (id, how to build the input under tmp_path, argv, exit code, words the error
line must hold). Every case fails on a traceback, on an error of more than one line (progress, Note and
Warning lines aside), on an error line without a next step (an imperative from ``HINTS``), and on any
change to the post store, which holds an account's posts before each case. Large inputs (zip bombs, a
100 KB prompt) are made at test time.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import re
import shutil
import sqlite3
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest
from archive_fixtures import mastodon_files, create, tweet, write_folder, write_zip, x_files
from cli_runner import run_cli
from test_inputs import noise, zipped
from tiny_model import tiny_model

from huggingtweets import paths

HINTS = ("pass", "use", "run", "check", "set", "try", "write", "choose", "create", "delete", "free", "make",
         "export", "save", "give", "rename", "shorten", "add", "train", "download", "unzip", "unpack",
         "decompress", "remove", "copy", "move", "fix", "start", "wait", "prepare", "log in", "see", "keep",
         "ask", "lower", "raise", "did you mean", "leave out", "relax", "repair", "open", "fetch", "type",
         "install", "leave", "drop", "name", "put")
_HINT = re.compile(r"\b(" + "|".join(HINTS) + r")\b", re.IGNORECASE)
_ASIDE = re.compile(r"^(Note|Warning)\b|^\s*$|\d+%\|")  # notes, warnings, blank lines, progress bars

POSTS = [f"post number {i} of the keeper, long enough to be kept" for i in range(40)]


# -- inputs ------------------------------------------------------------------------------------------


def export() -> dict[str, bytes]:
    return x_files([tweet(str(i), f"a post that is long enough, number {i}") for i in range(1, 30)])


def good_zip(t: Path, name: str = "export.zip") -> Path:
    return write_zip(t / name, export())


def write(name: str, data: bytes | str) -> Callable[[Path], None]:
    def build(t: Path) -> None:
        p = t / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data.encode() if isinstance(data, str) else data)
    return build


def _member_offsets(data: bytes, name: str) -> tuple[int, int, int]:
    """(local header offset, data offset, compressed size) of one member of a zip."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        info = z.getinfo(name)
    off = info.header_offset
    n, m = struct.unpack("<HH", data[off + 26: off + 30])
    return off, off + 30 + n + m, info.compress_size


def corrupt_deflate(t: Path) -> None:
    """A zip whose tweets.js holds bad deflate data (the headers and directory are fine)."""
    data = bytearray(good_zip(t, "build.zip").read_bytes())
    _, start, size = _member_offsets(bytes(data), "data/tweets.js")
    data[start + 2: start + size - 2] = b"\xff" * (size - 4)
    (t / "archive.zip").write_bytes(bytes(data))


def bad_crc(t: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, content in export().items():
            z.writestr(name, content)
    data = bytearray(buf.getvalue())
    _, start, size = _member_offsets(bytes(data), "data/tweets.js")
    data[start + size // 2] ^= 0x55
    (t / "archive.zip").write_bytes(bytes(data))


def cut_member(t: Path) -> None:
    """Cut inside tweets.js's data: the end (the directory) is gone too."""
    data = good_zip(t, "build.zip").read_bytes()
    _, start, size = _member_offsets(data, "data/tweets.js")
    (t / "archive.zip").write_bytes(data[: start + size // 2])


def declared_huge(t: Path) -> None:
    """tweets.js declares 4 GB uncompressed in the central directory."""
    data = bytearray(good_zip(t, "build.zip").read_bytes())
    name = b"data/tweets.js"
    i = 0
    while True:
        cd = data.find(b"PK\x01\x02", i)
        n = struct.unpack("<H", data[cd + 28: cd + 30])[0]
        if data[cd + 46: cd + 46 + n] == name:
            break
        i = cd + 4
    data[cd + 24: cd + 28] = struct.pack("<I", 0xFFFFFFF0)
    (t / "archive.zip").write_bytes(bytes(data))


def real_bomb(t: Path) -> None:
    """64 MB of zeros in a few kB, under a limit of 8 MB (HUGGINGTWEETS_MAX_UNZIP_BYTES)."""
    files = export()
    files["data/tweets.js"] = b"window.YTD.tweets.part0 = [" + b" " * (64 * 1024 * 1024) + b"]"
    write_zip(t / "archive.zip", files)


def lying_bomb(t: Path) -> None:
    """tweets.js declares 100 bytes but inflates to 32 MB (sizes patched in both headers)."""
    files = export()
    files["data/tweets.js"] = b"window.YTD.tweets.part0 = [" + b" " * (32 * 1024 * 1024) + b"]"
    data = bytearray(write_zip(t / "build.zip", files).read_bytes())
    local, _, _ = _member_offsets(bytes(data), "data/tweets.js")
    data[local + 22: local + 26] = struct.pack("<I", 100)
    i = 0
    while True:
        cd = data.find(b"PK\x01\x02", i)
        n = struct.unpack("<H", data[cd + 28: cd + 30])[0]
        if data[cd + 46: cd + 46 + n] == b"data/tweets.js":
            break
        i = cd + 4
    data[cd + 24: cd + 28] = struct.pack("<I", 100)
    (t / "archive.zip").write_bytes(bytes(data))


def slip(names: list[str]) -> Callable[[Path], None]:
    def build(t: Path) -> None:
        files = export()
        with zipfile.ZipFile(t / "archive.zip", "w") as z:
            for member in names:
                z.writestr(member, files["data/tweets.js"])
    return build


def link(target: str, name: str = "archive.zip") -> Callable[[Path], None]:
    def build(t: Path) -> None:
        (t / name).symlink_to(t / target if not target.startswith("/") else target)
    return build


def link_loop(t: Path) -> None:
    (t / "a.zip").symlink_to(t / "b.zip")
    (t / "b.zip").symlink_to(t / "a.zip")


def folder_link_out(t: Path) -> None:
    files = export()
    del files["data/tweets.js"]
    write_folder(t / "export", files)
    (t / "secret.txt").write_text("not yours to read\n")
    (t / "export" / "data" / "tweets.js").symlink_to(t / "secret.txt")


def folder_of_zip_link_to_dir(t: Path) -> None:
    (t / "somedir").mkdir()
    (t / "archive.zip").symlink_to(t / "somedir")
    (t / "somedir" / "readme.txt").write_text("nothing here\n")


def mkdir(name: str) -> Callable[[Path], None]:
    return lambda t: (t / name).mkdir(parents=True)


def both(*builds: Callable[[Path], None]) -> Callable[[Path], None]:
    def build(t: Path) -> None:
        for b in builds:
            b(t)
    return build


def dataset(t: Path, name: str = "ds") -> Path:
    from tiny_model import make_dataset
    return make_dataset(t / name)


def bad_dataset(change: Callable[[Path], None]) -> Callable[[Path], None]:
    def build(t: Path) -> None:
        change(dataset(t))
    return build


def model(t: Path, name: str = "m") -> Path:
    from tiny_model import tiny_model
    return Path(shutil.copytree(tiny_model(), t / name))


def bad_model(change: Callable[[Path], None]) -> Callable[[Path], None]:
    def build(t: Path) -> None:
        change(model(t))
    return build


def truncate(name: str, keep: float | int) -> Callable[[Path], None]:
    def change(folder: Path) -> None:
        p = folder / name
        data = p.read_bytes()
        p.write_bytes(data[: int(len(data) * keep) if isinstance(keep, float) else keep])
    return change


def put(name: str, data: bytes | str) -> Callable[[Path], None]:
    return lambda folder: (folder / name).write_bytes(data.encode() if isinstance(data, str) else data)


def rm(name: str) -> Callable[[Path], None]:
    return lambda folder: (folder / name).unlink()


def garble_line(folder: Path) -> None:
    p = folder / "train.jsonl"
    lines = p.read_text().splitlines()
    lines[3] = '{"text": "cut here'
    p.write_text("\n".join(lines) + "\n")


def fake_bot(t: Path) -> None:
    """A model folder with a dataset's stats.json, enough for publish to look at its options."""
    folder = model(t)
    shutil.copy(dataset(t) / "stats.json", folder / "stats.json")


def nothing(t: Path) -> None:
    pass


# -- the corpus ---------------------------------------------------------------------------------------


@dataclass
class Case:
    id: str
    build: Callable[[Path], None]
    argv: list[str]
    code: int
    words: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)


TRAIN = ["train", "{t}/ds", "--base-model", "{model}", "-o", "{t}/bot", "-q"]  # the tiny model: no download


def P(*a: str) -> list[str]:
    """prepare ARGS into {t}/out, quietly."""
    return ["prepare", *a, "-o", "{t}/out", "-q"]


def F(name: str, data: bytes | str, *words: str, code: int = 1, handle: bool = True) -> Case:
    """A file: source that prepare must refuse."""
    argv = P(f"file:{{t}}/{name}", *(["--handle", "kim"] if handle else []), "--min-chars", "0")
    return Case(f"file-{name}", write(name, data), argv, code, words)


def A(cid: str, build: Callable[[Path], None], *words: str, code: int = 1, name: str = "archive.zip",
      env: dict | None = None) -> Case:
    return Case(f"archive-{cid}", build, P(f"archive:{{t}}/{name}", "--min-chars", "0"), code, words, env or {})


def high_bytes() -> bytes:
    """Bytes 0xA1-0xFE (no control character in any code page): read as text, they are mojibake."""
    rng = random.Random(0)
    return bytes(rng.choice([*range(0xA1, 0xFF)] + [0x20] * 8 + [0x0A] * 2) for _ in range(20_000))


NESTED = json.dumps({"a": {"b": [{"c": None}, [[[]]], {"d": {"e": 1.5}}]}, "text": {"not": "a string"}})
CSV_ROWS = "".join(f"{i},a post that is long enough number {i}\n" for i in range(30))

CASES: list[Case] = [
    # missing paths
    Case("prepare-missing-file", nothing, P("file:{t}/nope.csv", "--handle", "kim"), 1, ("nope.csv",)),
    Case("prepare-missing-archive", nothing, P("archive:{t}/nope.zip"), 1, ("nope.zip",)),
    Case("fetch-missing-file", nothing, ["fetch", "file:{t}/nope.csv", "--handle", "kim", "-q"], 1,
         ("nope.csv",)),
    Case("fetch-missing-archive", nothing, ["fetch", "archive:{t}/nope", "-q"], 1, ("nope",)),
    Case("train-missing-dataset", nothing, ["train", "{t}/nods", "-q"], 1, ("nods",)),
    Case("run-missing-source", nothing, ["run", "file:{t}/nope.txt", "--handle", "kim", "-q"], 1, ("nope.txt",)),
    Case("generate-missing-model", nothing, ["generate", "{t}/nomodel", "-q"], 1, ("nomodel",)),
    Case("evaluate-missing-model", nothing, ["evaluate", "{t}/nomodel", "-q"], 1, ("nomodel",)),
    Case("publish-missing-model", nothing, ["publish", "{t}/nomodel", "--dry-run"], 1, ("nomodel",)),
    Case("info-unknown-bot", nothing, ["info", "nosuchbot"], 1, ("nosuchbot",)),
    Case("info-missing-path", nothing, ["info", "{t}/nothing/here"], 1, ("nothing",)),
    Case("delete-unknown-bot", nothing, ["delete", "bot", "nosuchbot", "-y"], 1, ("nosuchbot",)),
    Case("evaluate-missing-dataset", lambda t: model(t), ["evaluate", "{t}/m", "--dataset", "{t}/nods", "-q",
                                                           "-n", "0"], 1, ("nods",)),
    # directories for files, files for directories
    Case("file-is-a-directory", mkdir("posts.csv"), P("file:{t}/posts.csv", "--handle", "kim"), 1,
         ("posts.csv",)),
    Case("archive-dir-without-export", mkdir("empty_export"), P("archive:{t}/empty_export"), 1,
         ("empty_export",)),
    Case("output-is-a-file", both(write("out", "x"), lambda t: good_zip(t)),
         ["prepare", "archive:{t}/export.zip", "-o", "{t}/out", "-q"],
         2, ("out",)),
    Case("train-on-a-file", write("ds.txt", "hello\n"), ["train", "{t}/ds.txt", "-q"], 2, ("ds.txt",)),
    Case("generate-model-is-a-file", write("model.bin", noise()), ["generate", "{t}/model.bin", "-q"], 1,
         ("model.bin",)),
    Case("evaluate-dataset-is-a-file", both(lambda t: model(t), write("ds.jsonl", "{}\n")),
         ["evaluate", "{t}/m", "--dataset", "{t}/ds.jsonl", "-n", "0", "-q"], 2, ("ds.jsonl",)),
    Case("evaluate-model-is-a-dataset", lambda t: dataset(t), ["evaluate", "{t}/ds", "-q"], 1, ("ds",)),
    Case("generate-model-is-a-dataset", lambda t: dataset(t), ["generate", "{t}/ds", "-q"], 1, ("ds",)),
    Case("info-of-a-file", write("x.txt", "hi"), ["info", "{t}/x.txt"], 1, ("x.txt",)),
    # files of posts: empty, binary, undecodable, wrong shapes
    F("empty.csv", b"", "empty.csv"),
    F("empty.txt", b"", "empty.txt"),
    F("empty.json", b"", "empty.json"),
    F("empty.jsonl", b"", "empty.jsonl"),
    F("blank.txt", b"\n \n\t\n\n", "blank.txt"),
    F("bom-only.csv", b"\xef\xbb\xbf", "bom-only.csv"),
    F("nuls.txt", bytes(5000), "nuls.txt"),
    F("noise.bin", noise(20_000), "binary"),
    F("noise.csv", noise(20_000, seed=2), "binary"),
    F("high-bytes.txt", high_bytes(), "garbled"),
    F("half-utf16.txt", "a post\n".encode("utf-16-le")[:-1] * 300, "half-utf16.txt"),
    F("number.json", "42", "number.json"),
    F("numbers.json", "[1, 2, 3, 4]", "numbers.json"),
    F("null.json", "null", "null.json"),
    F("true.json", "true", "true.json"),
    F("string.json", '"just a string"', "string.json"),
    F("nested.json", NESTED, "nested.json"),
    F("empty-list.json", "[]", "empty-list.json"),
    F("empty-object.json", "{}", "empty-object.json"),
    F("lists.json", "[[1, 2], [3, 4]]", "lists.json"),
    F("truncated.json", '[{"text": "a post that is long enough"}, {"text": "cut', "truncated.json"),
    F("garbled.jsonl", '{"text": "a good post here"}\n{"text": nope\n', "garbled.jsonl"),
    F("numbers.jsonl", "1\n2\n3\n", "numbers.jsonl"),
    F("no-text-key.jsonl", "".join(f'{{"n": {i}}}\n' for i in range(20)), "--text-column"),
    F("no-text-column.csv", "id,foo\n" + CSV_ROWS, "no-text-column.csv", "--text-column"),
    F("two-text-columns.csv", "text,text\n" + CSV_ROWS, "two-text-columns.csv"),
    F("header-only.csv", "text\n", "header-only.csv"),
    F("no-text-column.tsv", "id\tfoo\n" + CSV_ROWS.replace(",", "\t"), "no-text-column.tsv"),
    F("png.csv", b"\x89PNG\r\n\x1a\n" + noise(), "PNG"),
    F("gzip.txt", __import__("gzip").compress(b"text\na post\n" * 50), "gzip"),
    Case("file-text-column-missing", write("posts.csv", "text\n" + CSV_ROWS),
         P("file:{t}/posts.csv", "--handle", "kim", "--text-column", "nosuch"), 1, ("nosuch",)),
    Case("file-no-handle", write("posts.txt", "a post that is long enough\n" * 30), P("file:{t}/posts.txt"),
         2, ("--handle",)),
    Case("file-bad-handle", write("posts.txt", "a post that is long enough\n" * 30),
         P("file:{t}/posts.txt", "--handle", "bad handle/../x"), 2, ("handle",)),
    # archives: empty, truncated, corrupt, bombs, slips, links
    A("empty-file", write("archive.zip", b""), "archive.zip"),
    A("empty-zip", write("archive.zip", zipped([])), "archive.zip"),
    A("png-named-zip", write("archive.zip", b"\x89PNG\r\n\x1a\n" + noise()), "PNG"),
    A("noise-named-zip", write("archive.zip", noise(50_000)), "archive.zip"),
    A("cut-in-half", lambda t: (t / "archive.zip").write_bytes(good_zip(t, "b.zip").read_bytes()[:900]),
      "archive.zip"),
    A("cut-in-member", cut_member, "archive.zip"),
    A("corrupt-deflate", corrupt_deflate, "archive.zip", "download"),
    A("bad-crc", bad_crc, "archive.zip", "download"),
    A("declared-4gb", declared_huge, "tweets.js"),
    A("bomb-64mb", real_bomb, "tweets.js", env={"HUGGINGTWEETS_MAX_UNZIP_BYTES": str(8 * 1024 * 1024)}),
    A("lying-bomb", lying_bomb, "archive.zip", env={"HUGGINGTWEETS_MAX_UNZIP_BYTES": str(8 * 1024 * 1024)}),
    A("bad-limit-variable", lambda t: good_zip(t, "archive.zip"), "HUGGINGTWEETS_MAX_UNZIP_BYTES", code=2,
      env={"HUGGINGTWEETS_MAX_UNZIP_BYTES": "lots"}),
    A("slip-dotdot", slip(["../../data/tweets.js"]), "archive.zip"),
    A("slip-absolute", slip(["/etc/data/tweets.js"]), "archive.zip"),
    A("slip-deep", slip(["x/y/../../../../data/tweets.js", "a/b/c/d/data/tweets.js"]), "archive.zip"),
    A("slip-backslash", slip(["..\\..\\data\\tweets.js"]), "archive.zip"),
    A("dangling-link", link("gone.zip"), "archive.zip"),
    A("link-loop", link_loop, "a.zip", name="a.zip"),
    A("link-to-noise", both(write("noise.bin", noise()), link("noise.bin")), "archive.zip"),
    A("link-to-dev-null", link("/dev/null"), "archive.zip"),
    A("zip-linked-to-a-folder", folder_of_zip_link_to_dir, "archive.zip"),
    A("folder-tweets-link-out", folder_link_out, "export", name="export"),
    A("folder-tweets-is-dir", both(lambda t: write_folder(t / "export", {k: v for k, v in export().items()
                                                                         if k != "data/tweets.js"}),
                                   mkdir("export/data/tweets.js")), "export", name="export"),
    A("tweets-js-garbled", lambda t: write_zip(t / "archive.zip", {**export(), "data/tweets.js": b"window.YTD"
                                                                   b".tweets.part0 = [{"}), "tweets.js"),
    A("tweets-js-numbers", lambda t: write_zip(t / "archive.zip", {**export(), "data/tweets.js": b"window.YTD"
                                                                   b".tweets.part0 = [1, 2, 3]"}), "int values"),
    A("tweets-js-binary", lambda t: write_zip(t / "archive.zip", {**export(), "data/tweets.js": noise()}),
      "tweets.js"),
    A("mastodon-outbox-number", lambda t: write_zip(t / "archive.zip", {**mastodon_files([create("1", "hi")]),
                                                                        "outbox.json": b"42"}), "outbox.json"),
    A("office-zip", write("archive.zip", zipped([("[Content_Types].xml", b"<Types/>"),
                                                 ("word/document.xml", b"<w/>")])), "Word"),
    # option values
    Case("generate-n-negative", lambda t: model(t), ["generate", "{t}/m", "-n", "-3"], 2, ("-n", "-3")),
    Case("generate-n-zero", lambda t: model(t), ["generate", "{t}/m", "-n", "0"], 2, ("-n",)),
    Case("generate-n-huge", lambda t: model(t), ["generate", "{t}/m", "-n", "5000"], 2, ("-n",)),
    Case("generate-n-text", lambda t: model(t), ["generate", "{t}/m", "-n", "ten"], 2, ("-n", "ten")),
    Case("generate-temperature-zero", lambda t: model(t), ["generate", "{t}/m", "--temperature", "0"], 2,
         ("--temperature",)),
    Case("generate-temperature-nan", lambda t: model(t), ["generate", "{t}/m", "--temperature", "abc"], 2,
         ("--temperature",)),
    Case("generate-top-p-2", lambda t: model(t), ["generate", "{t}/m", "--top-p", "2"], 2, ("--top-p",)),
    Case("generate-max-new-tokens-negative", lambda t: model(t), ["generate", "{t}/m", "--max-new-tokens", "-1"],
         2, ("--max-new-tokens",)),
    Case("generate-copies-nope", lambda t: model(t), ["generate", "{t}/m", "--copies", "nope"], 2,
         ("--copies",)),
    Case("generate-no-model", nothing, ["generate"], 2, ("MODEL",)),
    Case("generate-unknown-option", nothing, ["generate", "x", "--nosuch"], 2, ("--nosuch",)),
    Case("unknown-command", nothing, ["frobnicate"], 2, ("frobnicate",)),
    Case("train-lr-text", nothing, ["train", "{t}/ds", "--lr", "abc"], 2, ("--lr", "abc")),
    Case("train-lr-negative", nothing, ["train", "{t}/ds", "--lr", "-1"], 2, ("--lr",)),
    Case("train-recipe-nosuch", nothing, ["train", "{t}/ds", "--recipe", "nosuch"], 2, ("--recipe", "nosuch")),
    Case("train-block-size-negative", nothing, ["train", "{t}/ds", "--block-size", "-1"], 2, ("--block-size",)),
    Case("train-epochs-zero", nothing, ["train", "{t}/ds", "--epochs", "0"], 2, ("--epochs",)),
    Case("train-batch-size-zero", nothing, ["train", "{t}/ds", "--batch-size", "0"], 2, ("--batch-size",)),
    Case("train-warmup-two", nothing, ["train", "{t}/ds", "--warmup", "2"], 2, ("--warmup",)),
    Case("train-precision-fp8", nothing, ["train", "{t}/ds", "--precision", "fp8"], 2, ("--precision",)),
    Case("train-device-tpu", nothing, ["train", "{t}/ds", "--device", "tpu"], 2, ("--device",)),
    Case("train-lora-r-zero", nothing, ["train", "{t}/ds", "--lora-r", "0"], 2, ("--lora-r",)),
    Case("train-freeze-layers-negative", nothing, ["train", "{t}/ds", "--freeze-layers", "-1"], 2,
         ("--freeze-layers",)),
    Case("train-packing-nope", nothing, ["train", "{t}/ds", "--packing", "nope"], 2, ("--packing",)),
    Case("train-tracker-nope", nothing, ["train", "{t}/ds", "--tracker", "nope"], 2, ("--tracker",)),
    Case("train-base-model-missing", lambda t: dataset(t),
         ["train", "{t}/ds", "--base-model", "{t}/nobase", "-o", "{t}/bot", "-q"], 1, ("nobase",)),
    Case("train-base-model-not-a-model", both(lambda t: dataset(t), mkdir("base")),
         ["train", "{t}/ds", "--base-model", "{t}/base", "-o", "{t}/bot", "-q"], 1, ("base",)),
    Case("prepare-valid-fraction-two", nothing, P("archive:{t}/x.zip", "--valid-fraction", "2"), 2,
         ("--valid-fraction",)),
    Case("prepare-valid-fraction-negative", nothing, P("archive:{t}/x.zip", "--valid-fraction", "-0.1"), 2,
         ("--valid-fraction",)),
    Case("prepare-min-words-negative", nothing, P("archive:{t}/x.zip", "--min-words", "-1"), 2,
         ("--min-words",)),
    Case("prepare-min-chars-negative", nothing, P("archive:{t}/x.zip", "--min-chars", "-5"), 2,
         ("--min-chars",)),
    Case("prepare-mentions-nope", nothing, P("archive:{t}/x.zip", "--mentions", "nope"), 2, ("--mentions",)),
    Case("prepare-seed-text", nothing, P("archive:{t}/x.zip", "--seed", "abc"), 2, ("--seed",)),
    Case("prepare-no-source", nothing, ["prepare"], 2, ("SOURCE",)),
    Case("prepare-unknown-scheme", nothing, P("ftp:x"), 2, ("ftp:x",)),
    Case("prepare-empty-spec", nothing, P(""), 2, ()),
    Case("prepare-scheme-only", nothing, P("file:"), 2, ("file:",)),
    Case("evaluate-n-negative", lambda t: model(t), ["evaluate", "{t}/m", "-n", "-1"], 2, ("-n",)),
    Case("evaluate-seed-text", lambda t: model(t), ["evaluate", "{t}/m", "--seed", "x"], 2, ("--seed",)),
    Case("app-port-negative", nothing, ["app", "--port", "-1"], 2, ("--port",)),
    Case("app-port-huge", nothing, ["app", "--port", "70000"], 2, ("--port",)),
    Case("app-port-text", nothing, ["app", "--port", "http"], 2, ("--port",)),
    Case("app-max-upload-zero", nothing, ["app", "--max-upload-mb", "0"], 2, ("--max-upload-mb",)),
    Case("app-session-hours-zero", nothing, ["app", "--session-hours", "0"], 2, ("--session-hours",)),
    Case("app-tracker-nope", nothing, ["app", "--tracker", "nope"], 2, ("--tracker",)),
    # dataset folders
    Case("dataset-empty-folder", mkdir("ds"), TRAIN, 1, ("ds",)),
    Case("dataset-stats-missing", bad_dataset(rm("stats.json")), TRAIN, 1, ("stats.json",)),
    Case("dataset-stats-garbled", bad_dataset(put("stats.json", "{garbled")), TRAIN, 1,
         ("stats.json",)),
    Case("dataset-stats-a-list", bad_dataset(put("stats.json", "[1, 2]")), TRAIN, 1,
         ("stats.json",)),
    Case("dataset-stats-binary", bad_dataset(put("stats.json", noise())), TRAIN, 1,
         ("stats.json",)),
    Case("dataset-train-garbled-line", bad_dataset(garble_line),
         TRAIN, 1, ("train.jsonl",)),
    Case("dataset-train-empty", bad_dataset(put("train.jsonl", "")), TRAIN, 1,
         ("training split",)),
    Case("dataset-train-missing", bad_dataset(rm("train.jsonl")), TRAIN, 1,
         ("train.jsonl",)),
    Case("dataset-train-binary", bad_dataset(put("train.jsonl", noise())), TRAIN, 1,
         ("train.jsonl",)),
    Case("evaluate-dataset-garbled", both(lambda t: model(t), bad_dataset(put("stats.json", "{"))),
         ["evaluate", "{t}/m", "--dataset", "{t}/ds", "-n", "0", "-q"], 1, ("stats.json",)),
    # model folders
    Case("model-empty-folder", mkdir("m"), ["generate", "{t}/m", "-q"], 1, ("config.json",)),
    Case("model-no-config", bad_model(rm("config.json")), ["generate", "{t}/m", "-q"], 1, ("config.json",)),
    Case("model-config-garbled", bad_model(put("config.json", "{garbled")), ["generate", "{t}/m", "-q"], 1,
         ("m",)),
    Case("model-config-a-number", bad_model(put("config.json", "42")), ["generate", "{t}/m", "-q"], 1, ("m",)),
    Case("model-weights-truncated", bad_model(truncate("model.safetensors", 0.5)), ["generate", "{t}/m", "-q"],
         1, ("m", "train")),
    Case("model-weights-header-cut", bad_model(truncate("model.safetensors", 20)), ["generate", "{t}/m", "-q"],
         1, ("m",)),
    Case("model-weights-empty", bad_model(put("model.safetensors", b"")), ["generate", "{t}/m", "-q"], 1,
         ("m",)),
    Case("model-weights-noise", bad_model(put("model.safetensors", noise())), ["generate", "{t}/m", "-q"], 1,
         ("m",)),
    Case("model-weights-missing", bad_model(rm("model.safetensors")), ["generate", "{t}/m", "-q"], 1, ("m",)),
    Case("model-tokenizer-garbled", bad_model(put("tokenizer.json", "{garbled")), ["generate", "{t}/m", "-q"],
         1, ("m",)),
    Case("evaluate-weights-truncated", both(bad_model(truncate("model.safetensors", 0.5)), lambda t: dataset(t)),
         ["evaluate", "{t}/m", "--dataset", "{t}/ds", "-n", "0", "-q"], 1, ("m",)),
    Case("evaluate-no-config", both(bad_model(rm("config.json")), lambda t: dataset(t)),
         ["evaluate", "{t}/m", "--dataset", "{t}/ds", "-n", "0", "-q"], 1, ("config.json",)),
    Case("generate-100kb-prompt", lambda t: model(t), ["generate", "{t}/m", "x" * 100_000, "-n", "1", "-q"], 2,
         ("prompt",)),
    Case("generate-100kb-words-prompt", lambda t: model(t),
         ["generate", "{t}/m", "my cat loves the sea " * 5000, "-n", "1", "-q"], 2, ("prompt",)),
    # publish, delete, info
    *[Case(f"publish-repo-id-{i}", fake_bot, ["publish", "{t}/m", "--repo-id", rid, "--dry-run"], 2,
           ("repo",)) for i, rid in enumerate(["has space/bot", "a/b/c", "/", "noslash", "-x/y", "me/.",
                                                "me/" + "b" * 200, "me/bot!", "../../etc", ""])],
    Case("delete-plain-folder", both(mkdir("stuff"), write("stuff/keep.txt", "mine")),
         ["delete", "bot", "{t}/stuff", "-y"], 2, ("stuff",)),
    Case("delete-a-file", write("keep.txt", "mine"), ["delete", "dataset", "{t}/keep.txt", "-y"], 1, ("keep.txt",)),
    Case("delete-home", nothing, ["delete", "bot", "{home}", "-y"], 2, ()),
    Case("delete-root", nothing, ["delete", "dataset", "/", "-y"], 2, ()),
    Case("delete-unknown-account", nothing, ["delete", "account", "x:nobody_here", "-y"], 2, ("nobody_here",)),
    Case("info-plain-folder", mkdir("stuff"), ["info", "{t}/stuff"], 1, ("stuff",)),
    Case("info-dataset-garbled", bad_dataset(put("stats.json", "{")), ["info", "{t}/ds"], 1, ()),
]

# Files that must survive a refused delete.
KEEP = {"delete-plain-folder": "stuff/keep.txt", "delete-a-file": "keep.txt"}


# -- the test -------------------------------------------------------------------------------------------


def store_digest() -> str | None:
    path = paths.store_path()
    if not path.exists():
        return None
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        h = hashlib.sha256()
        for table in ("accounts", "posts"):
            for row in db.execute(f"SELECT * FROM {table} ORDER BY rowid"):
                h.update(repr(row).encode())
        return h.hexdigest()
    finally:
        db.close()


@pytest.fixture
def stored(tmp_path, capsys):
    """A store that holds one account's posts before the case runs."""
    src = tmp_path / "keeper.txt"
    src.write_text("\n".join(POSTS) + "\n")
    code, _, err = run_cli(["fetch", f"file:{src}", "--handle", "keeper", "-q"], capsys)
    assert code == 0, err
    digest = store_digest()
    assert digest is not None
    return digest


def test_the_corpus_is_large_and_its_ids_unique():
    assert len(CASES) >= 100
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_ends_in_one_line_with_a_next_step(case, tmp_path, capsys, monkeypatch, stored):
    for key, value in case.env.items():
        monkeypatch.setenv(key, value)
    work = tmp_path / "case"
    work.mkdir()
    case.build(work)
    home = os.environ["HUGGINGTWEETS_HOME"]
    argv = [a.replace("{t}", str(work)).replace("{home}", home).replace("{model}", str(tiny_model()))
            for a in case.argv]
    code, out, err = run_cli(argv, capsys)
    both_ = out + err
    assert "Traceback" not in both_, both_[-3000:]
    lines = [line for line in err.splitlines() if not _ASIDE.search(line)]
    assert len(lines) == 1, (case.id, code, err[-3000:])
    line = lines[0]
    assert line.startswith("Error: "), (case.id, line)
    assert code == case.code, (case.id, code, line)
    assert _HINT.search(line.removeprefix("Error: ")), f"{case.id}: no next step in: {line}"
    for word in case.words:
        assert word.replace("{t}", str(work)) in line, (case.id, word, line)
    assert len(line) < 1500, line  # a 100 KB prompt or path is not echoed back whole
    assert store_digest() == stored, f"{case.id}: the store changed"
    assert not (work / "out").is_dir() or case.id == "output-is-a-file"
    if case.id in KEEP:
        assert (work / KEEP[case.id]).read_text() == "mine"
