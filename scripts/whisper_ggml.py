#!/usr/bin/env python3
"""Converts a Whisper model in CTranslate2's format (model.bin,
vocabulary.txt) into the ggml file whisper.cpp loads.

    whisper_ggml.py MODEL_DIR OUT.bin

Only the standard library: the weights are copied as they are stored
(float16 or float32), the fused attention projections are split back into
query, key and value, and the mel filter bank whisper.cpp expects in the
file is computed here the way librosa computes it (Slaney scale and norm).
"""

import math
import struct
import sys
from pathlib import Path

GGML_MAGIC = 0x67676D6C
# CTranslate2's DataType ids, with their struct format and byte size.
CT2_TYPES = {0: ("f", 4), 1: ("b", 1), 2: ("h", 2), 3: ("i", 4), 4: ("e", 2)}
FLOAT32, FLOAT16 = 0, 4
SAMPLE_RATE, N_FFT = 16000, 400


def read_ct2(path):
    """The variables of a CTranslate2 model.bin: name -> (shape, dtype, bytes)."""
    data = Path(path).read_bytes()
    pos = 0

    def take(fmt):
        nonlocal pos
        values = struct.unpack_from("<" + fmt, data, pos)
        pos += struct.calcsize("<" + fmt)
        return values

    def string():
        nonlocal pos
        (n,) = take("H")
        s = data[pos : pos + n].rstrip(b"\0").decode()
        pos += n
        return s

    (version,) = take("I")
    if version < 5:
        sys.exit(f"model.bin version {version} is too old (5 or newer is read)")
    spec = string()
    if spec != "WhisperSpec":
        sys.exit(f"model.bin holds a {spec}, not a Whisper model")
    take("I")  # spec revision
    (count,) = take("I")
    variables = {}
    for _ in range(count):
        name = string()
        (rank,) = take("B")
        shape = take("I" * rank)
        (dtype,) = take("B")
        (size,) = take("I")
        variables[name] = (shape, dtype, data[pos : pos + size])
        pos += size
    (aliases,) = take("I")
    for _ in range(aliases):
        alias, target = string(), string()
        variables[alias] = variables[target]
    return variables


def scalar(variables, name):
    shape, dtype, raw = variables[name]
    fmt, _ = CT2_TYPES[dtype]
    return struct.unpack("<" + fmt, raw)[0]


def as_f32(dtype, raw):
    """Little-endian float32 bytes of a float16 or float32 tensor."""
    if dtype == FLOAT32:
        return raw
    if dtype != FLOAT16:
        sys.exit("quantized (int8) CTranslate2 weights cannot be converted; use a float16 model")
    n = len(raw) // 2
    return struct.pack(f"<{n}f", *struct.unpack(f"<{n}e", raw))


def as_f16(dtype, raw):
    if dtype == FLOAT16:
        return raw
    if dtype != FLOAT32:
        sys.exit("quantized (int8) CTranslate2 weights cannot be converted; use a float16 model")
    n = len(raw) // 4
    return struct.pack(f"<{n}e", *struct.unpack(f"<{n}f", raw))


def rows(variable, start, stop):
    """Rows start..stop of a 2-D (or 1-D) tensor."""
    shape, dtype, raw = variable
    _, size = CT2_TYPES[dtype]
    width = (shape[1] if len(shape) > 1 else 1) * size
    new_shape = (stop - start,) + tuple(shape[1:])
    return new_shape, dtype, raw[start * width : stop * width]


def hz_to_mel(f):
    f_sp, min_log_hz, logstep = 200.0 / 3, 1000.0, math.log(6.4) / 27.0
    if f < min_log_hz:
        return f / f_sp
    return min_log_hz / f_sp + math.log(f / min_log_hz) / logstep


def mel_to_hz(m):
    f_sp, min_log_hz, logstep = 200.0 / 3, 1000.0, math.log(6.4) / 27.0
    min_log_mel = min_log_hz / f_sp
    if m < min_log_mel:
        return f_sp * m
    return min_log_hz * math.exp(logstep * (m - min_log_mel))


def mel_filters(n_mels):
    """librosa.filters.mel(sr=16000, n_fft=400, n_mels=n_mels), row-major."""
    bins = N_FFT // 2 + 1
    fft_freqs = [i * (SAMPLE_RATE / 2) / (bins - 1) for i in range(bins)]
    top = hz_to_mel(SAMPLE_RATE / 2)
    mel_f = [mel_to_hz(top * i / (n_mels + 1)) for i in range(n_mels + 2)]
    weights = []
    for i in range(n_mels):
        enorm = 2.0 / (mel_f[i + 2] - mel_f[i])
        for f in fft_freqs:
            lower = (f - mel_f[i]) / (mel_f[i + 1] - mel_f[i])
            upper = (mel_f[i + 2] - f) / (mel_f[i + 2] - mel_f[i + 1])
            weights.append(max(0.0, min(lower, upper)) * enorm)
    return bins, weights


