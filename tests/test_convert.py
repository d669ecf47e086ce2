"""CTranslate2 Whisper model -> openai-whisper checkpoint (worker/speech/convert.py), and ``ecoute models convert``.

Two sources: the real base model, joined from its packages once per session, and tiny Whisper
models written by CTranslate2's own serializer (its ``WhisperSpec``) from a random openai-whisper
model, so that the round trip through float32, float16 and int8 files can be checked value by value.
The word-for-word comparison of the two engines is in tests/test_transcription.py.
"""

from __future__ import annotations

import base64
import gzip
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from worker.speech.convert import (
    CHECKPOINT_NAME,
    ConversionError,
    alignment_heads_dump,
    convert,
    load_checkpoint,
    read_ctranslate2,
    to_checkpoint,
)
from worker.speech.install import install_base_model

ECOUTE = str(Path(sys.executable).with_name("ecoute"))
BASE_DIMS = {"n_mels": 80, "n_audio_ctx": 1500, "n_audio_state": 512, "n_audio_head": 8, "n_audio_layer": 6,
             "n_vocab": 51865, "n_text_ctx": 448, "n_text_state": 512, "n_text_head": 8, "n_text_layer": 6}
#: The base model's word-timing heads as openai-whisper ships them (whisper/__init__.py ``_ALIGNMENT_HEADS``).
BASE_HEADS = [(3, 1), (4, 2), (4, 3), (4, 7), (5, 1), (5, 2), (5, 4), (5, 6)]


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return install_base_model(tmp_path_factory.mktemp("convert") / "whisper-base")


@pytest.fixture(scope="session")
def checkpoint(model_dir: Path) -> dict[str, Any]:
    return to_checkpoint(model_dir)


def test_reads_the_model_bin_layout(model_dir: Path) -> None:
    model = read_ctranslate2(model_dir / "model.bin")
    assert (model.binary_version, model.spec, model.revision) == (6, "WhisperSpec", 3)
    assert model.weight_dtype == "float16"
    assert model.aliases == {"decoder/projection/weight": "decoder/embeddings/weight"}
    assert model.variables["decoder/projection/weight"] is model.variables["decoder/embeddings/weight"]
    assert model.variables["encoder/layer_5/self_attention/linear_0/weight"].shape == (3 * 512, 512)
    assert model.variables["decoder/layer_5/attention/linear_1/weight"].shape == (2 * 512, 512)
    assert model.scalar("encoder/num_heads") == 8
    assert model.scalar("decoder/scale_embeddings") == 0


def test_checkpoint_has_base_dims_and_loads_strictly(checkpoint: dict[str, Any]) -> None:
    from whisper.model import ModelDimensions, Whisper

    assert checkpoint["dims"] == BASE_DIMS
    state = checkpoint["model_state_dict"]
    assert {tensor.dtype for tensor in state.values()} == {torch.float32}
    model = Whisper(ModelDimensions(**checkpoint["dims"]))
    model.load_state_dict(state, strict=True)  # raises on any missing or unexpected name, or a wrong shape
    assert model.is_multilingual and model.num_languages == 99
    # The output projection is tied to the token embedding, which CTranslate2 stored once (an alias).
    assert torch.equal(model.decoder.token_embedding.weight, state["decoder.token_embedding.weight"])


def test_alignment_heads_are_the_ones_openai_whisper_uses_for_base(checkpoint: dict[str, Any]) -> None:
    mask = np.frombuffer(gzip.decompress(base64.b85decode(checkpoint["alignment_heads"])), dtype=bool)
    assert sorted(map(tuple, np.argwhere(mask.reshape(6, 8)).tolist())) == BASE_HEADS
    import whisper

    shipped = np.frombuffer(gzip.decompress(base64.b85decode(whisper._ALIGNMENT_HEADS["base"])), dtype=bool)
    assert np.array_equal(mask, shipped)
    with pytest.raises(ConversionError, match="outside"):
        alignment_heads_dump([(6, 0)], 6, 8)


def test_encoder_positions_are_whisper_sinusoids(checkpoint: dict[str, Any]) -> None:
    from whisper.model import sinusoids

    stored = checkpoint["model_state_dict"]["encoder.positional_embedding"]
    assert torch.allclose(stored, sinusoids(1500, 512), atol=1e-3)  # float16 in model.bin


def test_checkpoint_loads_with_whisper_load_model(model_dir: Path, checkpoint: dict[str, Any],
                                                  tmp_path: Path) -> None:
    import whisper

    path = tmp_path / CHECKPOINT_NAME
    assert convert(model_dir, path) is True
    loaded = whisper.load_model(str(path), device="cpu")  # a path: nothing is downloaded
    assert loaded.dims.n_text_layer == 6
    assert torch.equal(loaded.encoder.blocks[0].attn.query.weight,
                       checkpoint["model_state_dict"]["encoder.blocks.0.attn.query.weight"])
    assert [p.name for p in tmp_path.iterdir()] == [CHECKPOINT_NAME]  # no temporary file left
    assert load_checkpoint(path)["source"]["model_bin_sha256"] == checkpoint["source"]["model_bin_sha256"]


