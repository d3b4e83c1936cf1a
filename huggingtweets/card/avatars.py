"""The accounts' own avatars beside the card: ``avatar-HANDLE.jpg`` files in the bot's folder.

The preview draws an account's profile image when one is stored on this machine (named by ``stats.json``'s
``avatar_path``, or cached by an archive import as ``<cache>/avatars/NETWORK-HANDLE.*``). The card shows the
same image: ``store_avatars`` copies it into the bot's folder, where it is published with the card
(``bot_folder.AVATAR_PATTERN``), and the card links it by its file name (``<img src="avatar-jane.jpg">``),
which works in a local Markdown viewer and on the Hub alike.

The copy is written by Pillow, never copied byte for byte: a file that is not an image is not copied, a
large one is scaled down to ``AVATAR_SIZE``, and the JPEG written carries no metadata (EXIF can hold the
place a photo was taken). X's default silhouette (``default_profile`` in its URL or file name) is not the
person's avatar and is never copied or linked.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

from .. import paths
from ..bot_folder import AVATAR_PATTERN, AVATAR_PREFIX
from ..dataset.folder import AccountStats

AVATAR_SIZE = 400
"""The copy's largest side, in pixels (X serves avatars at 400x400)."""
MAX_SOURCE_BYTES = 10 * 1024 * 1024
"""A larger file is not taken for an avatar."""
MAX_SOURCE_PIXELS = 4096 * 4096
"""Nor an image with more pixels (decoding it would take ~50 MB, for a 92 px circle)."""
IMAGE_FORMATS = {"JPEG", "PNG", "GIF", "WEBP"}
_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp")


def is_default_avatar(ref: str | Path | None) -> bool:
    """Whether a URL or file name is X's default profile image (a silhouette, not the person)."""
    return ref is not None and "default_profile" in str(ref)


def avatar_file_name(handle: str) -> str:
    """The file name of an account's avatar in the bot's folder: ``avatar-`` and the handle, lower case, with
    anything but letters, digits, ``.``, ``_`` and ``-`` written ``-`` (``alice@mastodon.social`` ->
    ``avatar-alice-mastodon.social.jpg``)."""
    name = re.sub(r"[^a-z0-9._-]+", "-", handle.lower().lstrip("@"))
    name = re.sub(r"-{2,}", "-", re.sub(r"\.{2,}", ".", name)).strip("-.")[:64].strip("-.")
    return f"{AVATAR_PREFIX}{name or 'account'}.jpg"


def avatar_file_names(accounts: list[AccountStats]) -> dict[str, str]:
    """Handle -> file name for each account; two handles that would share a name get ``-2``, ``-3``..."""
    names: dict[str, str] = {}
    for a in accounts:
        name = avatar_file_name(a.handle)
        n = 2
        while name in names.values():
            name = f"{avatar_file_name(a.handle)[:-4]}-{n}.jpg"
            n += 1
        names[a.handle] = name
    return names


def avatar_source(account: AccountStats) -> Path | None:
    """The account's profile image on this machine: the one ``stats.json`` names, else the one an archive
    import cached; never the default silhouette."""
    if account.avatar_path and Path(account.avatar_path).is_file() and not is_default_avatar(account.avatar_path):
        return Path(account.avatar_path)
    cache = paths.cache_dir() / "avatars"
    if account.network and cache.is_dir():
        for p in sorted(cache.glob(f"{account.network}-{account.handle.lower()}.*")):
            if p.suffix.lower() in _SUFFIXES:
                return p
    return None


def _write_avatar(source: Path, target: Path) -> bool:
    """Write ``source`` as a metadata-free JPEG of at most ``AVATAR_SIZE`` px at ``target``; False when it is
    not an image Pillow reads, or too large."""
    from PIL import Image, ImageOps

    try:
        if source.stat().st_size > MAX_SOURCE_BYTES:
            return False
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(source) as im:
                if im.format not in IMAGE_FORMATS or im.width * im.height > MAX_SOURCE_PIXELS:
                    return False
                im = ImageOps.exif_transpose(im)
                im.thumbnail((AVATAR_SIZE, AVATAR_SIZE), Image.LANCZOS)
                rgba = im.convert("RGBA")  # a transparent avatar is drawn on white, as X shows it
                flat = Image.new("RGB", rgba.size, (255, 255, 255))
                flat.paste(rgba, (0, 0), rgba)
        tmp = target.with_name(target.name + ".tmp")
        flat.save(tmp, format="JPEG", quality=90, optimize=True)
        tmp.replace(target)
        return True
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        return False


def store_avatars(folder: str | Path, accounts: list[AccountStats]) -> dict[str, str]:
    """Copy each account's avatar into ``folder`` (see the module); return handle -> file name of the
    avatars the folder holds, copied now or before.

    A copy is written again only when its source is newer; a copy whose source is gone is kept (the
    folder may have moved to another machine); an avatar of no account of the bot is removed, so that it
    is not published.
    """
    folder = Path(folder)
    stored = {}
    names = avatar_file_names(accounts)
    for old in folder.glob(AVATAR_PATTERN):
        if old.name not in names.values():
            old.unlink()
    for a in accounts:
        name = names[a.handle]
        target = folder / name
        source = avatar_source(a)
        fresh = target.is_file() and (source is None or source.resolve() == target.resolve()
                                      or source.stat().st_mtime <= target.stat().st_mtime)
        if fresh or (source is not None and _write_avatar(source, target)):
            stored[a.handle] = name
    return stored


def folder_avatars(folder: str | Path, accounts: list[AccountStats]) -> dict[str, str]:
    """Handle -> file name of the avatars ``folder`` already holds (``store_avatars`` wrote them)."""
    folder = Path(folder)
    return {h: n for h, n in avatar_file_names(accounts).items() if (folder / n).is_file()}
