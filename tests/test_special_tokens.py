"""Posts and prompts that mention special tokens are plain text, whatever the tokenizer.

A post may say ``<|endoftext|>``, ``<|im_start|>``, ``</s>`` or ``[SEP]``. Those characters must reach the
model as ordinary tokens: the only control token it sees is the end-of-text token that the code puts
between posts. Each tokenizer here is built at test time with the ``tokenizers`` library (or is a slow
Python one that needs no files), so nothing is downloaded; the embedded model's own tokenizer is checked
in a slow test.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from huggingtweets.generate import Bot
from huggingtweets.training.base_models import end_of_text_token
from huggingtweets.training.data import _stream, build_schedule, control_ids, load_posts, tokenize
from huggingtweets.training.evaluate import evaluate
from tiny_model import make_dataset, make_posts

REALWORLD = Path("/work/shared/realworld/special_tokens_posts.txt")

MENTIONS = [
    "Spent the evening on why my <|endoftext|> separators vanished",
    "<|endoftext|>",
    "chat logs look like <|im_start|>assistant hello<|im_end|> in a text file",
    "old HTML habits: </s> and <s> everywhere</s>",
    "BERT puts [CLS] first and [SEP] between sentences, [SEP] again at the end",
    "<pad> <unk> [PAD] [MASK] are tokens too, not words",
]
PROMPT = "Notes on <|endoftext|> and </s> [SEP]\nthen"
ASCII = [chr(c) for c in range(33, 127)]
"""Every printable character is in each vocabulary, so no text here needs the unknown token."""


def _texts() -> list[str]:
    return make_posts(150, seed=3) + MENTIONS + [PROMPT]


def byte_level_bpe():
    """GPT-2 / SmolLM2 style: byte-level BPE, the end-of-text and chat markers as added special tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(_texts(), trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>", bos_token="<|endoftext|>",
                                   additional_special_tokens=["<|im_start|>", "<|im_end|>"])


def wordpiece():
    """BERT style: WordPiece with [CLS]/[SEP]; [SEP] stands as the end-of-text token."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=False)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    trainer = trainers.WordPieceTrainer(vocab_size=400, initial_alphabet=ASCII,
                                        special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    tok.train_from_iterator(_texts(), trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", sep_token="[SEP]", cls_token="[CLS]",
                                   pad_token="[PAD]", mask_token="[MASK]", eos_token="[SEP]")


def unigram():
    """SentencePiece style: Unigram over "▁"-marked words, with <unk>, <s> and </s> in its vocabulary (where
    the model itself would match "</s>" in text, split_special_tokens or not)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first")
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="first")
    trainer = trainers.UnigramTrainer(vocab_size=400, special_tokens=["<unk>", "<s>", "</s>", "<pad>"],
                                      unk_token="<unk>", initial_alphabet=ASCII + ["▁"])
    tok.train_from_iterator(_texts(), trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                                   pad_token="<pad>")


def byt5():
    """A slow (pure Python) tokenizer: ByT5's bytes, with </s>, <pad> and <unk>."""
    from transformers import ByT5Tokenizer

    return ByT5Tokenizer()


TOKENIZERS = {"byte_level_bpe": byte_level_bpe, "wordpiece": wordpiece, "unigram": unigram, "byt5_slow": byt5}


@pytest.fixture(scope="module", params=sorted(TOKENIZERS))
def tok(request):
    return TOKENIZERS[request.param]()


def same_text(tokenizer, ids: list[int], text: str) -> bool:
    """The ids decode to the text; WordPiece drops the spacing (it writes "a < / s > b"), so there only the
    characters count."""
    decoded = tokenizer.decode(ids)
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None or type(backend.model).__name__ != "WordPiece":
        return decoded == text
    return re.sub(r"\s", "", decoded) == re.sub(r"\s", "", text)


def check_posts_are_text(tokenizer, texts: list[str]) -> None:
    control = control_ids(tokenizer)
    for text, ids in zip(texts, tokenize(tokenizer, texts)):
        assert control.isdisjoint(ids), (text, tokenizer.convert_ids_to_tokens(ids))
        assert same_text(tokenizer, ids, text), (text, tokenizer.decode(ids))


