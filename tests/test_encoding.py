"""file:PATH encodings, decided per line: files written here in the byte layouts found in the wild
(a UTF-8 export with rows saved by a spreadsheet, whole Windows-1252 / Shift_JIS / GB18030 files,
double-encoded text, BOMs), read through the API and the CLI as a user would."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from huggingtweets import api
from huggingtweets.cli.main import main
from huggingtweets.dataset.clean import CleanOptions
from huggingtweets.sources import SourceOptions, open_source
from huggingtweets.sources._decode import find_decoding, open_text

UTF8_POSTS = ["café crème every single morning", "naïve questions are the best ones",
              "the sea at Tollan is 🌊 tonight", "Straße und Grüße aus München"]
CP1252_POSTS = ["déjà vu all over again", "s’il vous plaît, one more — for 5 €"]


def dataset_texts(spec: str, out: Path, handle: str = "jane", **clean) -> tuple[list[str], dict]:
    """Sorted texts of train.jsonl + valid.jsonl after ``api.prepare``, and the account's stats."""
    ds = api.prepare([spec], out, min_chars=0, source_options=SourceOptions(handle=handle),
                     clean=CleanOptions(**clean) if clean else None)
    rows = [json.loads(line) for name in ("train.jsonl", "valid.jsonl")
            for line in (out / name).read_text(encoding="utf-8").splitlines()]
    return sorted(r["text"] for r in rows), ds.stats.users[0]


def source(path: Path):
    return open_source(f"file:{path}", SourceOptions(handle="jane"))


def cli(capsys, *args) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as e:
        main(list(args))
        raise SystemExit(0)
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def mixed_csv(path: Path) -> Path:
    """A UTF-8 CSV with two rows saved again as Windows-1252: lines 3 and 6."""
    rows = [b"id,text\n", f"1,{UTF8_POSTS[0]}\n".encode(), f"2,{CP1252_POSTS[0]}\n".encode("cp1252"),
            f"3,{UTF8_POSTS[1]}\n".encode(), f"4,{UTF8_POSTS[2]}\n".encode(),
            f'5,"{CP1252_POSTS[1]}"\n'.encode("cp1252"), f"6,{UTF8_POSTS[3]}\n".encode()]
    path.write_bytes(b"".join(rows))
    return path


# -- a UTF-8 file with a few lines in another encoding ---------------------------------------------------------


def test_utf8_with_two_cp1252_lines_keeps_utf8_and_repairs_those_lines(tmp_path):
    path = mixed_csv(tmp_path / "posts.csv")
    texts, user = dataset_texts(f"file:{path}", tmp_path / "ds")
    assert texts == sorted(UTF8_POSTS + CP1252_POSTS)
    note = "posts.csv: lines 3, 6 were not UTF-8; read as Windows-1252; check them"
    assert user.notes == [note]
    src = source(path)
    assert src.describe() == "CSV (UTF-8, 2 lines Windows-1252), text column 'text'"
    info = src.profile().extra["file"]
    assert (info["encoding"], info["other_encoding"], info["other_lines"]) == ("utf-8", "cp1252", 2)
    assert src.profile().extra["notes"] == [note]


def test_the_cli_prints_the_lines_read_otherwise(tmp_path, capsys):
    path = mixed_csv(tmp_path / "posts.csv")
    note = "Note: posts.csv: lines 3, 6 were not UTF-8; read as Windows-1252; check them\n"
    code, out, err = cli(capsys, "prepare", f"file:{path}", "--handle", "jane", "-o", str(tmp_path / "ds"),
                         "-q", "--min-chars", "0")
    assert code == 0, err
    assert note in err and err.count(note) == 1
    code, out, err = cli(capsys, "fetch", f"file:{path}", "--handle", "jane", "-q")
    assert (code, out) == (0, "@jane (file): 0 new, 6 stored\n")
    assert err == note


def test_utf8_jsonl_with_one_latin1_line(tmp_path):
    path = tmp_path / "posts.jsonl"
    lines = [json.dumps({"id": "1", "text": UTF8_POSTS[0]}, ensure_ascii=False).encode(),
             json.dumps({"id": "2", "text": "Ma bière préférée est ici"}, ensure_ascii=False).encode("latin-1"),
             json.dumps({"id": "3", "text": UTF8_POSTS[1]}, ensure_ascii=False).encode()]
    path.write_bytes(b"\n".join(lines) + b"\n")
    texts, user = dataset_texts(f"file:{path}", tmp_path / "ds")
    assert texts == sorted([UTF8_POSTS[0], "Ma bière préférée est ici", UTF8_POSTS[1]])
    assert user.notes == ["posts.jsonl: line 2 was not UTF-8; read as Windows-1252; check it"]


