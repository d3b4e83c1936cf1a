"""``archive:repo.car``: a Bluesky account's repository, as Settings > "Export my data" gives it.

The export is a CAR file (v1): a header naming one root, then content-addressed DAG-CBOR blocks,
read with the ``atproto`` library's CAR reader. The root is the signed commit (``did``, ``rev``,
``data``); ``data`` is the root of a Merkle Search Tree whose nodes ``{l, e: [{p, k, v, t}]}`` map
keys ``collection/rkey`` to records. Within a node each key is stored as the ``p`` bytes it shares
with the previous entry's key plus the suffix ``k``; ``l`` is the subtree left of the first entry
and each entry's ``t`` the subtree right of it, so an in-order walk yields the keys sorted.

What is read:

- ``app.bsky.feed.post`` records are posts; the record key is the post id, the same id the live
  ``bsky:`` source gives, so an export and a live fetch of one account merge in the store (network
  ``bsky``, account = the DID). A reply to another account is a ``reply``, a reply to oneself
  continues a thread (``original``), a record embed is a ``quote``.
- ``app.bsky.feed.repost`` records are reposts, counted as ``retweet`` (id ``repost-<rkey>``).
- ``app.bsky.actor.profile/self`` gives the display name and the avatar's blob.

Every other collection (likes, follows, blocks, lists...) is left alone. The repository does not hold
the account's handle (a handle is a domain name that points at the DID, held outside the repository):
``--handle`` names the bot, otherwise a name made from the DID (``did-plc-...``) does.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any, ClassVar, Iterator, MutableMapping

from ..errors import ArchiveFormatError
from ._container import Container
from ._dates import parse_date
from .base import Page, Post, Profile, SourceOptions, check_handle, gc_paused, paged
from .bluesky import record_post

POSTS = "app.bsky.feed.post"
REPOSTS = "app.bsky.feed.repost"
PROFILE = "app.bsky.actor.profile"
READ = frozenset({POSTS, REPOSTS, PROFILE})
"""The collections read; every other one (likes, follows, blocks, lists, ...) is skipped unread."""

PAGE_SIZE = 5_000
"""Posts per page; the store saves each page in one transaction."""

_CAR_HEADER = (b"\xa2eroots", b"\xa2gversion")  # a two-key DAG-CBOR map: {roots: [...], version: 1}


def looks_like_car(head: bytes) -> bool:
    """True when ``head`` (a file's first bytes) starts like a CAR v1: varint length, header map."""
    n = 0
    for i, byte in enumerate(head[:4]):
        if not byte & 0x80:
            n = i + 1
            break
    return bool(n) and head[n:n + 8].startswith(_CAR_HEADER)


def find_car(c: Container) -> str | None:
    """The member of ``c`` that is a repository export, if any.

    A single file counts when it is named ``*.car`` or starts like a CAR; a zip or folder when it
    holds exactly one ``*.car`` at its top.

    Raises:
        ArchiveFormatError: a zip or folder holds several ``.car`` files.
    """
    if c.kind == "file":
        name = c.names()[0]
        if Path(name).suffix.lower() == ".car":
            return name
        with open(c.path, "rb") as f:
            return name if looks_like_car(f.read(16)) else None
    cars = c.glob("*.car")
    if len(cars) > 1:
        raise ArchiveFormatError(
            f"{c.path}: holds several .car files ({', '.join(cars)}); pass the one to read as "
            f"archive:PATH.car")
    return cars[0] if cars else None


# -- reading the repository ---------------------------------------------------------------------


class Repository:
    """The records of one exported repository that huggingtweets reads, by collection.

    ``records[collection]`` lists ``(rkey, record CID, record)`` in key order (record keys are
    time-ordered ids, so this is oldest first for posts).
    """

    def __init__(self, did: str, rev: str | None, records: dict[str, list[tuple[str, str, dict]]],
                 collections: dict[str, int], unreadable: int = 0):
        self.did = did
        self.rev = rev
        self.records = records
        self.collections = collections  # every collection in the repository -> its record count
        self.unreadable = unreadable  # records of READ whose block does not decode, skipped


_DID = re.compile(r"^did:[a-z]+:[A-Za-z0-9._:%-]{1,2000}$")
_UNREADABLE = object()  # a block that is in the file but does not decode


def read_repository(data: bytes, where: str) -> Repository:
    """Parse a CAR export and walk its tree to the records of ``READ``.

    Raises:
        ArchiveFormatError: not a CAR file, a damaged or incomplete one, or a CAR that is not a
            repository (its root is not a commit).
    """
    # atproto's CAR reader (``atproto.CAR`` is this class); importing it from atproto_core skips
    # the client and its models, which ``import atproto`` loads (2 s instead of 0.2 s).
    from atproto_core.car import CAR
    from atproto_core.cid import CID

    # A link in a decoded block is the CID's bytes, already checked by the decoder; newer versions
    # wrap those without decoding them again (twice as fast on a large repository).
    cid = getattr(CID, "from_decoded_bytes", CID.decode)
    get: Any
    try:
        car = CAR.from_bytes(data)
        commit = car.blocks.get(car.root)

        def get(link: bytes) -> Any:
            return car.blocks.get(cid(link))
    except Exception as e:  # libipld raises ValueError, atproto InvalidCARFile; any is a bad file
        # The reader refuses the whole file when one block does not decode (a record whose text is
        # not UTF-8, written by a buggy client); read it block by block before giving up.
        one_by_one = _blocks_one_by_one(data)
        if one_by_one is None:
            raise ArchiveFormatError(
                f"{where}: not a readable CAR file ({_reason(e)}); pass the repo.car that Bluesky's "
                f"Settings > Export my data gives, as downloaded") from None
        root, blocks = one_by_one
        commit, get = blocks.get(root), blocks.get

    def block(link: Any, what: str) -> Any:
        if not isinstance(link, bytes):
            raise _damaged(where, f"{what} is not a link")
        try:
            value = get(link)
        except ValueError:  # not a CID
            value = None
        if value is None:
            raise _damaged(where, f"{what} is missing")
        return value

    if not (isinstance(commit, dict) and isinstance(commit.get("did"), str) and _DID.match(commit["did"])
            and isinstance(commit.get("data"), bytes)):
        raise ArchiveFormatError(
            f"{where}: a CAR file, but not a Bluesky repository (its root is not a signed commit "
            f"with a DID); pass the repo.car that Settings > Export my data gives")
    records: dict[str, list[tuple[str, str, dict]]] = {c: [] for c in READ}
    collections: dict[str, int] = {}
    unreadable = 0
    for key, link in _walk(commit["data"], block, where):
        collection, _, rkey = key.partition("/")
        collections[collection] = collections.get(collection, 0) + 1
        if collection in records and rkey:
            record = block(link, f"the record {key}")
            if isinstance(record, dict):
                records[collection].append((rkey, _cid_text(link), record))
            else:
                unreadable += 1
    rev = commit.get("rev")
    return Repository(commit["did"], rev if isinstance(rev, str) else None, records, collections,
                      unreadable)


def _blocks_one_by_one(data: bytes) -> tuple[bytes, dict[bytes, Any]] | None:
    """The CAR v1 framing read by hand: ``(root, {cid: block})``, each block decoded on its own and
    ``_UNREADABLE`` where it does not decode; None when the framing itself is broken (not a CAR,
    cut short)."""
    import libipld

    try:
        size, pos = _uvarint(data, 0)
        header = libipld.decode_dag_cbor(data[pos:pos + size])
        root = header["roots"][0]
        if not isinstance(root, bytes):
            return None
        pos += size
        blocks: dict[bytes, Any] = {}
        while pos < len(data):
            size, pos = _uvarint(data, pos)  # size of CID + block
            end = pos + size
            cid_end = pos + _cid_length(data, pos)
            if end > len(data) or cid_end > end:
                return None
            try:
                blocks[data[pos:cid_end]] = libipld.decode_dag_cbor(data[cid_end:end])
            except ValueError:
                blocks[data[pos:cid_end]] = _UNREADABLE
            pos = end
    except (ValueError, TypeError, LookupError, AttributeError):
        return None
    return root, blocks


def _uvarint(data: bytes, pos: int) -> tuple[int, int]:
    """An unsigned LEB128 varint at ``pos``: ``(value, position after it)``."""
    value = shift = 0
    while True:
        byte = data[pos]  # IndexError when cut short
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _cid_length(data: bytes, pos: int) -> int:
    """The length of the binary CID at ``pos``: CIDv0 is a bare sha-256 multihash (34 bytes);
    CIDv1 is varints version, codec, hash code, digest size, then the digest."""
    if data[pos:pos + 2] == b"\x12\x20":
        return 34
    at = pos
    for _ in range(3):
        _, at = _uvarint(data, at)
    digest, at = _uvarint(data, at)
    return at - pos + digest


def _walk(root: bytes, block: Any, where: str) -> Iterator[tuple[str, bytes]]:
    """Every ``(key, record link)`` of the tree under ``root``, in key order.

    Iterative (a stack of nodes still to open and leaves still to give), so a deep or looping
    tree in a damaged file ends with an error rather than a recursion limit.
    """
    seen: set[bytes] = set()
    stack: list[tuple[bytes, bytes | None]] = [(root, None)]  # (node link, None) or (record link, key)
    while stack:
        link, key = stack.pop()
        if key is not None:
            try:
                yield key.decode("utf-8"), link
            except UnicodeDecodeError:
                raise _damaged(where, "a tree key is not text") from None
            continue
        if link in seen:
            raise _damaged(where, "the tree loops back on itself")
        seen.add(link)
        node = block(link, "a tree node")
        entries = node.get("e") if isinstance(node, dict) else None
        if not isinstance(entries, list):
            raise _damaged(where, "a tree node has no entry list")
        todo: list[tuple[bytes, bytes | None]] = []
        if node.get("l") is not None:
            todo.append((node["l"], None))
        previous = b""
        for e in entries:
            if type(e) is not dict:
                raise _damaged(where, "a tree entry is malformed")
            p, k, v, t = e.get("p"), e.get("k"), e.get("v"), e.get("t")
            if type(p) is not int or type(k) is not bytes or type(v) is not bytes or not 0 <= p <= len(previous):
                raise _damaged(where, "a tree entry is malformed")
            previous = previous[:p] + k  # p bytes shared with the previous key of this node, then k
            todo.append((v, previous))
            if t is not None:
                todo.append((t, None))
        stack.extend(reversed(todo))


def _damaged(where: str, what: str) -> ArchiveFormatError:
    return ArchiveFormatError(
        f"{where}: the repository is damaged or incomplete ({what}); export it again from "
        f"Bluesky's Settings > Export my data")


def _reason(e: Exception) -> str:
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return text[:120]


def _cid_text(link: bytes) -> str:
    import libipld

    return libipld.encode_cid(link)


def _jsonable(value: Any) -> Any:
    """A record as the store's JSON can hold it: links as ``{"$link": cid}``, bytes as ``{"$bytes"}``
    (the AT Protocol's JSON form; decoded DAG-CBOR gives both as bytes, so a value that reads as a
    CID is taken for a link)."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, bytes):
        if value[:1] == b"\x01":
            try:
                return {"$link": _cid_text(value)}
            except ValueError:
                pass
        return {"$bytes": base64.b64encode(value).decode("ascii").rstrip("=")}
    return value


# -- the source ---------------------------------------------------------------------------------


def default_handle(did: str) -> str:
    """A name for the bot made from the DID: ``did:plc:abc123`` -> ``did-plc-abc123``."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", did).strip(".-")[:200] or "bluesky-account"


