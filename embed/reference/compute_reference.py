#!/usr/bin/env python3
"""Record reference sentence embeddings for the docsearch-embed tests.

This is an implementation of all-MiniLM-L6-v2 that shares no code with the
Rust crate: the HF `tokenizers` package tokenizes, and a BERT forward pass
written with numpy in float64 reads model.safetensors through the
`safetensors` numpy API. Mean pooling over the attention mask and L2
normalisation follow sentence-transformers. The output is
embed/tests/data/reference.json, which embed/tests/reference.rs compares
against.

Rerun it after changing the texts below or the model (about 20 s on two cores),
from the repository root:

    scripts/provision.sh model tools
    ~/.cache/docsearch/venv/bin/python embed/reference/compute_reference.py

Options: --model-dir (default: $DOCSEARCH_MODEL_DIR, then
~/.cache/docsearch/all-MiniLM-L6-v2) and --output.
"""

import argparse
import hashlib
import json
import math
import os
import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

MODEL_NAME = "all-MiniLM-L6-v2"

ABSTRACT = (
    "We study the relaxation of a driven-dissipative lattice of coupled nonlinear "
    "oscillators toward its nonequilibrium steady state. Using exact diagonalization "
    "for small systems and a time-dependent variational principle for chains of up "
    "to 128 sites, we show that the approach to the steady state proceeds in two "
    "stages. An initial prethermal plateau, whose lifetime grows exponentially with "
    "the ratio of the on-site nonlinearity to the coupling strength, is followed by "
    "a slow algebraic decay governed by rare resonant clusters. We derive an "
    "effective kinetic equation that reproduces both stages and predicts the "
    "crossover time without free parameters. Its predictions agree with numerical "
    "simulations over four decades in time. Finally, we discuss how the prethermal "
    "regime can be observed in arrays of superconducting transmon qubits and in "
    "photonic waveguide lattices, and we estimate the experimental resolution "
    "required to distinguish algebraic from stretched-exponential relaxation."
)

UNICODE_TEX = (
    r"Measurement of the $\alpha$-decay of ^{8}Be: $\Gamma = 5.57 \pm 0.25$ eV, "
    "naïve Ångström-scale estimates, the Schrödinger équation, 量子 effects — "
    "and a rocket 🚀."
)

LONG_TEXT = " ".join(
    [
        "A search service that stores documents in Redis keeps two kinds of data:",
        "the text fields that a full-text index tokenizes, and a dense vector per",
        "document that an approximate nearest-neighbour index organises into a",
        "hierarchical navigable small-world graph. When a document arrives without",
        "a vector, the indexer computes one from its title and abstract with a",
        "sentence-embedding model, and it records the model's name next to the",
        "index so that the searcher can refuse queries embedded by another model.",
        "Queries follow the same path in reverse: the searcher embeds the query",
        "text, asks Redis for the k nearest vectors under cosine distance, and",
        "merges the result with the lexical matches by reciprocal rank fusion.",
        "Latency matters on both sides, but in different ways. The indexer",
        "processes documents in batches and cares about throughput, so it sorts",
        "texts by length before batching to waste as little work on padding as",
        "possible. The searcher embeds one short query at a time and cares about",
        "the tail latency of a single request, which on a two-core machine is",
        "dominated by the six transformer layers rather than by the tokenizer.",
        "Long inputs are truncated to the model's maximum sequence length of 256",
        "word pieces, counting the classification and separator tokens, so the end",
        "of this paragraph never reaches the model: everything past that limit,",
        "including this sentence about truncation, about tail latency, about",
        "reciprocal rank fusion and about hierarchical graphs, is silently dropped",
        "before the first attention layer sees the input, exactly as the Python",
        "sentence-transformers library does when it encodes the same text with",
        "its default settings for this model.",
    ]
)

# Name, text. The names are stable identifiers that the Rust tests print on failure.
TEXTS = [
    ("short_sentence", "A man is eating food."),
    ("paraphrase", "A man is eating a piece of bread."),
    ("unrelated", "The central bank raised interest rates by a quarter point."),
    ("abstract", ABSTRACT),
    ("unicode_tex", UNICODE_TEX),
    ("empty", ""),
    ("single_word", "Redis"),
    ("long_truncated", LONG_TEXT),
]