# --- tiny models written by CTranslate2 itself -------------------------------------------------------------

TINY = {"n_mels": 8, "n_audio_ctx": 12, "n_audio_state": 64, "n_audio_head": 2, "n_audio_layer": 2,
        "n_vocab": 96, "n_text_ctx": 10, "n_text_state": 64, "n_text_head": 2, "n_text_layer": 2}


def _random_whisper() -> dict[str, torch.Tensor]:
    from whisper.model import ModelDimensions, Whisper

    torch.manual_seed(5)
    model = Whisper(ModelDimensions(**TINY))
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_(0, 0.5)
    return {name: tensor.clone() for name, tensor in model.state_dict().items()}


def _write_ct2(state: dict[str, torch.Tensor], target: Path, quantization: str) -> Path:
    """CTranslate2's WhisperSpec filled from openai-whisper names, the inverse of worker/speech/convert.py."""
    from ctranslate2.specs import whisper_spec

    def np_(name: str) -> np.ndarray[Any, Any]:
        return state[name].numpy().copy()  # CTranslate2 quantises in place

    def linear(spec: Any, prefix: str, *, has_bias: bool = True) -> None:
        spec.weight = np_(f"{prefix}.weight")
        if has_bias:
            spec.bias = np_(f"{prefix}.bias")

    def norm(spec: Any, prefix: str) -> None:
        spec.gamma, spec.beta = np_(f"{prefix}.weight"), np_(f"{prefix}.bias")

    def stacked(spec: Any, prefix: str, names: tuple[str, ...]) -> None:
        spec.weight = np.concatenate([np_(f"{prefix}.{n}.weight") for n in names])
        spec.bias = np.concatenate([np.zeros(TINY["n_text_state"], np.float32) if n == "key"
                                    else np_(f"{prefix}.{n}.bias") for n in names])

    spec = whisper_spec.WhisperSpec(TINY["n_audio_layer"], TINY["n_audio_head"], TINY["n_text_layer"],
                                    TINY["n_text_head"])
    linear(spec.encoder.conv1, "encoder.conv1")
    linear(spec.encoder.conv2, "encoder.conv2")
    spec.encoder.position_encodings.encodings = np_("encoder.positional_embedding")
    norm(spec.encoder.layer_norm, "encoder.ln_post")
    for i, layer in enumerate(spec.encoder.layer):
        block = f"encoder.blocks.{i}"
        stacked(layer.self_attention.linear[0], f"{block}.attn", ("query", "key", "value"))
        linear(layer.self_attention.linear[1], f"{block}.attn.out")
        norm(layer.self_attention.layer_norm, f"{block}.attn_ln")
        linear(layer.ffn.linear_0, f"{block}.mlp.0")
        linear(layer.ffn.linear_1, f"{block}.mlp.2")
        norm(layer.ffn.layer_norm, f"{block}.mlp_ln")
    spec.decoder.embeddings.weight = np_("decoder.token_embedding.weight")
    spec.decoder.projection.weight = np_("decoder.token_embedding.weight")
    spec.decoder.position_encodings.encodings = np_("decoder.positional_embedding")
    norm(spec.decoder.layer_norm, "decoder.ln")
    for i, layer in enumerate(spec.decoder.layer):
        block = f"decoder.blocks.{i}"
        stacked(layer.self_attention.linear[0], f"{block}.attn", ("query", "key", "value"))
        linear(layer.self_attention.linear[1], f"{block}.attn.out")
        norm(layer.self_attention.layer_norm, f"{block}.attn_ln")
        linear(layer.attention.linear[0], f"{block}.cross_attn.query")
        stacked(layer.attention.linear[1], f"{block}.cross_attn", ("key", "value"))
        linear(layer.attention.linear[2], f"{block}.cross_attn.out")
        norm(layer.attention.layer_norm, f"{block}.cross_attn_ln")
        linear(layer.ffn.linear_0, f"{block}.mlp.0")
        linear(layer.ffn.linear_1, f"{block}.mlp.2")
        norm(layer.ffn.layer_norm, f"{block}.mlp_ln")
    spec.register_vocabulary([f"t{i}" for i in range(TINY["n_vocab"])])
    spec.config.alignment_heads = [(1, 0), (1, 1)]
    spec.validate()
    spec.optimize(quantization=quantization)
    target.mkdir()
    spec.save(str(target))
    return target


@pytest.fixture(scope="module")
def tiny() -> dict[str, torch.Tensor]:
    return _random_whisper()