def vocabulary(model_dir):
    """The byte strings of the ordinary tokens (those before <|endoftext|>),
    undoing GPT-2's byte-to-character mapping."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    char_to_byte = {chr(b): b for b in printable}
    extra = 0
    for b in range(256):
        if b not in printable:
            char_to_byte[chr(256 + extra)] = b
            extra += 1
    tokens = []
    for line in (Path(model_dir) / "vocabulary.txt").read_text(encoding="utf-8").split("\n"):
        if line == "<|endoftext|>":
            return tokens
        tokens.append(bytes(char_to_byte[c] for c in line if c in char_to_byte))
    sys.exit("vocabulary.txt has no <|endoftext|> token")


def convert(model_dir, out_path):
    v = read_ct2(Path(model_dir) / "model.bin")
    n_vocab, n_state = v["decoder/embeddings/weight"][0]
    n_audio_ctx = v["encoder/position_encodings/encodings"][0][0]
    n_text_ctx = v["decoder/position_encodings/encodings"][0][0]
    n_mels = v["encoder/conv1/weight"][0][1]
    layers = lambda side: len({k.split("/")[1] for k in v
                               if k.startswith(f"{side}/layer_") and k.split("/")[1][6:].isdigit()})
    n_audio_layer, n_text_layer = layers("encoder"), layers("decoder")
    heads = lambda side: scalar(v, f"{side}/num_heads") if f"{side}/num_heads" in v else n_state // 64

    tensors = []  # (ggml name, (shape, dtype, raw), store as f16)

    def put(name, variable, f16):
        tensors.append((name, variable, f16))

    put("encoder.positional_embedding", v["encoder/position_encodings/encodings"], False)
    for i in (1, 2):
        put(f"encoder.conv{i}.weight", v[f"encoder/conv{i}/weight"], True)
        shape, dtype, raw = v[f"encoder/conv{i}/bias"]
        put(f"encoder.conv{i}.bias", ((shape[0], 1), dtype, raw), False)
    put("encoder.ln_post.weight", v["encoder/layer_norm/gamma"], False)
    put("encoder.ln_post.bias", v["encoder/layer_norm/beta"], False)
    put("decoder.positional_embedding", v["decoder/position_encodings/encodings"], False)
    put("decoder.token_embedding.weight", v["decoder/embeddings/weight"], True)
    put("decoder.ln.weight", v["decoder/layer_norm/gamma"], False)
    put("decoder.ln.bias", v["decoder/layer_norm/beta"], False)

    def linear(prefix, ct2):
        put(f"{prefix}.weight", v[f"{ct2}/weight"], True)
        put(f"{prefix}.bias", v[f"{ct2}/bias"], False)

    def norm(prefix, ct2):
        put(f"{prefix}.weight", v[f"{ct2}/gamma"], False)
        put(f"{prefix}.bias", v[f"{ct2}/beta"], False)

    def split(prefix, ct2, names):
        """A fused projection back into its parts; Whisper's keys have no bias."""
        w, b = v[f"{ct2}/weight"], v[f"{ct2}/bias"]
        for k, name in enumerate(names):
            put(f"{prefix}.{name}.weight", rows(w, k * n_state, (k + 1) * n_state), True)
            if name != "key":
                put(f"{prefix}.{name}.bias", rows(b, k * n_state, (k + 1) * n_state), False)

    for side, count in (("encoder", n_audio_layer), ("decoder", n_text_layer)):
        for i in range(count):
            ct2, g = f"{side}/layer_{i}", f"{side}.blocks.{i}"
            norm(f"{g}.attn_ln", f"{ct2}/self_attention/layer_norm")
            split(f"{g}.attn", f"{ct2}/self_attention/linear_0", ["query", "key", "value"])
            linear(f"{g}.attn.out", f"{ct2}/self_attention/linear_1")
            if side == "decoder":
                norm(f"{g}.cross_attn_ln", f"{ct2}/attention/layer_norm")
                linear(f"{g}.cross_attn.query", f"{ct2}/attention/linear_0")
                split(f"{g}.cross_attn", f"{ct2}/attention/linear_1", ["key", "value"])
                linear(f"{g}.cross_attn.out", f"{ct2}/attention/linear_2")
            norm(f"{g}.mlp_ln", f"{ct2}/ffn/layer_norm")
            linear(f"{g}.mlp.0", f"{ct2}/ffn/linear_0")
            linear(f"{g}.mlp.2", f"{ct2}/ffn/linear_1")

    tmp = Path(str(out_path) + ".part")
    with open(tmp, "wb") as out:
        out.write(struct.pack("<I", GGML_MAGIC))
        hparams = [n_vocab, n_audio_ctx, n_state, heads("encoder"), n_audio_layer,
                   n_text_ctx, n_state, heads("decoder"), n_text_layer, n_mels, 1]
        out.write(struct.pack("<11i", *hparams))
        bins, filters = mel_filters(n_mels)
        out.write(struct.pack("<ii", n_mels, bins))
        out.write(struct.pack(f"<{len(filters)}f", *filters))
        tokens = vocabulary(model_dir)
        out.write(struct.pack("<i", len(tokens)))
        for t in tokens:
            out.write(struct.pack("<i", len(t)) + t)
        for name, (shape, dtype, raw), f16 in tensors:
            payload = as_f16(dtype, raw) if f16 else as_f32(dtype, raw)
            encoded = name.encode()
            out.write(struct.pack("<iii", len(shape), len(encoded), 1 if f16 else 0))
            out.write(struct.pack(f"<{len(shape)}i", *reversed(shape)))
            out.write(encoded)
            out.write(payload)
    tmp.replace(out_path)
    print(f"whisper_ggml: {out_path}: {n_audio_layer} layers, {n_state} wide, "
          f"{n_vocab} tokens, {len(tensors)} tensors")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    convert(sys.argv[1], sys.argv[2])