def parse_args():
    default_dir = os.environ.get("DOCSEARCH_MODEL_DIR") or str(
        Path.home() / ".cache" / "docsearch" / MODEL_NAME
    )
    default_output = Path(__file__).resolve().parent.parent / "tests" / "data" / "reference.json"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", type=Path, default=Path(default_dir))
    parser.add_argument("--output", type=Path, default=default_output)
    return parser.parse_args()


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_tokenizer(model_dir, max_seq_length):
    """Load tokenizer.json with padding to the longest text and truncation at max_seq_length.

    The shipped file pads to a fixed 128 tokens and truncates at 128, which is not
    what sentence-transformers does with this model.
    """
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    padding = tokenizer.padding
    tokenizer.enable_padding(
        pad_id=padding["pad_id"],
        pad_type_id=padding["pad_type_id"],
        pad_token=padding["pad_token"],
        direction=padding["direction"],
    )
    tokenizer.enable_truncation(max_length=max_seq_length)
    return tokenizer


def layer_norm(x, weight, bias, eps):
    mean = x.mean(axis=-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + eps) * weight + bias


_erf = np.vectorize(math.erf, otypes=[np.float64])


def gelu(x):
    """GELU in its exact form, x * Phi(x), as BERT's "gelu" activation defines it."""
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def linear(x, weights, prefix):
    return x @ weights[prefix + ".weight"].T + weights[prefix + ".bias"]


