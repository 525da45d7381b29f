"""A tiny random-weight Qwen3 model in GGUF, with Qwen's real tokenizer, for a real inference server.

The weights say nothing (greedy decoding turns them into arbitrary but repeatable tokens); everything around them
is Qwen's: the byte-level BPE with its 151,643 ranks and merges, the added tokens (FIM markers, ``<|im_end|>``,
``<tool_call>``) and the Qwen3-Coder chat template. So llama.cpp's ``llama-server`` tokenizes, renders chat
turns, recognises the FIM tokens for ``/infill`` and streams exactly as it does for the real model, and the
client meets the real wire format rather than the fake server's idea of it.

The vocabulary comes from the tokenizer the engine counts with (quicktok's bundled ``qwen3`` files); the merges
are recovered from the ranks, as tiktoken-to-Hugging-Face converters do.
"""

from __future__ import annotations

import struct
from functools import cache
from pathlib import Path

import gguf
import numpy as np
import quicktok  # type: ignore[import-untyped]

# Added tokens whose text the model writes into its answer (the chat template's tool calls and thinking): the
# rest of the added tokens are control tokens that a server does not render.
_RENDERED = {"<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>", "<think>", "</think>"}
_EMBED, _HEADS, _KV_HEADS, _HEAD_DIM, _FFN, _LAYERS = 64, 4, 2, 16, 128, 2


def _data(name: str) -> bytes:
    return (Path(quicktok.__file__).parent / "data" / name).read_bytes()


def _ranks() -> dict[bytes, int]:
    """The ordinary tokens: ``count`` (u32), then per token its length (u16), bytes and rank (u32)."""
    blob = _data("qwen3.vocab")
    (total,), offset, ranks = struct.unpack_from("<I", blob), 4, {}
    for _ in range(total):
        (size,) = struct.unpack_from("<H", blob, offset)
        token = blob[offset + 2:offset + 2 + size]
        (ranks[token],) = struct.unpack_from("<I", blob, offset + 2 + size)
        offset += 6 + size
    return ranks


def _added() -> dict[str, int]:
    """The added tokens: ``count`` (u32), then per token its id (u32), length (u16) and text."""
    blob = _data("qwen3.special")
    (total,), offset, added = struct.unpack_from("<I", blob), 4, {}
    for _ in range(total):
        token_id, size = struct.unpack_from("<IH", blob, offset)
        added[blob[offset + 6:offset + 6 + size].decode()] = token_id
        offset += 6 + size
    return added


def _merge_of(token: bytes, rank: int, ranks: dict[bytes, int]) -> tuple[bytes, bytes]:
    """The pair that BPE merges into ``token``: its bytes merged by lower ranks until two parts are left."""
    parts = [token[i:i + 1] for i in range(len(token))]
    while len(parts) > 2:
        pairs = [(ranks.get(parts[i] + parts[i + 1], rank), i) for i in range(len(parts) - 1)]
        best, at = min(pairs)
        assert best < rank, f"no merge path to {token!r}"
        parts[at:at + 2] = [parts[at] + parts[at + 1]]
    return parts[0], parts[1]


@cache
def _byte_chars() -> dict[int, str]:
    """GPT-2's printable stand-in for every byte, the alphabet of byte-level BPE vocabularies."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    extra = iter(range(256, 512))
    return {b: chr(b) if b in printable else chr(next(extra)) for b in range(256)}


def _text(token: bytes) -> str:
    chars = _byte_chars()
    return "".join(chars[b] for b in token)


def _vocabulary(writer: gguf.GGUFWriter) -> int:
    """Write Qwen's tokenizer into ``writer``; the vocabulary's size."""
    ranks, added = _ranks(), _added()
    by_rank = sorted(ranks, key=ranks.__getitem__)
    tokens = [_text(token) for token in by_rank] + sorted(added, key=added.__getitem__)
    kinds = [gguf.TokenType.NORMAL] * len(by_rank) + [
        gguf.TokenType.USER_DEFINED if text in _RENDERED else gguf.TokenType.CONTROL
        for text in sorted(added, key=added.__getitem__)]
    merges = [" ".join(map(_text, _merge_of(token, ranks[token], ranks))) for token in by_rank if len(token) > 1]
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("qwen2")
    writer.add_token_list(tokens)
    writer.add_token_types(kinds)
    writer.add_token_merges(merges)
    writer.add_eos_token_id(added["<|im_end|>"])
    writer.add_bos_token_id(added["<|endoftext|>"])
    writer.add_pad_token_id(added["<|endoftext|>"])
    writer.add_add_bos_token(False)
    return len(tokens)


def _weights(writer: gguf.GGUFWriter, vocabulary: int) -> None:
    rng = np.random.default_rng(7)

    def tensor(name: str, *shape: int) -> None:
        writer.add_tensor(name, rng.normal(0, 0.5, shape).astype(np.float16 if len(shape) > 1 else np.float32))

    def ones(name: str, size: int) -> None:
        writer.add_tensor(name, np.ones(size, dtype=np.float32))

    tensor("token_embd.weight", vocabulary, _EMBED)
    ones("output_norm.weight", _EMBED)
    for layer in range(_LAYERS):
        block = f"blk.{layer}"
        ones(f"{block}.attn_norm.weight", _EMBED)
        tensor(f"{block}.attn_q.weight", _HEADS * _HEAD_DIM, _EMBED)
        tensor(f"{block}.attn_k.weight", _KV_HEADS * _HEAD_DIM, _EMBED)
        tensor(f"{block}.attn_v.weight", _KV_HEADS * _HEAD_DIM, _EMBED)
        tensor(f"{block}.attn_output.weight", _EMBED, _HEADS * _HEAD_DIM)
        ones(f"{block}.attn_q_norm.weight", _HEAD_DIM)
        ones(f"{block}.attn_k_norm.weight", _HEAD_DIM)
        ones(f"{block}.ffn_norm.weight", _EMBED)
        tensor(f"{block}.ffn_gate.weight", _FFN, _EMBED)
        tensor(f"{block}.ffn_up.weight", _FFN, _EMBED)
        tensor(f"{block}.ffn_down.weight", _EMBED, _FFN)


def write_tiny_qwen(path: Path, chat_template: str) -> Path:
    """Write the model to ``path`` (about 20 MB, a second or two) with ``chat_template`` as its chat template."""
    writer = gguf.GGUFWriter(str(path), "qwen3")
    writer.add_name("tiny-qwen3-coder")
    writer.add_context_length(32768)
    writer.add_embedding_length(_EMBED)
    writer.add_block_count(_LAYERS)
    writer.add_feed_forward_length(_FFN)
    writer.add_head_count(_HEADS)
    writer.add_head_count_kv(_KV_HEADS)
    writer.add_key_length(_HEAD_DIM)
    writer.add_value_length(_HEAD_DIM)
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_rope_freq_base(1_000_000.0)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    _weights(writer, _vocabulary(writer))
    writer.add_chat_template(chat_template)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
