import json

import pytest

import huggingtweets as ht
from huggingtweets import sources
from huggingtweets.dataset.build import AccountData, SplitSettings, split
from huggingtweets.dataset.clean import CleanOptions, clean_posts, clean_text, is_boring
from huggingtweets.errors import InvalidHandleError, NotEnoughDataError, UnknownSchemeError
from huggingtweets.sources.base import Post, check_handle
from huggingtweets.store import Store

import memory_source
from memory_source import ACCOUNTS, make_account


@pytest.fixture(autouse=True)
def mem_scheme(monkeypatch):
    monkeypatch.setitem(sources.REGISTRY, "mem", "memory_source:MemorySource")
    ACCOUNTS.clear()


def P(i, text, kind="original"):
    return Post(id=str(i), text=text, kind=kind)


# -- the original rules -------------------------------------------------------------------------

def test_original_cleaning_rules():
    o = CleanOptions()
    assert clean_text("Fish & chips <3 > all https://t.co/abc  yes\nno", o) == "Fish & chips <3 > all yes no"
    # Sources decode what their format escapes, once: cleaning must not decode a typed "&lt;" again.
    assert clean_text("type &lt; for < and &amp; for &", o) == "type &lt; for < and &amp; for &"
    assert is_boring("hello there")                      # 2 words
    assert is_boring("@bob #tag http://x.y hello there")  # words with @ # http do not count
    assert not is_boring("hello there friend")
    assert not is_boring("hello there friend", 3)
    assert is_boring("hello there friend", 4)


def test_counts_sum_and_categories():
    posts = [
        P(1, "RT @bob: something worth repeating here"),            # retweet by prefix
        P(2, "a shared post from someone", kind="retweet"),          # retweet by kind
        P(3, "ok then"),                                             # short
        P(4, "https://t.co/x @a #b"),                                # short (no plain words)
        P(5, "@carol I fully agree with that", kind="reply"),
        P(6, "the lamp is lit tonight"),
        P(7, "the lamp is lit   tonight"),                           # duplicate once spaces collapse
        P(8, "the sea is calm and grey"),
    ]
    c = clean_posts(posts)
    assert c.counts.to_dict() == {"downloaded": 8, "retweets": 2, "replies": 0, "short": 2,
                                  "duplicates": 1, "too_long": 0, "kept": 3}
    c2 = clean_posts(posts, CleanOptions(replies=False, dedupe=False))
    assert c2.counts.to_dict() == {"downloaded": 8, "retweets": 2, "replies": 1, "short": 2,
                                   "duplicates": 0, "too_long": 0, "kept": 3}
    for cl in (c, c2):
        d = cl.counts.to_dict()
        assert d["downloaded"] == sum(v for k, v in d.items() if k != "downloaded")


def test_mention_and_newline_options():
    t = "hi @bob and @jane@example.social\nsee you"
    assert clean_text(t, CleanOptions()) == "hi @bob and @jane@example.social see you"
    assert clean_text(t, CleanOptions(mentions="strip")) == "hi and see you"
    assert clean_text(t, CleanOptions(mentions="placeholder")) == "hi @user and @user see you"
    assert clean_text(t, CleanOptions(newlines=True)) == "hi @bob and @jane@example.social\nsee you"
    assert clean_text("mail me at a@b.com", CleanOptions(mentions="strip")) == "mail me at a@b.com"


def test_split_is_seeded_stable_and_incremental():
    texts = [(str(i), f"post number {i}") for i in range(500)]
    acc = AccountData("jane", None, "mem", "mem:jane", texts, {})
    tr, va = split(acc, SplitSettings())
    assert 25 <= len(va) <= 75 and len(tr) + len(va) == 500
    tr2, va2 = split(AccountData("jane", None, "mem", "mem:jane", texts[::-1], {}), SplitSettings())
    assert set(va) == set(va2)                     # order does not matter
    more = AccountData("jane", None, "mem", "mem:jane", texts + [(str(i), "x") for i in range(500, 600)], {})
    _, va3 = split(more, SplitSettings())
    assert set(va) <= set(va3)                     # adding posts never moves old ones
    _, va4 = split(acc, SplitSettings(seed=7))
    assert set(va4) != set(va)
    tiny = AccountData("t", None, "mem", "mem:t", texts[:3], {})
    assert len(split(tiny, SplitSettings())[1]) == 1


# -- store ----------------------------------------------------------------------------------------

def test_store_is_idempotent_and_incremental(tmp_path):
    make_account("jane", 30)
    store = Store(tmp_path / "s.sqlite")
    r1 = ht.fetch(["mem:jane"], store=store)
    assert (r1[0].new, r1[0].total) == (30, 30)
    assert ht.fetch(["mem:jane"], store=store)[0].new == 0
    ACCOUNTS["jane"][1].extend(Post(id=str(5000 + i), text=f"later post {i} here") for i in range(5))
    r3 = ht.fetch(["mem:jane"], store=store)
    assert (r3[0].new, r3[0].total) == (5, 35)
    assert store.fetch_state("mem", "id-jane")["pages"] == str(5 + 5 + 5)
    raw_row = store.db.execute("SELECT COUNT(*) FROM posts").fetchone()[0]
    assert raw_row == 35
    store.close()
    assert (tmp_path / "s.sqlite").exists()