def softmax(x):
    shifted = np.exp(x - x.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def self_attention(x, mask, weights, prefix, heads):
    batch, length, hidden = x.shape
    head_size = hidden // heads

    def split_heads(t):
        return t.reshape(batch, length, heads, head_size).transpose(0, 2, 1, 3)

    query = split_heads(linear(x, weights, prefix + ".query"))
    key = split_heads(linear(x, weights, prefix + ".key"))
    value = split_heads(linear(x, weights, prefix + ".value"))

    scores = query @ key.transpose(0, 1, 3, 2) / math.sqrt(head_size)
    # Padding positions get no attention weight at all.
    scores = np.where(mask[:, None, None, :], scores, -np.inf)
    context = softmax(scores) @ value
    return context.transpose(0, 2, 1, 3).reshape(batch, length, hidden)


def encoder_layer(x, mask, weights, index, config):
    prefix = f"encoder.layer.{index}"
    eps = config["layer_norm_eps"]

    context = self_attention(x, mask, weights, prefix + ".attention.self", config["num_attention_heads"])
    attended = layer_norm(
        linear(context, weights, prefix + ".attention.output.dense") + x,
        weights[prefix + ".attention.output.LayerNorm.weight"],
        weights[prefix + ".attention.output.LayerNorm.bias"],
        eps,
    )

    intermediate = gelu(linear(attended, weights, prefix + ".intermediate.dense"))
    return layer_norm(
        linear(intermediate, weights, prefix + ".output.dense") + attended,
        weights[prefix + ".output.LayerNorm.weight"],
        weights[prefix + ".output.LayerNorm.bias"],
        eps,
    )


def bert_forward(ids, mask, weights, config):
    """Return the last hidden states, shape (batch, length, hidden), for token ids and mask."""
    length = ids.shape[1]
    x = (
        weights["embeddings.word_embeddings.weight"][ids]
        + weights["embeddings.position_embeddings.weight"][np.arange(length)][None, :, :]
        + weights["embeddings.token_type_embeddings.weight"][0][None, None, :]
    )
    x = layer_norm(
        x,
        weights["embeddings.LayerNorm.weight"],
        weights["embeddings.LayerNorm.bias"],
        config["layer_norm_eps"],
    )
    for index in range(config["num_hidden_layers"]):
        x = encoder_layer(x, mask, weights, index, config)
    return x


def mean_pool_normalize(hidden, mask):
    """Average the hidden states over unmasked tokens, then scale each row to unit L2 norm."""
    weights = mask[:, :, None].astype(np.float64)
    summed = (hidden * weights).sum(axis=1)
    counts = np.maximum(weights.sum(axis=1), 1e-9)
    pooled = summed / counts
    norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
    return pooled / norms


def embed(texts, tokenizer, weights, config):
    encodings = tokenizer.encode_batch(texts)
    ids = np.array([e.ids for e in encodings], dtype=np.int64)
    mask = np.array([e.attention_mask for e in encodings], dtype=bool)
    hidden = bert_forward(ids, mask, weights, config)
    return mean_pool_normalize(hidden, mask), mask.sum(axis=1)


def check_sanity(vectors, names, batch_vectors_alone):
    """Fail unless the vectors behave like sentence embeddings and padding has no effect."""
    by_name = dict(zip(names, vectors))
    related = float(by_name["short_sentence"] @ by_name["paraphrase"])
    unrelated = float(by_name["short_sentence"] @ by_name["unrelated"])
    print(f"cosine(short_sentence, paraphrase) = {related:.4f}")
    print(f"cosine(short_sentence, unrelated)  = {unrelated:.4f}")
    if related < 0.6 or unrelated > 0.3:
        sys.exit("sanity check failed: related sentences must score >= 0.6 and unrelated ones <= 0.3")

    padding_effect = float(np.abs(vectors - batch_vectors_alone).max())
    print(f"max |batched - one at a time|       = {padding_effect:.3e}")
    if padding_effect > 1e-9:
        sys.exit("sanity check failed: padding changed the embeddings")


def write_reference(path, digest, max_seq_length, names, texts, vectors, token_counts, untruncated):
    entries = []
    for name, text, vector, count, full in zip(names, texts, vectors, token_counts, untruncated):
        entry = {
            "name": name,
            "text": text,
            "token_count": int(count),
            "untruncated_token_count": full,
            # Rounding to nine decimals moves a value by at most 5e-10, far below the tests' 1e-5 tolerance.
            "embedding": [round(float(v), 9) for v in vector],
        }
        entries.append("    " + json.dumps(entry, ensure_ascii=False))
    header = {
        "model": MODEL_NAME,
        "model_sha256": digest,
        "max_seq_length": max_seq_length,
        "generator": "embed/reference/compute_reference.py: HF tokenizers and a float64 numpy BERT forward pass",
    }
    body = json.dumps(header, indent=2, ensure_ascii=False)[:-2]
    body += ',\n  "texts": [\n' + ",\n".join(entries) + "\n  ]\n}\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
    print(f"wrote {len(entries)} reference vectors to {path}")


def main():
    args = parse_args()
    model_dir = args.model_dir
    weights_path = model_dir / "model.safetensors"
    if not weights_path.is_file():
        sys.exit(f"{weights_path} not found: fetch the model with `scripts/provision.sh model` or pass --model-dir")

    config = json.loads((model_dir / "config.json").read_text())
    max_seq_length = json.loads((model_dir / "sentence_bert_config.json").read_text())["max_seq_length"]
    tokenizer = load_tokenizer(model_dir, max_seq_length)
    weights = {name: array.astype(np.float64) for name, array in load_file(str(weights_path)).items()}

    names = [name for name, _ in TEXTS]
    texts = [text for _, text in TEXTS]
    vectors, token_counts = embed(texts, tokenizer, weights, config)
    alone = np.vstack([embed([text], tokenizer, weights, config)[0] for text in texts])
    check_sanity(vectors, names, alone)

    tokenizer.no_truncation()
    untruncated = [len(tokenizer.encode(text).ids) for text in texts]
    if max(untruncated) <= max_seq_length:
        sys.exit(f"no text is longer than {max_seq_length} tokens, so truncation goes untested")

    write_reference(
        args.output, sha256_of(weights_path), max_seq_length,
        names, texts, vectors, token_counts, untruncated,
    )


if __name__ == "__main__":
    main()
