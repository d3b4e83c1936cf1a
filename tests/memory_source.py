"""A real source plugin for tests: posts held in a dict, registered as scheme "mem" for one test.

``mem:NAME`` reads ``ACCOUNTS[NAME]`` = (Profile, [Post, ...]).
"""

from __future__ import annotations

from typing import Iterator, MutableMapping

from huggingtweets.errors import AccountUnavailableError, FetchError, SourceNotFoundError
from huggingtweets.sources.base import Page, Post, Profile, SourceOptions

ACCOUNTS: dict[str, tuple[Profile, list[Post]]] = {}
FAIL_AFTER: dict[str, int] = {}
"""NAME -> pages served before the connection fails (a network error mid-fetch)."""
SUSPENDED: set[str] = set()
"""Accounts the service says are suspended (its pages answer so)."""
PAGE_SIZE = 7


class MemorySource:
    scheme = "mem"
    network = "mem"

    def __init__(self, name: str, spec: str):
        if name not in ACCOUNTS:
            raise SourceNotFoundError(spec)
        self.name, self.spec = name, spec

    @classmethod
    def from_spec(cls, value: str, spec: str, options: SourceOptions) -> "MemorySource":
        return cls(value, spec)

    def profile(self) -> Profile:
        return ACCOUNTS[self.name][0]

    def pages(self, state: MutableMapping[str, str]) -> Iterator[Page]:
        posts = ACCOUNTS[self.name][1]
        if self.name in SUSPENDED:
            raise AccountUnavailableError("mem", self.name, "suspended", f"mem: @{self.name} is suspended")
        for n, i in enumerate(range(0, len(posts), PAGE_SIZE)):
            if n >= FAIL_AFTER.get(self.name, n + 1):
                raise FetchError(f"mem: the connection was reset after {n} pages; check the network and run the "
                                 f"same command again (what was fetched is kept)")
            state["pages"] = str(int(state.get("pages", "0")) + 1)
            yield posts[i:i + PAGE_SIZE]


def words(i: int, n: int = 12) -> str:
    vocab = ("tide lamp harbour gull fog beacon night star comet ledger kettle rope storm calm "
             "north south chart bell keeper watch").split()
    return " ".join(vocab[(i * 7 + k * 3) % len(vocab)] + (str(i) if k == 0 else "") for k in range(n))


def make_account(handle: str, n: int, words_per_post: int = 12, name: str | None = None) -> None:
    posts = [Post(id=str(1000 + i), text=f"{words(i, words_per_post)}", created_at=f"2024-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}Z")
             for i in range(n)]
    ACCOUNTS[handle] = (Profile(handle=handle, name=name or handle.title(), account_id=f"id-{handle}"), posts)
