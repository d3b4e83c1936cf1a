"""archive:repo.car — a Bluesky repository export, built at test time as a real CAR file.

The CAR is written the way a PDS writes it: DAG-CBOR blocks (encoded by libipld) addressed by
CIDv1 (dag-cbor, sha-256), a Merkle Search Tree whose layers follow each key's hash (two leading
zero bits per layer) with keys prefix-compressed within a node, a commit at the root, and the CAR v1
framing (varint-prefixed header, then varint(len(cid) + len(block)) + cid + block for each block).
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import libipld
import pytest

from huggingtweets import api
from huggingtweets.errors import ArchiveFormatError, InvalidHandleError
from huggingtweets.sources import SourceOptions, open_source
from huggingtweets.sources.bluesky_export import BlueskyExportSource, looks_like_car
from huggingtweets.store import Store

from fake_services import OTHER_DID, FakeServices, Seed, tid
from cli_runner import run

DID = "did:plc:w4xbfzo7kqfes5zb7r6qv3rw"
NAME = "Marin Holt"
AVATAR = b"\x01\x55\x12\x20" + hashlib.sha256(b"avatar image").digest()  # a raw-codec blob CID

# -- writing a repository as a CAR file -------------------------------------------------------


def cid_of(block: bytes) -> bytes:
    """CIDv1, dag-cbor codec (0x71), sha2-256 multihash (0x12, 32 bytes)."""
    return bytes([0x01, 0x71, 0x12, 0x20]) + hashlib.sha256(block).digest()


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


def key_layer(key: bytes) -> int:
    """The MST layer of a key: leading zero bits of its SHA-256, counted two at a time."""
    zeros = 0
    for byte in hashlib.sha256(key).digest():
        if byte:
            zeros += 8 - byte.bit_length()
            break
        zeros += 8
    return zeros // 2


class CarWriter:
    def __init__(self) -> None:
        self.blocks: dict[bytes, bytes] = {}
        self.nodes: list[dict] = []  # every tree node written, to check the tree's shape

    def put(self, value: Any, *, replace: tuple[bytes, bytes] = (b"", b"")) -> bytes:
        """Store a block; ``replace`` swaps bytes of the encoding (to write a block a buggy client wrote)."""
        block = libipld.encode_dag_cbor(value).replace(*replace)
        cid = cid_of(block)
        self.blocks[cid] = block
        return cid

    def tree(self, items: list[tuple[bytes, bytes]]) -> bytes:
        """The MST root over ``(key, record cid)`` pairs."""
        layered = sorted((k, v, key_layer(k)) for k, v in items)
        return self._node(layered, max((d for _, _, d in layered), default=0))

    def _node(self, items: list[tuple[bytes, bytes, int]], layer: int) -> bytes:
        left: bytes | None = None
        entries: list[dict] = []
        below: list[tuple[bytes, bytes, int]] = []  # keys of lower layers since the last entry
        previous = b""

        def subtree() -> bytes | None:
            return self._node(below, layer - 1) if below else None

        for key, value, depth in items:
            if depth < layer:
                below.append((key, value, depth))
                continue
            sub = subtree()
            below = []
            if entries:
                entries[-1]["t"] = sub
            else:
                left = sub
            shared = len(os.path.commonprefix([previous, key]))
            entries.append({"p": shared, "k": key[shared:], "v": value, "t": None})
            previous = key
        sub = subtree()
        if entries:
            entries[-1]["t"] = sub
        else:
            left = sub
        node = {"l": left, "e": entries}
        self.nodes.append(node)
        return self.put(node)

    def car(self, root: bytes) -> bytes:
        header = libipld.encode_dag_cbor({"version": 1, "roots": [root]})
        out = bytearray(varint(len(header)) + header)
        # The commit first, as a PDS writes it; the rest in any order.
        for cid in [root] + [c for c in self.blocks if c != root]:
            block = self.blocks[cid]
            out += varint(len(cid) + len(block)) + cid + block
        return bytes(out)


def repo_car(records: dict[str, dict], did: str = DID, commit: bool = True) -> tuple[bytes, list[dict]]:
    """A repository of ``{"collection/rkey": record}`` as CAR bytes, and its tree nodes."""
    w = CarWriter()
    root = w.tree([(key.encode(), w.put(record)) for key, record in records.items()])
    if commit:
        root = w.put({"did": did, "version": 3, "data": root, "rev": "3lbxyzrev2222",
                      "prev": None, "sig": b"\x07" * 64})
    return w.car(root), w.nodes


def write_repo(path: Path, records: dict[str, dict], did: str = DID, commit: bool = True) -> Path:
    path.write_bytes(repo_car(records, did, commit)[0])
    return path


# -- the account ----------------------------------------------------------------------------------


def span(text: str, part: str) -> dict:
    start = len(text[:text.index(part)].encode("utf-8"))
    return {"byteStart": start, "byteEnd": start + len(part.encode("utf-8"))}


def post(text: str, created: str, **extra: Any) -> dict:
    return {"$type": "app.bsky.feed.post", "text": text, "createdAt": created, "langs": ["en"], **extra}


def ref(did: str, rkey: str) -> dict:
    return {"uri": f"at://{did}/app.bsky.feed.post/{rkey}", "cid": "bafyreiaq3nbnxiap5pmzzdpqpcb7ws5frm7zsc3mtfdbtmrgu5w3g2vqfi"}


LINK_TEXT = "🦋 Tide tables for März are out: example.com/tides/2024-..."
LINK = "https://example.com/tides/2024-03?station=whitby"
MENTION_TEXT = "Thanks @fern.example.com and @ash.bsky.social for the dawn photos"
IMAGE = {"$type": "app.bsky.embed.images", "images": [{"alt": "", "image": {
    "$type": "blob", "ref": b"\x01\x55\x12\x20" + hashlib.sha256(b"photo").digest(),
    "mimeType": "image/jpeg", "size": 52011}}]}

POSTS = {
    tid(1): post("Morning tide was the highest this year, the slipway is under water", "2024-03-01T08:00:00.000Z"),
    tid(2): post(LINK_TEXT, "2024-03-01T09:15:30.120Z", facets=[{
        "$type": "app.bsky.richtext.facet", "index": span(LINK_TEXT, "example.com/tides/2024-..."),
        "features": [{"$type": "app.bsky.richtext.facet#link", "uri": LINK}]}]),
    tid(3): post("Yes, the harbour wall held up fine last night", "2024-03-01T10:00:00Z",
                 reply={"root": ref(OTHER_DID, tid(900)), "parent": ref(OTHER_DID, tid(901))}),
    tid(4): post("And the second high water came an hour late", "2024-03-01T10:05:00Z",
                 reply={"root": ref(DID, tid(1)), "parent": ref(DID, tid(1))}),
    tid(5): post("This is the clearest explanation of spring tides I have read", "2024-03-01T11:00:00Z",
                 embed={"$type": "app.bsky.embed.record", "record": ref(OTHER_DID, tid(902))}),
    tid(6): post("Same storm, seen from the other side of the bay", "2024-03-01T12:00:00Z",
                 embed={"$type": "app.bsky.embed.recordWithMedia",
                        "record": {"$type": "app.bsky.embed.record", "record": ref(OTHER_DID, tid(903))},
                        "media": IMAGE}),
    tid(7): post(MENTION_TEXT, "2024-03-01T13:00:00Z", facets=[
        {"index": span(MENTION_TEXT, "@fern.example.com"),
         "features": [{"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:fernfernfernfernfern0000"}]},
        {"index": span(MENTION_TEXT, "@ash.bsky.social"),
         "features": [{"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:ashashashashashashash000"}]}]),
    tid(8): {**post("今日は満潮がとても高かった、港の道が水の下", "2024-03-02T09:30:00+09:00"), "langs": ["ja"]},
}
REPOST_KEY = tid(9)
REPOST_SUBJECT = f"at://{OTHER_DID}/app.bsky.feed.post/{tid(904)}"

RECORDS: dict[str, dict] = {
    **{f"app.bsky.feed.post/{k}": v for k, v in POSTS.items()},
    f"app.bsky.feed.repost/{REPOST_KEY}": {"$type": "app.bsky.feed.repost", "createdAt": "2024-03-01T14:00:00Z",
                                          "subject": ref(OTHER_DID, tid(904))},
    "app.bsky.actor.profile/self": {"$type": "app.bsky.actor.profile", "displayName": NAME,
                                    "description": "Tides, weather, the harbour.",
                                    "avatar": {"$type": "blob", "ref": AVATAR, "mimeType": "image/jpeg",
                                               "size": 31415}},
    # Collections that are not the account's own words, which must never be read as posts.
    f"app.bsky.feed.like/{tid(10)}": {"$type": "app.bsky.feed.like", "createdAt": "2024-03-01T15:00:00Z",
                                      "subject": ref(OTHER_DID, tid(905))},
    f"app.bsky.graph.follow/{tid(11)}": {"$type": "app.bsky.graph.follow", "subject": OTHER_DID,
                                         "createdAt": "2024-03-01T15:00:00Z"},
    # Enough likes that the tree has several layers and nodes.
    **{f"app.bsky.feed.like/{tid(100 + i)}": {"$type": "app.bsky.feed.like", "createdAt": "2024-03-01T16:00:00Z",
                                            "subject": ref(OTHER_DID, tid(1000 + i))} for i in range(60)},
}

EXPECTED = {  # id -> (kind, text, created_at)
    tid(1): ("original", "Morning tide was the highest this year, the slipway is under water", "2024-03-01T08:00:00Z"),
    tid(2): ("original", f"🦋 Tide tables for März are out: {LINK}", "2024-03-01T09:15:30Z"),
    tid(3): ("reply", "Yes, the harbour wall held up fine last night", "2024-03-01T10:00:00Z"),
    tid(4): ("original", "And the second high water came an hour late", "2024-03-01T10:05:00Z"),
    tid(5): ("quote", "This is the clearest explanation of spring tides I have read", "2024-03-01T11:00:00Z"),
    tid(6): ("quote", "Same storm, seen from the other side of the bay", "2024-03-01T12:00:00Z"),
    tid(7): ("original", MENTION_TEXT, "2024-03-01T13:00:00Z"),
    tid(8): ("original", "今日は満潮がとても高かった、港の道が水の下", "2024-03-02T00:30:00Z"),
    f"repost-{REPOST_KEY}": ("retweet", REPOST_SUBJECT, "2024-03-01T14:00:00Z"),
}


@pytest.fixture
def car(tmp_path) -> Path:
    return write_repo(tmp_path / "repo.car", RECORDS)


def stored(account: str = DID) -> dict:
    with Store() as store:
        return {p.id: p for p in store.posts("bsky", account)}



def rows(folder: Path) -> dict[str, str]:
    lines = [json.loads(line) for name in ("train.jsonl", "valid.jsonl")
             for line in (folder / name).read_text(encoding="utf-8").splitlines()]
    return {r["id"]: r["text"] for r in lines}


# -- the test repository is a real one ----------------------------------------------------------


def test_the_written_car_is_a_multi_layer_tree():
    from atproto_core.car import CAR  # what ``from atproto import CAR`` gives

    data, nodes = repo_car(RECORDS)
    parsed = CAR.from_bytes(data)
    commit = parsed.blocks[parsed.root]
    assert commit["did"] == DID and commit["version"] == 3
    assert len(nodes) >= 3  # several nodes: subtrees under l and t are walked
    assert any(e["p"] > 0 for n in nodes for e in n["e"])  # keys are prefix-compressed
    assert any(n["l"] is not None for n in nodes) and any(e["t"] is not None for n in nodes for e in n["e"])
    assert looks_like_car(data[:16]) and not looks_like_car(b'{"orderedItems": []}')


# -- reading it -----------------------------------------------------------------------------------


def test_posts_kinds_texts_and_ids(car):
    src = open_source(f"archive:{car}")
    assert isinstance(src, BlueskyExportSource) and src.network == "bsky"
    posts = {p.id: p for page in src.pages({}) for p in page}
    assert {i: (p.kind, p.text, p.created_at) for i, p in posts.items()} == EXPECTED
    assert posts[tid(7)].mentions == ("@fern.example.com", "@ash.bsky.social")
    assert posts[tid(1)].mentions == ()
    assert posts[tid(3)].in_reply_to == f"at://{OTHER_DID}/app.bsky.feed.post/{tid(901)}"
    assert posts[tid(4)].in_reply_to == f"at://{DID}/app.bsky.feed.post/{tid(1)}"
    assert posts[tid(8)].lang == "ja" and posts[tid(1)].lang == "en"
    raw = posts[tid(6)].raw
    assert raw["uri"] == f"at://{DID}/app.bsky.feed.post/{tid(6)}" and raw["cid"].startswith("bafyrei")
    assert raw["record"]["embed"]["media"]["images"][0]["image"]["ref"] == {
        "$link": libipld.encode_cid(IMAGE["images"][0]["image"]["ref"])}


def test_profile_without_handle_is_named_after_the_did(car):
    profile = open_source(f"archive:{car}").profile()
    assert profile.handle == "did-plc-w4xbfzo7kqfes5zb7r6qv3rw"
    assert profile.account_id == DID and profile.name == NAME
    assert profile.url == f"https://bsky.app/profile/{DID}"
    assert profile.avatar_url == f"https://cdn.bsky.app/img/avatar/plain/{DID}/{libipld.encode_cid(AVATAR)}@jpeg"
    assert profile.extra["notes"] == [
        f"archive:{car}: a Bluesky export does not hold the account's handle; the bot is named "
        f"did-plc-w4xbfzo7kqfes5zb7r6qv3rw after the DID {DID}: pass --handle NAME "
        f"(e.g. --handle jane.bsky.social) to name it"]
    assert profile.extra["skipped"] == ["app.bsky.feed.like", "app.bsky.graph.follow"]


def test_profile_with_handle(car):
    profile = open_source(f"archive:{car}", SourceOptions(handle="@marin.bsky.social")).profile()
    assert profile.handle == "marin.bsky.social" and profile.account_id == DID
    assert profile.url == "https://bsky.app/profile/marin.bsky.social" and "notes" not in profile.extra


def test_prepare_through_the_api(car, tmp_path):
    ds = api.prepare([f"archive:{car}"], tmp_path / "ds", min_chars=0,
                     source_options=SourceOptions(handle="marin.bsky.social"))
    (user,) = ds.stats.users
    assert (user.handle, user.network, user.account, user.name) == (
        "marin.bsky.social", "bsky", DID, NAME)
    assert (user.downloaded, user.retweets, user.kept) == (9, 1, 8)
    got = rows(ds.path)
    assert got[tid(2)] == "🦋 Tide tables for März are out:"  # links are removed by cleaning
    assert got[tid(8)] == "今日は満潮がとても高かった、港の道が水の下"
    assert got[tid(7)] == MENTION_TEXT and set(got) == {tid(n) for n in range(1, 9)}
    posts = stored()
    assert {i: (p.kind, p.text) for i, p in posts.items()} == {i: e[:2] for i, e in EXPECTED.items()}
    assert posts[tid(7)].mentions == ("@fern.example.com", "@ash.bsky.social")


def test_prepare_through_the_cli(car, tmp_path, capsys):
    out_dir = tmp_path / "ds"
    code, out, err = run(capsys, "prepare", f"archive:{car}", "--min-chars", "0", "-q", "-o", str(out_dir),
                         "--mentions", "placeholder")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["Data", "@did-plc-w4xbfzo7kqfes5zb7r6qv3rw"]
    assert lines[2].split()[-1] == "9" and lines[3].split()[-1] == "1" and lines[5].split()[-1] == "8"
    assert (f"Note: archive:{car}: a Bluesky export does not hold the account's handle; "
            f"the bot is named did-plc-w4xbfzo7kqfes5zb7r6qv3rw after the DID {DID}: pass --handle NAME") in err
    # The mention facets span whole custom-domain handles: each becomes one @user.
    assert rows(out_dir)[tid(7)] == "Thanks @user and @user for the dawn photos"


def test_fetch_twice_adds_nothing(car, capsys):
    assert run(capsys, "fetch", f"archive:{car}", "-q", "--handle", "marin.bsky.social")[1] == \
        "@marin.bsky.social (bsky): 9 new, 9 stored\n"
    assert run(capsys, "fetch", f"archive:{car}", "-q", "--handle", "marin.bsky.social")[1] == \
        "@marin.bsky.social (bsky): 0 new, 9 stored\n"


def test_zip_holding_the_car_and_a_car_without_suffix(car, tmp_path):
    with zipfile.ZipFile(tmp_path / "export.zip", "w") as zf:
        zf.write(car, "repo.car")
    bare = tmp_path / "repo"
    bare.write_bytes(car.read_bytes())
    for spec in (f"archive:{tmp_path / 'export.zip'}", f"archive:{bare}"):
        src = open_source(spec)
        assert isinstance(src, BlueskyExportSource), spec
        assert {p.id for page in src.pages({}) for p in page} == set(EXPECTED)


def test_export_and_live_fetch_of_one_account_merge(tmp_path, monkeypatch):
    seeds = [Seed(n, f"post number {n} about the tide and the harbour lights",
                  "retweet" if n == 3 else "reply" if n == 4 else "original") for n in range(6)]
    with FakeServices() as fake:
        monkeypatch.setenv("HUGGINGTWEETS_BSKY_API_URL", fake.url)
        monkeypatch.setenv("HUGGINGTWEETS_HTTP_TIMEOUT", "5")
        acc = fake.bsky_account("carol.bsky.social", seeds[1:])  # the export has one older post
        records: dict[str, dict] = {}
        for s in seeds:
            if s.kind == "retweet":
                records[f"app.bsky.feed.repost/{tid(s.n)}"] = {
                    "$type": "app.bsky.feed.repost", "createdAt": "2024-01-01T00:03:00.000Z",
                    "subject": ref(OTHER_DID, tid(s.n + 100_000))}
            else:
                records[f"app.bsky.feed.post/{tid(s.n)}"] = acc.item(s)["post"]["record"]
        car = write_repo(tmp_path / "carol.car", records, did=acc.did)
        live = api.fetch(["bsky:carol.bsky.social"])[0]
        assert (live.account, live.new) == (acc.did, 5)
        export = api.fetch([f"archive:{car}"], SourceOptions(handle="carol.bsky.social"))[0]
    assert (export.network, export.account, export.new, export.total) == ("bsky", acc.did, 1, 6)
    assert set(stored(acc.did)) == {f"repost-{tid(3)}"} | {tid(n) for n in (0, 1, 2, 4, 5)}


# -- what goes wrong ------------------------------------------------------------------------------


def error_of(spec: str, **options: Any) -> str:
    with pytest.raises(ArchiveFormatError) as e:
        open_source(spec, SourceOptions(**options))
    assert "\n" not in str(e.value)
    return str(e.value)


def test_random_bytes_and_truncated_cars(car, tmp_path):
    noise = tmp_path / "noise.car"
    noise.write_bytes(hashlib.sha256(b"x").digest() * 8)
    assert error_of(f"archive:{noise}") == (
        f"{noise}: not a readable CAR file (Failed to read CAR header. Invalid DAG-CBOR); pass the repo.car "
        f"that Bluesky's Settings > Export my data gives, as downloaded")
    data = car.read_bytes()
    cut = tmp_path / "cut.car"
    cut.write_bytes(data[: len(data) // 2])
    assert error_of(f"archive:{cut}").startswith(f"{cut}: not a readable CAR file (Failed to read CAR block")


def test_car_missing_blocks_is_damaged(tmp_path):
    w = CarWriter()
    leaf = w.put(POSTS[tid(1)])
    root = w.put({"did": DID, "version": 3, "data": w.tree([(f"app.bsky.feed.post/{tid(1)}".encode(), leaf)]),
                  "rev": "3lbxyzrev2222", "prev": None, "sig": b"\x07" * 64})
    del w.blocks[leaf]  # a CAR cut at a block boundary: it parses, but a record is gone
    path = tmp_path / "partial.car"
    path.write_bytes(w.car(root))
    assert error_of(f"archive:{path}") == (
        f"{path}: the repository is damaged or incomplete (the record app.bsky.feed.post/{tid(1)} is "
        f"missing); export it again from Bluesky's Settings > Export my data")


def test_car_that_is_not_a_repository(tmp_path):
    path = write_repo(tmp_path / "other.car", {f"app.bsky.feed.post/{tid(1)}": POSTS[tid(1)]}, commit=False)
    assert error_of(f"archive:{path}") == (
        f"{path}: a CAR file, but not a Bluesky repository (its root is not a signed commit with a DID); "
        f"pass the repo.car that Settings > Export my data gives")
    likes = write_repo(tmp_path / "likes.car", {k: v for k, v in RECORDS.items() if "like/" in k})
    assert error_of(f"archive:{likes}") == (
        f"{likes}: the repository of {DID} holds no Bluesky posts (app.bsky.feed.post; found: "
        f"app.bsky.feed.like); export the account that wrote the posts")


def test_records_that_do_not_decode_are_skipped(tmp_path):
    # A string that is not UTF-8 (a lone surrogate, as some clients wrote): the library refuses the
    # whole file, so it is read block by block, and only the records that decode are kept.
    bad = (b"XXXX", b"\xed\xa0\x80X")
    w = CarWriter()
    items = [(f"app.bsky.feed.post/{k}".encode(), w.put(v)) for k, v in POSTS.items() if k != tid(8)]
    items.append((f"app.bsky.feed.post/{tid(8)}".encode(), w.put(post("XXXX broken", "2024-03-01T00:00:00Z"),
                                                                 replace=bad)))
    items.append((f"app.bsky.feed.like/{tid(10)}".encode(), w.put({"$type": "app.bsky.feed.like", "via": "XXXX"},
                                                                 replace=bad)))
    root = w.put({"did": DID, "version": 3, "data": w.tree(items), "rev": "3lbxyzrev2222", "prev": None,
                  "sig": b"\x07" * 64})
    path = tmp_path / "repo.car"
    path.write_bytes(w.car(root))
    with pytest.raises(ValueError, match="UTF-8|utf-8"):
        libipld.decode_car(path.read_bytes())
    src = open_source(f"archive:{path}", SourceOptions(handle="marin.bsky.social"))
    posts = {p.id: p for page in src.pages({}) for p in page}
    assert {i: p.text for i, p in posts.items()} == {i: e[1] for i, e in EXPECTED.items()
                                                     if not i.startswith("repost-") and i != tid(8)}
    assert src.profile().extra["notes"] == [
        f"archive:{path}: 1 post, repost or profile record(s) are not valid DAG-CBOR (text that is not "
        f"UTF-8, from a faulty client) and were skipped"]


def test_invalid_handle(car):
    with pytest.raises(InvalidHandleError):
        open_source(f"archive:{car}", SourceOptions(handle="../x"))


@pytest.mark.parametrize("name, data, message", [
    ("noise.car", b"\x93\x17" * 40, "not a readable CAR file"),
    ("cut.car", None, "not a readable CAR file"),
])
def test_cli_bad_car_is_one_line(tmp_path, capsys, car, name, data, message):
    path = tmp_path / name
    path.write_bytes(data if data is not None else car.read_bytes()[:300])
    code, out, err = run(capsys, "prepare", f"archive:{path}", "--min-chars", "0", "-q")
    assert code == 1 and out == ""
    assert err.startswith(f"Error: {path}: {message}") and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