def test_utf8_bom_with_a_cp1252_line(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbftext,id\n" + f"{UTF8_POSTS[0]},1\n".encode()
                     + f"{CP1252_POSTS[0]},2\n".encode("cp1252"))
    src = source(path)
    assert [p.text for p in src.posts()] == [UTF8_POSTS[0], CP1252_POSTS[0]]
    assert src.info.columns == ["text", "id"]
    assert src.describe() == "CSV (UTF-8 with BOM, 1 line Windows-1252), text column 'text'"
    assert src.profile().extra["notes"] == ["bom.csv: line 3 was not UTF-8; read as Windows-1252; check it"]


def test_mostly_cp1252_with_a_utf8_line_reads_each_line_right(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(b"id,text\n" + f"1,{CP1252_POSTS[0]}\n2,Naïve résumé for 5 €\n".encode("cp1252")
                     + f"3,{UTF8_POSTS[0]}\n".encode() + f'4,"{CP1252_POSTS[1]}"\n'.encode("cp1252"))
    src = source(path)
    assert [p.text for p in src.posts()] == [CP1252_POSTS[0], "Naïve résumé for 5 €", UTF8_POSTS[0],
                                             CP1252_POSTS[1]]
    assert src.info.encoding == "cp1252"
    assert src.profile().extra["notes"] == [
        "excel.csv: line 4 was UTF-8 in a Windows-1252 file; read as UTF-8; check it"]


# -- whole files in another encoding ---------------------------------------------------------------------------


def test_whole_cp1252_csv(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(("id,text\n" + "".join(f'{i},"{t}"\n' for i, t in enumerate(CP1252_POSTS, 1))
                      + "3,Naïve résumé for 5 €\n").encode("cp1252"))
    texts, user = dataset_texts(f"file:{path}", tmp_path / "ds")
    assert texts == sorted(CP1252_POSTS + ["Naïve résumé for 5 €"])
    assert user.notes == []
    src = source(path)
    assert src.describe() == "CSV (Windows-1252), text column 'text'"
    assert src.profile().extra["file"]["encoding"] == "cp1252" and "notes" not in src.profile().extra


@pytest.mark.parametrize("codec, label, posts", [
    ("cp1251", "Windows-1251", ["Привет, как дела? Сегодня хорошая погода в Москве.",
                                "Вечером мы пойдём гулять по набережной."]),
    ("cp1254", "Windows-1254", ["Güzel bir gün, şehirde yağmur yağıyor ve İstanbul çok kalabalık.",
                                "Akşam yemeğinde balık yedik, çok güzeldi."]),
])
def test_whole_single_byte_file_is_detected_not_assumed_cp1252(tmp_path, codec, label, posts):
    path = tmp_path / "posts.txt"
    path.write_bytes("\n".join(posts).encode(codec) + b"\n")
    src = source(path)
    assert [p.text for p in src.posts()] == posts
    assert src.describe() == f"plain text ({label}), one post per line"
    assert src.info.encoding == codec and "notes" not in src.profile().extra


@pytest.mark.parametrize("encoding, codec, label, posts", [
    ("shift_jis", "cp932", "Shift_JIS",
     ["今日はいい天気ですね。散歩に行きましょう。", "東京の夜景はとても綺麗だった！", "ラーメンを食べた、美味しかった"]),
    ("gb18030", "gb18030", "GB18030",
     ["今天天气很好，我们去公园散步吧。", "晚上吃了火锅，非常好吃！", "明天要上班，早点睡觉"]),
])
def test_whole_cjk_text_file(tmp_path, encoding, codec, label, posts):
    path = tmp_path / "posts.txt"
    path.write_bytes("\n".join(posts).encode(encoding) + b"\n")
    texts, user = dataset_texts(f"file:{path}", tmp_path / "ds", min_words=0)
    assert texts == sorted(posts)
    assert user.notes == []
    src = source(path)
    assert src.describe() == f"plain text ({label}), one post per line"
    assert src.profile().extra["file"]["encoding"] == codec


def test_undecodable_bytes_in_a_shift_jis_file_are_reported(tmp_path):
    path = tmp_path / "posts.txt"
    posts = ["今日はいい天気ですね。散歩に行きましょう。", "東京の夜景はとても綺麗だった！"]
    cut = "ラーメン".encode("shift_jis")[:-1]  # an export that cut the text in the middle of a character
    path.write_bytes("\n".join(posts).encode("shift_jis") + b"\n" + cut + b"\n")
    src = source(path)
    assert [p.text for p in src.posts()] == posts + ["ラーメ\ufffd"]
    assert src.profile().extra["notes"] == ["posts.txt: line 3 held bytes that are not Shift_JIS; read as "
                                            "'\ufffd'; check it"]


def test_utf16_with_and_without_bom(tmp_path):
    text = "text\tid\nnaïve résumé €\t5\n今日は晴れ\t6\n"
    for name, data, codec in (("bom.tsv", text.encode("utf-16"), "utf-16"),
                              ("le.tsv", text.encode("utf-16-le"), "utf-16-le"),
                              ("be.tsv", text.encode("utf-16-be"), "utf-16-be")):
        path = tmp_path / name
        path.write_bytes(data)
        src = source(path)
        assert (src.info.encoding, src.info.format) == (codec, "tsv"), name
        assert [p.text for p in src.posts()] == ["naïve résumé €", "今日は晴れ"], name
        assert "notes" not in src.profile().extra


# -- double-encoded text ---------------------------------------------------------------------------------------


def test_mojibake_lines_are_repaired_and_counted(tmp_path):
    path = tmp_path / "posts.txt"
    lines = ["donâ€™t stop me now please", "the cafÃ© opens at nine", "a plain ascii post here",
             "l’été… déjà fini, hélas", "emoji ðŸ˜€ made it through"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    texts, user = dataset_texts(f"file:{path}", tmp_path / "ds")
    assert texts == sorted(["don’t stop me now please", "the café opens at nine", "a plain ascii post here",
                            "l’été… déjà fini, hélas", "emoji 😀 made it through"])
    assert user.notes == ["posts.txt: repaired double-encoded text (mojibake such as 'cafÃ©' for 'café') "
                             "in 3 lines: 1, 2, 5; check them"]
    assert source(path).profile().extra["file"]["mojibake_repaired"] == 3


def test_pure_ascii_and_clean_utf8_are_unchanged(tmp_path):
    ascii_path = tmp_path / "ascii.csv"
    ascii_path.write_bytes(b"id,text\n1,just plain words here\n2,\"and more, with a comma\"\n")
    texts, user = dataset_texts(f"file:{ascii_path}", tmp_path / "ds1")
    assert texts == ["and more, with a comma", "just plain words here"] and user.notes == []
    assert source(ascii_path).describe() == "CSV (UTF-8), text column 'text'"

    utf8 = tmp_path / "utf8.txt"
    utf8.write_text("\n".join(UTF8_POSTS) + "\n", encoding="utf-8")
    texts, user = dataset_texts(f"file:{utf8}", tmp_path / "ds2", handle="bob")
    assert texts == sorted(UTF8_POSTS) and user.notes == []


# -- the reader itself -----------------------------------------------------------------------------------------


def test_line_reader_reads_in_pieces_and_lines_like_a_text_file(tmp_path):
    path = tmp_path / "mixed.txt"
    data = "première ligne\r\n".encode() + "deuxième\r\n".encode("cp1252") + b"old\rmac\r\n" + "fin é".encode()
    path.write_bytes(data)
    d = find_decoding(path)
    assert (d.encoding, d.other, d.other_lines) == ("utf-8", "cp1252", [2])
    expected = ["première ligne\r\n", "deuxième\r\n", "old\r", "mac\r\n", "fin é"]
    with open_text(path, d) as f:
        assert list(f) == expected
    with open_text(path, d) as f:
        assert f.read(5) + f.readline() == expected[0]
        assert f.read() == "".join(expected[1:])
        assert f.read() == "" and f.readline() == ""


def test_classic_mac_line_endings(tmp_path):
    path = tmp_path / "mac.txt"
    path.write_bytes("text\rcafé au lait ici\r".encode() + "déjà vu encore\r".encode("cp1252"))
    src = source(path)
    assert [p.text for p in src.posts()] == ["text", "café au lait ici", "déjà vu encore"]
    assert src.profile().extra["notes"] == ["mac.txt: line 3 was not UTF-8; read as Windows-1252; check it"]
