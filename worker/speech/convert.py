"""A CTranslate2 Whisper model (``model.bin``) turned into an openai-whisper checkpoint, for its PyTorch engine.

``ecoute models install`` builds the base model in CTranslate2's format only (worker/speech/install.py),
and nothing may come from a hub, so the openai-whisper engine gets its weights from that same
file: :func:`read_ctranslate2` parses it, :func:`to_checkpoint` renames and splits the tensors
into openai-whisper's layout, and :func:`convert` writes the result where ``whisper.load_model``
(or ``whisper.model.Whisper``) can read it.

The ``model.bin`` layout, as CTranslate2 writes it (``python/ctranslate2/specs/model_spec.py``
``_serialize``) and reads it (``src/models/model.cc``), little-endian throughout; a *string* is
a ``uint16`` byte count (the terminating NUL included), the UTF-8 bytes, then the NUL:

- ``uint32`` binary version (1 to 6 are known; the base model here is 6);
- from version 2: the spec name as a string (``WhisperSpec``) and the ``uint32`` spec revision;
- ``uint32`` number of variables, then for each: its name (string, ``/``-scoped such as
  ``encoder/layer_0/self_attention/linear_0/weight``), ``uint8`` rank, ``uint32`` per dimension,
  then from version 4 a ``uint8`` dtype id (0 float32, 1 int8, 2 int16, 3 int32, 4 float16,
  5 bfloat16) and the ``uint32`` byte count; before version 4 a ``uint8`` item size and the
  ``uint32`` item count; then the raw row-major bytes. Flags and head counts are rank-0 variables;
- from version 3: ``uint32`` number of aliases, then pairs of strings (alias, variable): a
  variable equal to another is stored once (``decoder/projection/weight`` -> ``decoder/embeddings/weight``).

Quantised weights (``int8``, ``int16``) come with a float32 ``<name>_scale`` variable (per output
row for int8, one scalar for int16): the float value is the integer divided by the scale.

From CTranslate2's names to openai-whisper's, per layer: ``self_attention`` is ``attn`` (its
``linear_0`` stacks query, key and value by rows, ``linear_1`` is ``out``), the decoder's
``attention`` is ``cross_attn`` (``linear_0`` the query, ``linear_1`` key and value stacked,
``linear_2`` ``out``), ``ffn`` is ``mlp`` (``linear_0`` -> ``mlp.0``, ``linear_1`` -> ``mlp.2``);
a layer norm's ``gamma``/``beta`` is ``weight``/``bias``; convolutions keep their
``(out, in, kernel)`` shape; ``position_encodings/encodings`` is ``positional_embedding``;
the decoder's ``embeddings/weight`` is ``token_embedding.weight``, to which openai-whisper ties
the output projection.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import re
import struct
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

from worker.speech.install import MANIFEST, is_installed

#: Where the openai-whisper engine looks for its checkpoint inside the model directory by default.
CHECKPOINT_NAME = "openai-whisper.pt"
#: The newest ``model.bin`` binary version this reader knows.
MAX_BINARY_VERSION = 6
#: CTranslate2's ``DataType`` ids (include/ctranslate2/types.h); bfloat16 has no numpy type and is widened by hand.
_DTYPES = {0: "float32", 1: "int8", 2: "int16", 3: "int32", 4: "float16", 5: "bfloat16"}
#: Item size -> dtype, for binary versions before 4 (which had no dtype id).
_DTYPES_BY_SIZE = {4: "float32", 2: "int16", 1: "int8"}
_NUMPY = {"float32": "<f4", "int8": "i1", "int16": "<i2", "int32": "<i4", "float16": "<f2"}
#: CTranslate2's ``Activation.GELU``: Whisper's activation.
_GELU = 3
_LAYER = re.compile(r"(encoder|decoder)/layer_([0-9]+)/")

FloatArray = npt.NDArray[np.float32]


class ConversionError(Exception):
    """The CTranslate2 model cannot be read or is not a Whisper model; the message says why."""


@dataclass(frozen=True)
class Ct2Model:
    """The variables of a ``model.bin``, aliases resolved, each as stored (dtype included)."""

    binary_version: int
    spec: str
    revision: int
    variables: dict[str, npt.NDArray[Any]]
    #: The dtype the linear weights were stored in: ``float16``, ``float32``, ``int8``...
    weight_dtype: str = ""
    aliases: dict[str, str] = field(default_factory=dict)

    def scalar(self, name: str) -> int | None:
        """A rank-0 variable (a flag or a count) as an int; ``None`` when the model has none."""
        value = self.variables.get(name)
        if value is None or value.size != 1:
            return None
        return int(value.reshape(()).item())

    def tensor(self, name: str) -> FloatArray:
        """A weight as float32, dequantised if it was stored as int8/int16 with a scale."""
        try:
            value = self.variables[name]
        except KeyError:
            raise ConversionError(f"model.bin has no variable {name}") from None
        if value.dtype.kind in "iu":
            scale = self.variables.get(f"{name}_scale")
            if scale is None:
                raise ConversionError(f"{name} is stored as {value.dtype} without a scale")
            factor: FloatArray = scale.astype(np.float32)
            if factor.size > 1:  # one scale per output row (int8), also for convolutions
                factor = factor.reshape((-1,) + (1,) * (value.ndim - 1))
            dequantised: FloatArray = value.astype(np.float32) / factor
            return dequantised
        widened: FloatArray = value.astype(np.float32)
        return widened


class _Reader:
    def __init__(self, stream: BinaryIO, path: Path) -> None:
        self._stream = stream
        self._path = path

    def take(self, size: int) -> bytes:
        data = self._stream.read(size)
        if len(data) != size:
            raise ConversionError(f"{self._path} is truncated")
        return data

    def uint(self, fmt: str) -> int:
        value: int = struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))[0]
        return value

    def string(self) -> str:
        raw = self.take(self.uint("H"))
        try:
            return raw.rstrip(b"\0").decode("utf-8")
        except UnicodeDecodeError:
            raise ConversionError(f"{self._path} is not a CTranslate2 model (bad name)") from None


def _widen_bfloat16(raw: bytes) -> FloatArray:
    """bfloat16 is the top half of a float32: shift it back into place."""
    halves = np.frombuffer(raw, dtype="<u2").astype(np.uint32)
    return (halves << 16).view(np.float32)


def read_ctranslate2(model_bin: Path) -> Ct2Model:
    """Parse a CTranslate2 ``model.bin`` (layout in this module's docstring).

    Raises :class:`ConversionError` when the file is truncated, from an unknown binary version,
    or holds a dtype this reader does not know.
    """
    try:
        stream = model_bin.open("rb")
    except OSError as err:
        raise ConversionError(f"cannot read {model_bin}: {err.strerror}") from None
    with stream:
        read = _Reader(stream, model_bin)
        version = read.uint("I")
        if not 1 <= version <= MAX_BINARY_VERSION:
            raise ConversionError(f"{model_bin}: CTranslate2 binary version {version} is not supported "
                                  f"(1 to {MAX_BINARY_VERSION})")
        spec, revision = ("", 1)
        if version >= 2:
            spec = read.string()
            revision = read.uint("I")
        variables: dict[str, npt.NDArray[Any]] = {}
        stored: dict[str, str] = {}
        for _ in range(read.uint("I")):
            name = read.string()
            shape = tuple(read.uint("I") for _ in range(read.uint("B")))
            if version >= 4:
                type_id = read.uint("B")
                if type_id not in _DTYPES:
                    raise ConversionError(f"{name}: CTranslate2 dtype id {type_id} is not supported")
                dtype, raw = _DTYPES[type_id], read.take(read.uint("I"))
            else:
                item_size = read.uint("B")
                if item_size not in _DTYPES_BY_SIZE:
                    raise ConversionError(f"{name}: item size {item_size} is not supported")
                dtype, raw = _DTYPES_BY_SIZE[item_size], read.take(read.uint("I") * item_size)
            array = _widen_bfloat16(raw) if dtype == "bfloat16" else np.frombuffer(raw, dtype=_NUMPY[dtype])
            stored[name] = dtype
            if array.size != int(np.prod(shape)):
                raise ConversionError(f"{name}: {array.size} values for the shape {shape}")
            variables[name] = array.reshape(shape)
        aliases: dict[str, str] = {}
        if version >= 3:
            for _ in range(read.uint("I")):
                alias, target = read.string(), read.string()
                aliases[alias] = target
        for alias, target in aliases.items():
            if target not in variables:
                raise ConversionError(f"alias {alias} names a missing variable {target}")
            variables[alias] = variables[target]
    # The attention weights tell how the model was quantised (embeddings stay float when weights are int8).
    weight_dtype = stored.get("decoder/layer_0/self_attention/linear_0/weight", "")
    return Ct2Model(binary_version=version, spec=spec, revision=revision, variables=variables,
                    weight_dtype=weight_dtype, aliases=aliases)


def alignment_heads_dump(heads: list[tuple[int, int]], n_layer: int, n_head: int) -> bytes:
    """openai-whisper's encoding of the cross-attention heads used for word timing.

    ``Whisper.set_alignment_heads`` takes a boolean ``(n_layer, n_head)`` mask, flattened,
    gzipped, then base85-encoded; ``heads`` are ``(layer, head)`` pairs as in CTranslate2's
    config.json.
    """
    mask = np.zeros((n_layer, n_head), dtype=bool)
    for layer, head in heads:
        if not (0 <= layer < n_layer and 0 <= head < n_head):
            raise ConversionError(f"alignment head ({layer}, {head}) is outside {n_layer} layers x {n_head} heads")
        mask[layer, head] = True
    # mtime=0: the same heads always give the same bytes, so a checkpoint's content is reproducible.
    return base64.b85encode(gzip.compress(mask.tobytes(), mtime=0))


def _count_layers(model: Ct2Model, side: str) -> int:
    found = {int(m.group(2)) for name in model.variables if (m := _LAYER.match(name)) and m.group(1) == side}
    if found != set(range(len(found))):
        raise ConversionError(f"the {side} layers are not numbered 0 to {len(found) - 1}")
    return len(found)


def _split_rows(matrix: FloatArray, parts: int, name: str) -> list[FloatArray]:
    if matrix.shape[0] % parts:
        raise ConversionError(f"{name} has {matrix.shape[0]} rows, not a multiple of {parts}")
    return [np.ascontiguousarray(part) for part in np.split(matrix, parts, axis=0)]


def _dims(model: Ct2Model, config: Mapping[str, Any]) -> dict[str, int]:
    conv1 = model.tensor("encoder/conv1/weight")
    embeddings = model.variables["decoder/embeddings/weight"]
    n_audio_state, n_text_state = int(conv1.shape[0]), int(embeddings.shape[1])
    # Whisper's heads are 64 wide; older specs did not store the count, so fall back on that.
    dims = {
        "n_mels": int(conv1.shape[1]),
        "n_audio_ctx": int(model.variables["encoder/position_encodings/encodings"].shape[0]),
        "n_audio_state": n_audio_state,
        "n_audio_head": model.scalar("encoder/num_heads") or n_audio_state // 64,
        "n_audio_layer": _count_layers(model, "encoder"),
        "n_vocab": int(embeddings.shape[0]),
        "n_text_ctx": int(model.variables["decoder/position_encodings/encodings"].shape[0]),
        "n_text_state": n_text_state,
        "n_text_head": model.scalar("decoder/num_heads") or n_text_state // 64,
        "n_text_layer": _count_layers(model, "decoder"),
    }
    # openai-whisper derives the number of languages from the vocabulary size; check it against
    # the language tokens CTranslate2's converter listed, so a mismatch fails here rather than
    # as a wrong tokenizer at transcription time.
    lang_ids = config.get("lang_ids")
    if isinstance(lang_ids, list) and lang_ids:
        languages = dims["n_vocab"] - 51765 - int(dims["n_vocab"] >= 51865)
        if languages != len(lang_ids):
            raise ConversionError(f"a vocabulary of {dims['n_vocab']} tokens has {languages} languages, "
                                  f"config.json lists {len(lang_ids)}")
    return dims


def _check_whisper(model: Ct2Model) -> None:
    if model.spec != "WhisperSpec":
        raise ConversionError(f"model.bin holds a {model.spec or 'untitled'} model, not WhisperSpec")
    if model.scalar("decoder/scale_embeddings"):
        raise ConversionError("decoder/scale_embeddings is set: Whisper does not scale its embeddings")
    if model.scalar("decoder/pre_norm") == 0:
        raise ConversionError("decoder/pre_norm is off: Whisper normalises before each block")
    activation = model.scalar("decoder/activation")
    if activation is not None and activation != _GELU:
        raise ConversionError(f"decoder/activation is {activation}: Whisper uses GELU ({_GELU})")


def _linear(state: dict[str, FloatArray], model: Ct2Model, source: str, target: str) -> None:
    state[f"{target}.weight"] = model.tensor(f"{source}/weight")
    state[f"{target}.bias"] = model.tensor(f"{source}/bias")


def _layer_norm(state: dict[str, FloatArray], model: Ct2Model, source: str, target: str) -> None:
    state[f"{target}.weight"] = model.tensor(f"{source}/gamma")
    state[f"{target}.bias"] = model.tensor(f"{source}/beta")


def _attention(state: dict[str, FloatArray], model: Ct2Model, source: str, target: str, *, cross: bool) -> None:
    """One attention block; CTranslate2 stacks the projections that read the same input.

    openai-whisper's key projection has no bias (nor has Hugging Face's, which CTranslate2 converts
    from, so its stacked bias holds zeros there). Dropping that part is exact in any case: a key bias
    adds the same ``q . b`` to every score of a query, which the softmax cancels.
    """
    if cross:
        state[f"{target}.query.weight"] = model.tensor(f"{source}/linear_0/weight")
        state[f"{target}.query.bias"] = model.tensor(f"{source}/linear_0/bias")
        key, value = _split_rows(model.tensor(f"{source}/linear_1/weight"), 2, source)
        _key_bias, value_bias = _split_rows(model.tensor(f"{source}/linear_1/bias"), 2, source)
        out = "linear_2"
    else:
        query, key, value = _split_rows(model.tensor(f"{source}/linear_0/weight"), 3, source)
        query_bias, _key_bias, value_bias = _split_rows(model.tensor(f"{source}/linear_0/bias"), 3, source)
        state[f"{target}.query.weight"], state[f"{target}.query.bias"] = query, query_bias
        out = "linear_1"
    state[f"{target}.key.weight"] = key
    state[f"{target}.value.weight"], state[f"{target}.value.bias"] = value, value_bias
    _linear(state, model, f"{source}/{out}", f"{target}.out")
    _layer_norm(state, model, f"{source}/layer_norm", f"{target}_ln")


def _ffn(state: dict[str, FloatArray], model: Ct2Model, source: str, target: str) -> None:
    _linear(state, model, f"{source}/linear_0", f"{target}.mlp.0")
    _linear(state, model, f"{source}/linear_1", f"{target}.mlp.2")
    _layer_norm(state, model, f"{source}/layer_norm", f"{target}.mlp_ln")


def state_dict(model: Ct2Model, dims: Mapping[str, int]) -> dict[str, FloatArray]:
    """openai-whisper's parameter names -> float32 arrays, from the CTranslate2 variables."""
    state: dict[str, FloatArray] = {}
    for name in ("conv1", "conv2"):
        _linear(state, model, f"encoder/{name}", f"encoder.{name}")
    state["encoder.positional_embedding"] = model.tensor("encoder/position_encodings/encodings")
    for i in range(dims["n_audio_layer"]):
        _attention(state, model, f"encoder/layer_{i}/self_attention", f"encoder.blocks.{i}.attn", cross=False)
        _ffn(state, model, f"encoder/layer_{i}/ffn", f"encoder.blocks.{i}")
    _layer_norm(state, model, "encoder/layer_norm", "encoder.ln_post")

    state["decoder.token_embedding.weight"] = model.tensor("decoder/embeddings/weight")
    state["decoder.positional_embedding"] = model.tensor("decoder/position_encodings/encodings")
    for i in range(dims["n_text_layer"]):
        _attention(state, model, f"decoder/layer_{i}/self_attention", f"decoder.blocks.{i}.attn", cross=False)
        _attention(state, model, f"decoder/layer_{i}/attention", f"decoder.blocks.{i}.cross_attn", cross=True)
        _ffn(state, model, f"decoder/layer_{i}/ffn", f"decoder.blocks.{i}")
    _layer_norm(state, model, "decoder/layer_norm", "decoder.ln")
    return state


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(4 * 1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def source_sha256(model_dir: Path) -> str:
    """The sha256 of ``model.bin``: from the install manifest when it has one, else computed."""
    if is_installed(model_dir):
        try:
            recorded = json.loads((model_dir / MANIFEST).read_text()).get("sha256")
        except (OSError, ValueError):
            recorded = None
        if isinstance(recorded, str) and recorded:
            return recorded
    return _sha256(model_dir / "model.bin")


def to_checkpoint(model_dir: Path) -> dict[str, Any]:
    """An openai-whisper checkpoint built from the CTranslate2 model in ``model_dir``.

    The result is ``{"dims", "model_state_dict"}`` as ``whisper.load_model`` expects (float32
    tensors whatever the stored dtype), plus ``alignment_heads`` (openai-whisper's encoded mask,
    when config.json lists them) and ``source`` (the sha256 of the model.bin it came from).
    Raises :class:`ConversionError`.
    """
    # PyTorch takes seconds to import: only the openai-whisper engine and the conversion need it
    import torch

    model_bin = model_dir / "model.bin"
    if not model_bin.is_file():
        raise ConversionError(f"no model.bin in {model_dir}")
    config: dict[str, Any] = {}
    config_path = model_dir / "config.json"
    if config_path.is_file():
        try:
            loaded = json.loads(config_path.read_text())
        except (OSError, ValueError) as err:
            raise ConversionError(f"{config_path} is not readable JSON ({err})") from None
        config = loaded if isinstance(loaded, dict) else {}
    model = read_ctranslate2(model_bin)
    _check_whisper(model)
    try:
        dims = _dims(model, config)
        state = state_dict(model, dims)
    except KeyError as err:
        raise ConversionError(f"model.bin has no variable {err.args[0]}") from None
    checkpoint: dict[str, Any] = {
        "dims": dims,
        "model_state_dict": {name: torch.from_numpy(np.ascontiguousarray(value)) for name, value in state.items()},
        "source": {"model_bin_sha256": source_sha256(model_dir), "spec": model.spec, "revision": model.revision,
                   "binary_version": model.binary_version, "dtype": model.weight_dtype},
    }
    heads = config.get("alignment_heads")
    if isinstance(heads, list) and heads:
        pairs = [(int(layer), int(head)) for layer, head in heads]
        checkpoint["alignment_heads"] = alignment_heads_dump(pairs, dims["n_text_layer"], dims["n_text_head"])
    return checkpoint


def load_checkpoint(path: Path) -> dict[str, Any]:
    """A checkpoint file read back on the CPU, tensors only (``weights_only``: no code runs from it)."""
    # PyTorch takes seconds to import: only the openai-whisper engine and the conversion need it
    import torch

    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except (OSError, RuntimeError, ValueError) as err:
        raise ConversionError(f"{path} is not a readable PyTorch checkpoint ({err})") from None
    if not isinstance(loaded, dict) or not {"dims", "model_state_dict"} <= loaded.keys():
        raise ConversionError(f"{path} is not an openai-whisper checkpoint (no dims or model_state_dict)")
    return loaded


def is_converted(model_dir: Path, target: Path) -> bool:
    """Whether ``target`` is a checkpoint converted from this ``model_dir``'s model.bin as it is now."""
    if not target.is_file():
        return False
    try:
        source = load_checkpoint(target).get("source")
    except ConversionError:
        return False
    return isinstance(source, dict) and source.get("model_bin_sha256") == source_sha256(model_dir)


def save_checkpoint(checkpoint: Mapping[str, Any], target: Path) -> Path:
    """Write ``checkpoint`` to ``target`` atomically: a sibling temporary file, fsynced, then renamed.

    A crash or a concurrent worker never leaves a half-written checkpoint where the engine looks;
    two workers converting at once both write whole files and the last rename wins.
    """
    # PyTorch takes seconds to import: only the openai-whisper engine and the conversion need it
    import torch

    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            torch.save(dict(checkpoint), out)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)  # noqa: S103 - weights, readable by the worker's group like model.bin
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def convert(model_dir: Path, target: Path, *, force: bool = False) -> bool:
    """Write the openai-whisper checkpoint of ``model_dir`` to ``target``; ``False`` if it was already there.

    Idempotent: a ``target`` already converted from the same model.bin (same sha256) is left
    as it is unless ``force``. Raises :class:`ConversionError`, or ``OSError`` when ``target``
    cannot be written.
    """
    if not force and is_converted(model_dir, target):
        return False
    save_checkpoint(to_checkpoint(model_dir), target)
    return True
