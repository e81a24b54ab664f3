"""`kws record`: a guided session that records takes of your own wake word from a microphone into 1 s clips."""

from __future__ import annotations

import queue
import time
from pathlib import Path

import numpy as np

from ..errors import KwsError
from ..microphone import load_sounddevice, next_block, open_input
from .clips import (CLIP_SAMPLES, SAMPLE_RATE, clip_around, loudest, quiet_part, save_clip, segments, speaker_id,
                    word_folder)

MIN_PEAK_DB = -30.0  # a take whose loudest sample is below this is too quiet
MAX_CLIPPED = 4  # a take with more samples than this at full scale is clipped
TAKES = 20  # `kws record`'s takes per session


def check_take(raw: np.ndarray, rate: int) -> tuple[np.ndarray, tuple[int, int] | None, str | None]:
    """A take (int16 at `rate`) as 16 kHz float, with the word's span in it, or None and why the take is no good."""
    peak = int(np.max(np.abs(raw.astype(np.int32)))) if len(raw) else 0
    audio = raw.astype(np.float32) / 32768
    if rate != SAMPLE_RATE:
        import soxr

        audio = soxr.resample(audio, rate, SAMPLE_RATE).astype(np.float32)
    peak_db = 20 * np.log10(max(peak / 32768, 1e-6))
    if peak_db < MIN_PEAK_DB:
        return audio, None, f"too quiet (peak {peak_db:.0f} dBFS): speak louder or move closer to the microphone"
    clipped = int(np.sum(np.abs(raw.astype(np.int32)) >= 32767))
    if clipped > MAX_CLIPPED:
        return audio, None, f"clipped ({clipped} samples at full scale): speak softer or move back from the microphone"
    spans = segments(audio)
    if not spans:
        return audio, None, "no word stands out from the background noise: speak louder, or record somewhere quieter"
    start, end = loudest(audio, spans)
    if end - start > CLIP_SAMPLES:
        return audio, None, f"{(end - start) / SAMPLE_RATE:.1f} s of sound without a pause: say just the word, once"
    return audio, (start, end), None


def record_session(word, out_dir, count=TAKES, device=None, speaker=None, seconds_per_take=2.0, ask=input, say=print,
                   countdown_step=0.5, max_tries=3) -> list[Path]:
    """Record `count` takes of `word`: for each, a prompt (answer q to stop), a 3-2-1 countdown of `countdown_step`
    seconds a step, `seconds_per_take` of audio, a level check (too quiet, clipped or no clear word: say why and
    try again, at most `max_tries` times, then skip the take), then 1 s centred on the word saved under
    OUT/WORD/ as `<speaker>_nohash_<n>.wav`, numbered on from the speaker's existing clips. `speaker` is an 8-hex
    id or a name (hashed to one, the same each time); by default a random id for the session. Returns the paths
    (a take identical to a clip already there is not saved again)."""
    folder = word_folder(out_dir, word)
    speaker = speaker_id(speaker)
    sd = load_sounddevice()
    blocks: queue.Queue = queue.Queue()
    left = 0  # samples the running take still needs

    def callback(data, frames, timing, status):
        nonlocal left
        blocks.put(data[:, 0].copy())
        left -= frames
        if left <= 0:
            raise sd.CallbackStop  # stop exactly here, so that nothing is read past the take

    stream, rate, name = open_input(sd, device, SAMPLE_RATE, callback)
    need = round(seconds_per_take * rate)

    def capture() -> np.ndarray:
        nonlocal left
        left, got = need, []
        stream.start()
        try:
            while sum(map(len, got)) < need:
                got.append(next_block(blocks, name))
        finally:
            stream.stop()
        return np.concatenate(got)[:need]

    say(f"recording {count} take(s) of {word!r} from {name!r} ({rate} Hz) as speaker {speaker} into {folder}")
    written = []
    try:
        for take in range(1, count + 1):
            for attempt in range(1, max_tries + 1):
                try:
                    answer = ask(f"take {take}/{count}: press Enter, then say {word!r} after the beep (q to stop) ")
                except EOFError:
                    answer = "q"
                if answer.strip().lower() == "q":
                    say(f"stopped after {len(written)} saved take(s)")
                    return written
                for n in (3, 2, 1):
                    say(f"  {n}...")
                    time.sleep(countdown_step)
                say("  beep - speak now")
                audio, span, problem = check_take(capture(), rate)
                if problem is None:
                    path = save_clip(clip_around(audio, *span, quiet_part(audio)), folder, speaker)
                    if path is None:
                        say("  the same as a clip already there: not saved again")
                    else:
                        written.append(path)
                        say(f"  saved {path.name}")
                    break
                say(f"  {problem}" + (" - once more" if attempt < max_tries else ""))
            else:
                say(f"  skipping take {take} after {max_tries} tries")
    except sd.PortAudioError as e:
        raise KwsError(f"audio input {name!r} failed ({e}); check the device and try again") from None
    finally:
        stream.close()
    return written
