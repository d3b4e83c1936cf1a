"""Input that is not posts is refused with what it is, and a path without its scheme gets "did you mean".

Every file is made at test time: the first bytes of each kind (or the real thing, where the standard
library writes it: gzip, tar, SQLite, zip-based documents) followed by noise from a seeded generator.
Each is given through the Python API and through the CLI, which must exit non-zero with one line.
"""

from __future__ import annotations

import gzip
import io
import json
import random
import sqlite3
import tarfile
import zipfile
from pathlib import Path

import pytest
from archive_fixtures import tweet, write_folder, write_zip, x_files
from cli_runner import run
from huggingtweets import sources
from huggingtweets.dataset.folder import DatasetFolder
from huggingtweets.errors import (ArchiveFormatError, BarePathError, DatasetError, FileFormatError, NotPostsError,
                                  UnknownSchemeError)
from huggingtweets.sources import SourceOptions, open_source, suggest_spec

ADVICE = "pass a CSV, TSV, JSON, JSONL or TXT file of posts as file:PATH, or an account's export as archive:PATH"
ARCHIVE_ADVICE = "pass the account's export as downloaded (a zip, its unpacked folder, or a Bluesky repo.car)"
OFFICE = "save it as CSV (or plain text) first and pass that"


def noise(n: int = 3000, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(n)


def zipped(members: list[tuple[str, bytes]], stored_first: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for i, (name, data) in enumerate(members):
            z.writestr(name, data, zipfile.ZIP_STORED if stored_first and i == 0 else zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def tar_bytes() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        data = b"a post that is long enough to read\n" * 50
        info = tarfile.TarInfo("posts.txt")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def sqlite_bytes(tmp_path: Path) -> bytes:
    db = tmp_path / "made.db"
    con = sqlite3.connect(db)
    con.execute("create table posts (text)")
    con.executemany("insert into posts values (?)", [(f"post number {i} is here",) for i in range(50)])
    con.commit()
    con.close()
    return db.read_bytes()


OOXML = b"<?xml version='1.0'?><Types/>"
# name, contents (bytes, or a function of tmp_path), what the message calls it, its advice
BINARY = [
    ("photo.png", b"\x89PNG\r\n\x1a\n" + noise(), "a PNG image", ADVICE),
    ("photo.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF" + noise(), "a JPEG image", ADVICE),
    ("anim.gif", b"GIF89a" + noise(), "a GIF image", ADVICE),
    ("scan.bmp", b"BM\x36\x10\x00\x00\x00\x00\x00\x00" + noise(), "a BMP image", ADVICE),
    ("scan.tif", b"II*\x00" + noise(), "a TIFF image", ADVICE),
    ("pic.webp", b"RIFF\x00\x10\x00\x00WEBPVP8 " + noise(), "a WebP image", ADVICE),
    ("pic.heic", b"\x00\x00\x00\x18ftypheic" + noise(), "a HEIC/AVIF image", ADVICE),
    ("favicon.ico", b"\x00\x00\x01\x00" + noise(), "an icon (ICO) image", ADVICE),
    ("clip.mp4", b"\x00\x00\x00\x18ftypisom" + noise(), "an MP4 or QuickTime video", ADVICE),
    ("clip.webm", b"\x1a\x45\xdf\xa3" + noise(), "a Matroska or WebM video", ADVICE),
    ("song.mp3", b"ID3\x03\x00" + noise(), "an MP3 sound file", ADVICE),
    ("voice.ogg", b"OggS\x00\x02" + noise(), "an Ogg sound or video file", ADVICE),
    ("voice.wav", b"RIFF\x00\x10\x00\x00WAVEfmt " + noise(), "a WAV sound file", ADVICE),
    ("notes.pdf", b"%PDF-1.7\n" + noise(), "a PDF document", "export the posts as CSV, JSON or text"),
    ("notes.rtf", b"{\\rtf1\\ansi hello}", "an RTF document", OFFICE),
    ("old.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + noise(), "an old Office document (.doc, .xls)", OFFICE),
    ("posts.docx", zipped([("[Content_Types].xml", OOXML), ("word/document.xml", b"<w/>")]),
     "a Word document", OFFICE),
    ("posts.xlsx", zipped([("[Content_Types].xml", OOXML), ("xl/workbook.xml", b"<x/>")]),
     "an Excel workbook", "save it as CSV first (File > Save As > CSV UTF-8)"),
    ("posts.odt", zipped([("mimetype", b"application/vnd.oasis.opendocument.text"), ("content.xml", b"<o/>")],
                         stored_first=True), "an OpenDocument file", OFFICE),
    ("book.epub", zipped([("mimetype", b"application/epub+zip"), ("content.opf", b"<o/>")], stored_first=True),
     "an EPUB e-book", ADVICE),
    ("tool.jar", zipped([("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\n")]), "a Java archive (JAR)", ADVICE),
    ("tool", b"\x7fELF\x02\x01\x01" + bytes(600), "a program", ADVICE),
    ("setup.exe", b"MZ\x90\x00\x03\x00\x00\x00" + noise(), "a Windows program", ADVICE),
    ("tool.macho", b"\xcf\xfa\xed\xfe" + noise(), "a macOS program", ADVICE),
    ("Main.class", b"\xca\xfe\xba\xbe" + noise(), "a compiled program (Java class or macOS)", ADVICE),
    ("app.wasm", b"\x00asm\x01\x00\x00\x00" + noise(), "a WebAssembly program", ADVICE),
    ("posts.csv.gz", gzip.compress(b"text\nhello there world\n" * 100), "a gzip-compressed file",
     "decompress it first (gunzip {path}) and pass the file it holds"),
    ("posts.bz2", b"BZh91AY&SY" + noise(), "a bzip2-compressed file",
     "decompress it first (bunzip2 {path}) and pass the file it holds"),
    ("posts.xz", b"\xfd7zXZ\x00" + noise(), "an xz-compressed file",
     "decompress it first (unxz {path}) and pass the file it holds"),
    ("posts.zst", b"\x28\xb5\x2f\xfd" + noise(), "a zstd-compressed file",
     "decompress it first (unzstd {path}) and pass the file it holds"),
    ("posts.7z", b"7z\xbc\xaf\x27\x1c" + noise(), "a 7-Zip archive", "unpack it first and pass what it holds"),
    ("posts.rar", b"Rar!\x1a\x07\x01\x00" + noise(), "a RAR archive", "unpack it first and pass what it holds"),
    ("posts.tar", tar_bytes(), "a tar archive", "unpack it first (tar -xf {path}) and pass what it holds"),
    ("posts.db", sqlite_bytes, "an SQLite database", "export its posts as CSV or JSON first"),
    ("posts.parquet", b"PAR1" + noise(), "a Parquet table",
     "export its posts as CSV or JSON first (pandas: df.to_csv)"),
]


def make(tmp_path: Path, name: str, content) -> Path:
    path = tmp_path / name
    path.write_bytes(content(tmp_path) if callable(content) else content)
    return path


def assert_one_line_error(capsys, args, code: int, message: str, tmp_path: Path | None = None) -> None:
    got, out, err = run(capsys, *args)
    assert (got, err) == (code, f"Error: {message}\n"), err
    assert "Traceback" not in err
    if tmp_path is not None:
        assert not (tmp_path / "ds").exists()


def prepare_args(spec: str, tmp_path: Path) -> list[str]:
    return ["prepare", spec, "--handle", "kim", "--min-chars", "0", "-q", "-o", str(tmp_path / "ds")]


# -- file: and archive: refuse what is not posts ---------------------------------------------------


@pytest.mark.parametrize("name, content, found, advice", BINARY, ids=[b[0] for b in BINARY])
def test_file_that_is_not_text_is_refused_with_what_it_is(tmp_path, capsys, name, content, found, advice):
    path = make(tmp_path, name, content)
    message = f"file:{path} is {found}, not a file of posts: {advice.format(path=path)}"
    with pytest.raises(NotPostsError) as err:
        open_source(f"file:{path}", SourceOptions(handle="kim"))
    assert (str(err.value), err.value.found) == (message, found)
    assert_one_line_error(capsys, prepare_args(f"file:{path}", tmp_path), 1, message, tmp_path)


@pytest.mark.parametrize("name, content, found, advice", BINARY, ids=[b[0] for b in BINARY])
def test_archive_that_is_not_an_export_is_refused_with_what_it_is(tmp_path, capsys, name, content, found,
                                                                  advice):
    path = make(tmp_path, name, content)
    advice = ARCHIVE_ADVICE if advice == ADVICE else advice
    message = f"archive:{path} is {found}, not an account export: {advice.format(path=path)}"
    with pytest.raises(ArchiveFormatError, match="^" + _re(message) + "$"):
        open_source(f"archive:{path}")
    assert_one_line_error(capsys, prepare_args(f"archive:{path}", tmp_path), 1, message, tmp_path)


def _re(text: str) -> str:
    import re

    return re.escape(text)


def test_a_png_renamed_zip_and_a_truncated_zip_given_as_archive(tmp_path, capsys):
    png = make(tmp_path, "twitter-2024.zip", b"\x89PNG\r\n\x1a\n" + noise())
    assert_one_line_error(capsys, prepare_args(f"archive:{png}", tmp_path), 1,
                          f"archive:{png} is a PNG image, not an account export: {ARCHIVE_ADVICE}", tmp_path)
    good = write_zip(tmp_path / "good.zip", x_files([tweet("1", "a post that is long enough")])).read_bytes()
    cut = make(tmp_path, "cut.zip", good[: len(good) // 2])
    message = (f"{cut}: not a readable zip (its end is missing, as when a download stops early); download the "
               f"archive again, or unzip it and pass the folder")
    assert_one_line_error(capsys, prepare_args(f"archive:{cut}", tmp_path), 1, message, tmp_path)
    cut_no_suffix = make(tmp_path, "download", good[: len(good) // 2])
    with pytest.raises(ArchiveFormatError, match="its end is missing"):
        open_source(f"archive:{cut_no_suffix}")


def test_a_file_of_posts_given_as_archive_is_sent_to_file(tmp_path, capsys):
    path = make(tmp_path, "posts.csv", b"text\nthe first post of the year\n")
    assert_one_line_error(capsys, prepare_args(f"archive:{path}", tmp_path), 1,
                          f"{path}: a CSV file, not an account's export; for a file of posts use file:{path}",
                          tmp_path)


# -- text that is not posts ------------------------------------------------------------------------


def test_random_bytes_and_control_characters_are_binary_data(tmp_path, capsys):
    rng = random.Random(1)
    cases = [("random.bin", noise(20_000), 13), ("controls.txt", bytes(range(1, 32)) * 300, 87),
             # Only bytes 0x80-0xFF (and spaces, line breaks): read as Windows-1252, 0x80-0x9F give C1 controls.
             ("high.txt", bytes(rng.choice([*range(0x80, 0x100), 0x20, 0x20, 0x0A]) for _ in range(20_000)), 4)]
    for name, data, percent in cases:
        path = make(tmp_path, name, data)
        message = (f"file:{path} is binary data ({percent}% of its first characters are control characters or "
                   f"undecodable bytes), not a file of posts: {ADVICE}")
        with pytest.raises(NotPostsError, match="^" + _re(message) + "$"):
            open_source(f"file:{path}", SourceOptions(handle="kim"))
        assert_one_line_error(capsys, prepare_args(f"file:{path}", tmp_path), 1, message, tmp_path)


def garbled_message(path: Path, bad: int, total: int) -> str:
    return (f"file:{path} is garbled text ({bad:,} of its first {total:,} posts read as mojibake, like 'Ã©' "
            f"for 'é', or hold control characters), not a file of posts: check that it is the file of posts, "
            f"or export it again as UTF-8")


def test_mojibake_text_is_refused(tmp_path, capsys):
    rng = random.Random(3)
    lines = ["".join(rng.choice("ÃƒÂ¢â‚¬Å¡Ã‚Â©Ã¯Â»Â¿ÃŸÃ¤Ã¶") for _ in range(60)) for _ in range(300)]
    path = make(tmp_path, "posts.txt", "\n".join(lines).encode("utf-8"))
    with pytest.raises(NotPostsError, match="^" + _re(garbled_message(path, 300, 300)) + "$"):
        open_source(f"file:{path}", SourceOptions(handle="kim"))
    assert_one_line_error(capsys, prepare_args(f"file:{path}", tmp_path), 1, garbled_message(path, 300, 300),
                          tmp_path)


def test_random_high_bytes_read_in_a_code_page_are_refused(tmp_path, capsys):
    # Bytes 0xA1-0xFE hold no control character in any code page: ftfy's mojibake rule tells.
    rng = random.Random(0)
    data = bytes(rng.choice([*range(0xA1, 0xFF)] + [0x20] * 8 + [0x0A] * 2) for _ in range(20_000))
    path = make(tmp_path, "posts.txt", data)
    assert_one_line_error(capsys, prepare_args(f"file:{path}", tmp_path), 1, garbled_message(path, 351, 389),
                          tmp_path)


def test_json_posts_of_escaped_control_characters_are_refused(tmp_path, capsys):
    # The file is plain ASCII (the controls are JSON escapes): only the posts' text tells.
    posts = [{"text": "".join(chr(c) for c in range(1, 31)) + f" {i}"} for i in range(40)]
    path = make(tmp_path, "posts.json", json.dumps(posts).encode())
    assert_one_line_error(capsys, prepare_args(f"file:{path}", tmp_path), 1, garbled_message(path, 40, 40),
                          tmp_path)


def test_a_file_whose_posts_have_no_text_is_refused(tmp_path, capsys):
    path = make(tmp_path, "posts.csv", b"text,date\n,2020-01-01\n  ,2021-01-01\n")
    message = (f"{path}: no row holds any text in its column 'text'; pass --text-column NAME if the text is in "
               f"another one")
    with pytest.raises(FileFormatError, match="^" + _re(message) + "$"):
        open_source(f"file:{path}", SourceOptions(handle="kim"))
    assert_one_line_error(capsys, prepare_args(f"file:{path}", tmp_path), 1, message, tmp_path)


def test_real_text_in_many_scripts_and_a_few_odd_posts_are_read(tmp_path):
    lines = ["Tiếng Việt có dấu rất nhiều ở đây", "Привет, как дела? Всё хорошо.", "今日は朝から雨が降っていた。",
             "🎉🎉 party time 🥳🔥", "(╯°□°）╯︵ ┻━┻ when the build fails", "Größe: 5€ — „so“ «guillemets»",
             "≈ ∑ ∫ ≠ ± × ÷ °C µm and ½ ¼ ¾", "ʕ•ᴥ•ʔ ( ͡° ͜ʖ ͡°) ಠ_ಠ", "مرحبا كيف حالك اليوم",
             "Ελληνικά κείμενα εδώ", "I ♥ NY ★★★★☆ ✓ ✗ © ® ™ § ¶"] * 3
    lines += ["ÃƒÂ¢â‚¬Å¡Ã‚Â© odd post"] * 4  # a few garbled posts (under 5) are the author's
    path = make(tmp_path, "posts.txt", "\n".join(lines).encode("utf-8"))
    src = open_source(f"file:{path}", SourceOptions(handle="kim"))
    assert len(list(src.posts())) == len(lines)


def test_the_rules_themselves():
    from huggingtweets.sources._file_binary import binary_kind, control_share, garbled

    assert binary_kind(b"MZ is my favourite band, said no one\n") is None  # text that starts like a program
    assert binary_kind(b"BM is a text too\n") is None
    assert binary_kind(b"GIF8 is not a GIF\n") is None
    assert control_share("ab\x00\x01\ufffd\tcd\n") == 3 / 9
    assert garbled(["cafÃ© and crÃ¨me", "plain words here", "\x01\x02\x03 abc"]) == 2


# -- a path without its scheme: did you mean ---------------------------------------------------------


def export_zip(tmp_path: Path) -> Path:
    return write_zip(tmp_path / "my-archive.zip", x_files([tweet("1", "a post that is long enough to keep")]))


BARE = [  # name, how to make it, what it is, the source it is
    ("my-archive.zip", export_zip, "a zip archive", "archive"),
    ("posts.csv", lambda t: make(t, "posts.csv", b"text\nthe first post of the year\n"), "a CSV file", "file"),
    ("posts.jsonl", lambda t: make(t, "posts.jsonl", b'{"text": "a post"}\n'), "a JSON Lines file", "file"),
    ("posts.txt", lambda t: make(t, "posts.txt", b"one post\nanother post\n"), "a text file", "file"),
    ("tweets.js", lambda t: make(t, "tweets.js", b"window.YTD.tweets.part0 = []"), "a file of an X archive",
     "archive"),
    ("export", lambda t: write_folder(t / "export", x_files([tweet("1", "a post long enough")])),
     "an account's export folder", "archive"),
]


@pytest.mark.parametrize("name, maker, found, scheme", BARE, ids=[b[0] for b in BARE])
def test_a_bare_path_gets_did_you_mean(tmp_path, capsys, name, maker, found, scheme):
    path = maker(tmp_path)
    assert suggest_spec(path) == f"{scheme}:{path}"
    for command in ("run", "train"):
        assert_one_line_error(capsys, [command, path, "-q"], 2,
                              f"{path} is {found}, not a dataset folder: did you mean `{scheme}:{path}`?")
    for command in ("prepare", "fetch"):
        assert_one_line_error(capsys, [command, path, "-q"], 2,
                              f"{path} is {found}, given without a scheme: did you mean `{scheme}:{path}`?")
    assert_one_line_error(capsys, ["run", path, f"file:{tmp_path / 'other.csv'}", "-q"], 2,
                          f"{path} is {found}, given without a scheme: did you mean `{scheme}:{path}`?")


def test_a_bare_path_through_the_python_api(tmp_path):
    path = export_zip(tmp_path)
    with pytest.raises(BarePathError) as err:
        sources.split_spec(str(path))
    assert err.value.suggestion == f"archive:{path}" and isinstance(err.value, UnknownSchemeError)
    with pytest.raises(BarePathError, match="not a dataset folder: did you mean `archive:"):
        DatasetFolder.open(path)
    with pytest.raises(UnknownSchemeError, match="^unknown source 'ftp:x'"):
        sources.split_spec("ftp:x")  # not a path: the schemes are listed as before


def test_a_bare_binary_file_says_what_it_is(tmp_path, capsys):
    path = make(tmp_path, "photo.png", b"\x89PNG\r\n\x1a\n" + noise())
    message = f"{path} is a PNG image, not posts or an account's export: {ADVICE}"
    assert suggest_spec(path) is None
    assert_one_line_error(capsys, ["run", path, "-q"], 2, message)
    assert_one_line_error(capsys, ["prepare", path, "-q"], 2, message)


def test_a_bare_path_that_is_not_there(tmp_path, capsys):
    path = tmp_path / "nope.zip"
    assert suggest_spec(path) == f"archive:{path}"  # by its suffix
    assert_one_line_error(capsys, ["run", path, "-q"], 1,
                          f"{path}: no such file or dataset folder; check the path (as a source it is written "
                          f"`archive:{path}`)")
    with pytest.raises(DatasetError, match="no such dataset folder; create one"):
        DatasetFolder.open(tmp_path / "nothing")  # no suffix: the usual advice


def test_a_plain_folder_keeps_the_dataset_message(tmp_path, capsys):
    (tmp_path / "stuff").mkdir()
    assert suggest_spec(tmp_path / "stuff") is None
    got, _, err = run(capsys, "train", tmp_path / "stuff", "-q")
    assert got == 1 and "not a dataset folder (missing train.jsonl" in err