class BlueskyExportSource:
    """A Bluesky repository export (``repo.car``): posts and reposts, the display name.

        src = BlueskyExportSource.from_spec("repo.car", "archive:repo.car", SourceOptions(handle="jane.bsky.social"))
        src.profile().account_id   # 'did:plc:...'
        for page in src.pages({}): ...
    """

    scheme: ClassVar[str] = "archive"
    network: ClassVar[str] = "bsky"

    def __init__(self, path: Path, member: str, spec: str, options: SourceOptions, repo: Repository):
        self.path = path
        self.member = member
        self.spec = spec
        self.options = options
        self.repo = repo
        self.handle = check_handle(options.handle) if options.handle else default_handle(repo.did)

    @classmethod
    def from_spec(cls, value: str, spec: str, options: SourceOptions) -> "BlueskyExportSource":
        """Open ``value`` (a ``.car`` file, or a zip or folder holding one) and read it.

        Raises:
            SourceNotFoundError, ArchiveFormatError, ArchiveTooLargeError, InvalidHandleError.
        """
        with Container.open(Path(value).expanduser()) as c:
            member = find_car(c)
            if member is None:
                raise ArchiveFormatError(
                    f"{c.path}: not a CAR file; pass the repo.car that Bluesky's Settings > "
                    f"Export my data gives")
            return cls.open(c, member, spec, options)

    @classmethod
    def open(cls, c: Container, member: str, spec: str, options: SourceOptions) -> "BlueskyExportSource":
        """Read the export ``member`` of ``c``; every problem is raised here, before any post is stored.

        Raises:
            ArchiveFormatError: not a CAR, damaged, not a Bluesky repository, or no posts in it.
            ArchiveTooLargeError, InvalidHandleError.
        """
        where = str(c.path) if c.kind == "file" else f"{c.path}: {member}"
        if options.handle:
            check_handle(options.handle)  # a bad --handle is reported before a long parse
        with gc_paused():
            repo = read_repository(c.read(member), where)
        if not repo.records[POSTS]:
            found = ", ".join(sorted(repo.collections)) or "no records at all"
            raise ArchiveFormatError(
                f"{where}: the repository of {repo.did} holds no Bluesky posts ({POSTS}; found: "
                f"{found}); export the account that wrote the posts")
        return cls(c.path, member, spec, options, repo)

    def profile(self) -> Profile:
        record = next((r for k, _, r in self.repo.records[PROFILE] if k == "self"), {})
        name = record.get("displayName") if isinstance(record.get("displayName"), str) else None
        avatar = record.get("avatar") if isinstance(record.get("avatar"), dict) else {}
        avatar_cid = _cid_text(avatar["ref"]) if isinstance(avatar.get("ref"), bytes) else None
        did = self.repo.did
        extra: dict[str, Any] = {"source": "bluesky-export", "rev": self.repo.rev,
                                 "skipped": sorted(c for c in self.repo.collections if c not in READ)}
        if avatar_cid:
            extra["avatar_cid"] = avatar_cid
        notes = []
        if not self.options.handle:
            notes.append(f"{self.spec}: a Bluesky export does not hold the account's handle; the bot "
                         f"is named {self.handle} after the DID {did}: pass --handle NAME "
                         f"(e.g. --handle jane.bsky.social) to name it")
        if self.repo.unreadable:
            notes.append(f"{self.spec}: {self.repo.unreadable:,} post, repost or profile record(s) are "
                         f"not valid DAG-CBOR (text that is not UTF-8, from a faulty client) and were "
                         f"skipped")
        if notes:
            extra["notes"] = notes
        named = self.handle if self.options.handle else did
        return Profile(
            handle=self.handle,
            name=name or None,
            # The AppView's CDN serves a profile's blobs by DID and CID.
            avatar_url=f"https://cdn.bsky.app/img/avatar/plain/{did}/{avatar_cid}@jpeg" if avatar_cid else None,
            account_id=did,
            url=f"https://bsky.app/profile/{named}",
            extra=extra,
        )

    def pages(self, state: MutableMapping[str, str]) -> Iterator[Page]:
        with gc_paused():
            posts = list(export_posts(self.repo))
        yield from paged(posts, PAGE_SIZE)


def export_posts(repo: Repository) -> Iterator[Post]:
    """Posts from the repository's post and repost records, each collection in key order."""
    did = repo.did
    for rkey, cid, record in repo.records[POSTS]:
        uri = f"at://{did}/{POSTS}/{rkey}"
        yield record_post(record, rkey, did, {"uri": uri, "cid": cid, "record": _jsonable(record)})
    for rkey, cid, record in repo.records[REPOSTS]:
        subject = record.get("subject") if isinstance(record.get("subject"), dict) else {}
        target = subject.get("uri") if isinstance(subject.get("uri"), str) else ""
        # The repost's own record key, as the live source does: reposting one's own post must not
        # collide with that post.
        yield Post(id=f"repost-{rkey}", text=target, kind="retweet",
                   created_at=parse_date(_str(record.get("createdAt"))),
                   raw={"uri": f"at://{did}/{REPOSTS}/{rkey}", "cid": cid, "record": _jsonable(record)})


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