def test_store_keeps_pages_saved_before_an_interruption(tmp_path, monkeypatch):
    make_account("jane", 30)
    original = memory_source.MemorySource.pages

    def broken(self, state):
        for i, page in enumerate(original(self, state)):
            if i == 2:
                raise ConnectionError("dropped")
            yield page

    monkeypatch.setattr(memory_source.MemorySource, "pages", broken)
    store = Store(tmp_path / "s.sqlite")
    with pytest.raises(ConnectionError):
        ht.fetch(["mem:jane"], store=store)
    assert store.count("mem", "id-jane") == 14  # two pages of 7 committed
    monkeypatch.setattr(memory_source.MemorySource, "pages", original)
    assert ht.fetch(["mem:jane"], store=store)[0].new == 16


# -- dataset folder --------------------------------------------------------------------------------

def test_prepare_writes_dataset_folder(tmp_path):
    make_account("jane", 400)
    ds = ht.prepare(["mem:jane"], tmp_path / "ds")
    files = {p.name for p in (tmp_path / "ds").iterdir()}
    assert files == {"train.jsonl", "valid.jsonl", "stats.json"}
    stats = json.loads((tmp_path / "ds" / "stats.json").read_text())
    (u,) = stats["users"]
    assert u["handle"] == "jane" and u["name"] == "Jane"
    assert u["downloaded"] == u["retweets"] + u["replies"] + u["short"] + u["duplicates"] + u["kept"]
    assert all(isinstance(u[k], int) for k in ("downloaded", "retweets", "short", "kept"))
    train = [json.loads(l) for l in open(tmp_path / "ds" / "train.jsonl")]
    valid = [json.loads(l) for l in open(tmp_path / "ds" / "valid.jsonl")]
    assert len(train) + len(valid) == u["kept"]
    assert {r["handle"] for r in train + valid} == {"jane"}
    assert not {r["id"] for r in train} & {r["id"] for r in valid}
    assert stats["hash"].startswith("sha256:") and ds.hash == stats["hash"]
    assert stats["settings"]["valid_fraction"] == 0.1 and stats["settings"]["clean"]["replies"] is True
    # Same posts, same folder: the same hash. Other settings: another hash.
    assert ht.prepare(["mem:jane"], tmp_path / "ds2").hash == ds.hash
    assert ht.prepare(["mem:jane"], tmp_path / "ds3", split=ht.SplitSettings(seed=1)).hash != ds.hash


def test_three_account_cyborg_is_balanced(tmp_path):
    make_account("big", 600)
    make_account("mid", 250)
    make_account("small", 90)
    ds = ht.prepare(["mem:small", "mem:big", "mem:mid"], tmp_path / "c", min_chars=0)
    assert ds.name == "big-mid-small"
    train = [json.loads(l) for l in open(tmp_path / "c" / "train.jsonl")]
    chars = {h: sum(len(r["text"]) for r in train if r["handle"] == h) for h in ("big", "mid", "small")}
    assert max(chars.values()) / min(chars.values()) < 1.05, chars
    assert any(r.get("copy") for r in train if r["handle"] == "small")
    assert not any(r.get("copy") for r in train if r["handle"] == "big")
    users = {u.handle: u for u in ds.stats.users}
    assert users["small"].train_rows > 3 * users["small"].train_posts
    nb = ht.prepare(["mem:small", "mem:big", "mem:mid"], tmp_path / "nb", min_chars=0,
                    split=ht.SplitSettings(balance=False))
    assert sum(1 for _ in open(tmp_path / "nb" / "train.jsonl")) == sum(u.train_posts for u in nb.stats.users)


def test_too_little_text_errors_and_writes_nothing(tmp_path):
    make_account("tiny", 20)
    with pytest.raises(NotEnoughDataError, match=r"@tiny: only [\d,]+ characters .* --min-chars N"):
        ht.prepare(["mem:tiny"], tmp_path / "ds")
    assert not (tmp_path / "ds").exists()
    # what was fetched stays in the store
    with Store() as s:
        assert s.count("mem", "id-tiny") == 20
    with pytest.warns(ht.api.DataWarning, match="at least 40,000"):
        ds = ht.prepare(["mem:tiny"], tmp_path / "ds", min_chars=100)
    assert ds.warnings


def test_edited_posts_keep_latest_version_across_imports(tmp_path):
    make_account("jane", 300)
    posts = ACCOUNTS["jane"][1]
    # The first archive was made before the edit: the post had one version.
    posts.append(Post(id="9001", text="first version with a typo in it"))
    ht.fetch(["mem:jane"])
    # A later archive lists both versions.
    posts[-1] = Post(id="9001", text="first version with a typo in it", versions=("9001", "9002"))
    posts.append(Post(id="9002", text="second version with the typo fixed", versions=("9001", "9002")))
    ds = ht.prepare(["mem:jane"], tmp_path / "ds")
    texts = [json.loads(l)["text"] for f in ("train.jsonl", "valid.jsonl") for l in open(tmp_path / "ds" / f)]
    assert "second version with the typo fixed" in texts
    assert "first version with a typo in it" not in texts
    assert ds.stats.users[0].downloaded == 301


def test_handles_and_schemes_are_checked():
    assert check_handle("@Jane_Doe") == "Jane_Doe"
    assert check_handle("jane@example.social") == "jane@example.social"
    for bad in ("../etc", "a/b", "a\\b", "x..y", "", ".hidden", "a b"):
        with pytest.raises(InvalidHandleError):
            check_handle(bad)
    with pytest.raises(UnknownSchemeError, match="archive:, .*file:"):
        sources.split_spec("ftp:whatever")