@pytest.mark.parametrize(("quantization", "stored", "tolerance"), [
    ("float32", "float32", 0.0),
    ("float16", "float16", 2e-3),  # relative: float16 keeps 11 bits
    ("int8", "int8", 1 / 127),  # relative to the largest value of the row: one quantisation step
])
def test_round_trip_through_ctranslate2_files(tiny: dict[str, torch.Tensor], tmp_path: Path, quantization: str,
                                              stored: str, tolerance: float) -> None:
    from whisper.model import ModelDimensions, Whisper

    model_dir = _write_ct2(tiny, tmp_path / "tiny", quantization)
    assert read_ctranslate2(model_dir / "model.bin").weight_dtype == stored
    made = to_checkpoint(model_dir)
    assert made["dims"] == TINY
    state = made["model_state_dict"]
    Whisper(ModelDimensions(**TINY)).load_state_dict(state, strict=True)
    assert state.keys() == tiny.keys()
    for name, expected in tiny.items():
        got = state[name]
        assert got.dtype == torch.float32 and got.shape == expected.shape, name
        if tolerance == 0:
            assert torch.equal(got, expected), name
        elif quantization == "int8" and expected.ndim >= 2 and name.endswith("weight"):
            rows = expected.reshape(expected.shape[0], -1)
            step = rows.abs().amax(dim=1, keepdim=True) * tolerance
            assert ((got.reshape(rows.shape) - rows).abs() <= step).all(), name
        else:
            assert torch.allclose(got, expected, rtol=tolerance, atol=1e-6), name
    mask = np.frombuffer(gzip.decompress(base64.b85decode(made["alignment_heads"])), dtype=bool)
    assert np.argwhere(mask.reshape(2, 2)).tolist() == [[1, 0], [1, 1]]


def test_refuses_what_it_cannot_read(tiny: dict[str, torch.Tensor], tmp_path: Path) -> None:
    model_dir = _write_ct2(tiny, tmp_path / "tiny", "float32")
    model_bin = model_dir / "model.bin"
    data = model_bin.read_bytes()
    model_bin.write_bytes(data[: len(data) // 2])
    with pytest.raises(ConversionError, match="truncated"):
        to_checkpoint(model_dir)
    model_bin.write_bytes((99).to_bytes(4, "little") + data[4:])
    with pytest.raises(ConversionError, match="binary version 99"):
        to_checkpoint(model_dir)
    with pytest.raises(ConversionError, match="no model.bin"):
        to_checkpoint(tmp_path / "nothing")


# --- ecoute models convert ---------------------------------------------------------------------------------


def _ecoute(data_dir: Path, model_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "ECOUTE_DATA_DIR": str(data_dir), "ECOUTE_ENV": "test",
           "ECOUTE_SECRET_KEY": "k", "ECOUTE_WHISPER_MODEL_DIR": str(model_dir)}
    return subprocess.run([ECOUTE, *args], env=env, capture_output=True, text=True, timeout=120, check=False)


def test_cli_convert_writes_once(model_dir: Path, checkpoint: dict[str, Any], tmp_path: Path) -> None:
    target = tmp_path / "out" / "base.pt"
    done = _ecoute(tmp_path, model_dir, "models", "convert", "--to", str(target))
    assert done.returncode == 0, done.stderr
    assert f"written to {target}" in done.stdout
    written = load_checkpoint(target)
    assert written["dims"] == BASE_DIMS
    assert torch.equal(written["model_state_dict"]["decoder.ln.weight"],
                       checkpoint["model_state_dict"]["decoder.ln.weight"])
    first = (target.stat().st_mtime_ns, target.stat().st_ino)

    again = _ecoute(tmp_path, model_dir, "models", "convert", "--from", str(model_dir), "--to", str(target))
    assert again.returncode == 0, again.stderr
    assert "nothing to do" in again.stdout
    assert (target.stat().st_mtime_ns, target.stat().st_ino) == first
    assert sorted(p.name for p in target.parent.iterdir()) == ["base.pt"]


def test_cli_convert_default_target_and_errors(model_dir: Path, tmp_path: Path) -> None:
    # Without --to: ECOUTE_WHISPER_CHECKPOINT, by default openai-whisper.pt in the model directory; here the
    # model directory is empty, so the command says how to get a model.
    empty = tmp_path / "no-model"
    empty.mkdir()
    missing = _ecoute(tmp_path, empty, "models", "convert")
    assert missing.returncode == 1
    assert "ecoute models install" in missing.stderr
    assert list(empty.iterdir()) == []
    (empty / "model.bin").write_bytes(b"\x06\x00\x00\x00garbage")
    broken = _ecoute(tmp_path, empty, "models", "convert")
    assert broken.returncode == 1
    assert "cannot convert" in broken.stderr
    assert sorted(p.name for p in empty.iterdir()) == ["model.bin"]