def check_training_and_validation(tokenizer, texts: list[str], folder: Path) -> None:
    """Training blocks and validation batches hold the end-of-text token only between posts, and no other
    special token at all."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    _, eot_id, _ = end_of_text_token(tokenizer)
    control = control_ids(tokenizer)
    assert eot_id in control
    posts = load_posts(make_dataset(folder, texts, valid_fraction=0.3), tokenizer)
    assert posts.train and posts.valid
    for ids in posts.train + posts.valid:
        assert control.isdisjoint(ids), tokenizer.convert_ids_to_tokens(ids)

    # Training: put the blocks of each epoch back together; between end-of-text tokens lie the posts.
    schedule = build_schedule(posts.train, eot_id, 16, 2, "epoch", False, seed=0)
    for epoch in schedule.epochs:
        stream = [t for block in epoch for t in block]
        if stream[-1] != eot_id:
            stream.append(eot_id)  # the closing end-of-text alone makes no block: _cut drops it
        assert [t for t in stream if t in control] == [eot_id] * (len(posts.train) + 1)
        between: list[list[int]] = [[]]
        for t in stream[1:]:
            if t == eot_id:
                between.append([])
            else:
                between[-1].append(t)
        assert sorted(between[:-1]) == sorted(posts.train) and between[-1] == []
    packed = build_schedule(posts.train, eot_id, 16, 2, "stream", False, seed=0)
    assert sum(t == eot_id for b in packed.epochs[0] for t in b) in (2 * len(posts.train), 2 * len(posts.train) + 1)
    assert all(t == eot_id for b in packed.epochs[0] for t in b if t in control)

    # Validation: each post is scored as <eot> post <eot>; record what the model is given.
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=256)
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    seen = []
    forward = model.forward

    def recording(*args, **kwargs):
        seen.append((kwargs["input_ids"].clone(), kwargs["attention_mask"].clone()))
        return forward(*args, **kwargs)

    model.forward = recording
    result = evaluate(model, posts.valid, eot_id, posts.valid_chars, max_length=256)
    assert result is not None and result.tokens == sum(len(p) + 1 for p in posts.valid)
    rows = [ids[mask == 1].tolist() for batch, masks in seen for ids, mask in zip(batch, masks)]
    assert sorted(row[1:-1] for row in rows) == sorted(posts.valid)
    assert all(row[0] == row[-1] == eot_id and control.isdisjoint(row[1:-1]) for row in rows)


def tiny_bot(tokenizer, folder: Path) -> Bot:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    _, eot_id, _ = end_of_text_token(tokenizer)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=256)
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).eval()
    return Bot(folder, model, tokenizer, eot_id, None, {})


# -- the tests ---------------------------------------------------------------------------------------------


def test_the_tokenizers_would_read_the_mentions_as_control_tokens(tok):
    """Without care, each of these tokenizers turns some mention into its control token: the cases are real."""
    control = control_ids(tok)
    plain = tok(MENTIONS, add_special_tokens=False)["input_ids"]
    assert any(not control.isdisjoint(ids) for ids in plain)


def test_posts_that_mention_special_tokens_are_plain_text(tok):
    check_posts_are_text(tok, MENTIONS + [PROMPT])


def test_training_blocks_and_validation_batches_hold_end_of_text_only_between_posts(tok, tmp_path):
    check_training_and_validation(tok, make_posts(40, seed=8) + MENTIONS * 3, tmp_path / "ds")


def test_a_prompt_that_mentions_end_of_text_is_text(tok, tmp_path):
    bot = tiny_bot(tok, tmp_path)
    control = control_ids(tok)
    given = []
    forward = bot.model.forward

    def recording(*args, **kwargs):
        given.append(kwargs["input_ids"].clone())
        return forward(*args, **kwargs)

    bot.model.forward = recording
    posts = bot.generate(PROMPT, n=2, seed=0, max_new_tokens=3, min_new_tokens=3, copies="keep")
    first = given[0][0].tolist()
    assert first[0] == bot.eot_id and control.isdisjoint(first[1:])
    assert same_text(tok, first[1:], PROMPT)
    assert all(p.text.startswith(PROMPT) for p in posts) and len(posts) == 2


def test_real_posts_that_mention_special_tokens(tok, tmp_path):
    if not REALWORLD.is_file():
        pytest.skip(f"{REALWORLD} is not here")
    lines = [line for line in REALWORLD.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert any(s in line for line in lines for s in ("<|endoftext|>", "<|im_start|>", "<|im_end|>"))
    check_posts_are_text(tok, lines)
    check_training_and_validation(tok, make_posts(40, seed=9) + lines * 4, tmp_path / "ds")


def test_only_the_end_of_text_the_code_inserts_is_special():
    """Posts are joined by the real end-of-text id; a post that is only "<|endoftext|>" holds no such id."""
    import random

    tokenizer = byte_level_bpe()
    eot = tokenizer.convert_tokens_to_ids("<|endoftext|>")
    a, b = tokenize(tokenizer, ["<|endoftext|>", "a <|im_end|>"])
    assert eot not in a and len(a) > 1 and tokenizer.decode(a) == "<|endoftext|>"
    stream = _stream([a, b], eot, random.Random(0))
    assert stream in ([eot, *a, eot, *b, eot], [eot, *b, eot, *a, eot])


@pytest.mark.parametrize("build", [unigram, wordpiece])
def test_a_character_the_vocabulary_lacks_stays_the_unknown_token(build):
    """The unknown token stands for text, so it is no control token to spell out as "<unk>" or "[UNK]"."""
    tokenizer = build()
    unk = tokenizer.unk_token_id
    assert unk not in control_ids(tokenizer)
    ids = tokenize(tokenizer, ["rain \U0001F327 again </s> [SEP]"])[0]
    assert ids.count(unk) == 1 and control_ids(tokenizer).isdisjoint(ids)


@pytest.mark.slow
def test_the_embedded_models_tokenizer(tmp_path):
    """SmolLM2's own tokenizer, read from the embedded GGUF file (about 20 s)."""
    from huggingtweets.errors import BaseModelError
    from huggingtweets.training.base_models import embedded_gguf

    try:
        gguf = embedded_gguf()
    except BaseModelError:
        pytest.skip("the embedded model is not installed")
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    eot, eot_id, _ = end_of_text_token(tokenizer)
    assert (eot, eot_id) == ("<|endoftext|>", 0)
    control = control_ids(tokenizer)
    assert {0, 1, 2} <= control  # <|endoftext|>, <|im_start|>, <|im_end|>
    texts = MENTIONS + [PROMPT]
    if REALWORLD.is_file():
        texts += [line for line in REALWORLD.read_text(encoding="utf-8").splitlines() if line.strip()]
    check_posts_are_text(tokenizer, texts)
    check_training_and_validation(tokenizer, make_posts(40, seed=8) + texts * 3, tmp_path / "ds")
