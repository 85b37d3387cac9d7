"""Short sounds a guard tells apart without looking: accepted, accepted with a certificate
not to be trusted, repeat, rejected.

The tones are made with the standard ``wave`` module when the app starts (no binary
files in the repository), written once to the app's cache directory and played with
Kivy's SoundLoader. A kiosk without a sound device, or with a broken one, stays silent
and keeps working, and says so in one line of its own: a kiosk without a loudspeaker is
normal, so Kivy's CRITICAL "Unable to open mixer" (and its warning for each sound after
it) would send an admin reading the journal after a problem that is not there. Hence the
device is looked for first (an ALSA card, a sound server's socket, or ``SDL_AUDIODRIVER``
set on purpose), and while the sounds load a filter keeps Kivy's mixer failure at DEBUG.
"""

from __future__ import annotations

import io
import logging
import math
import os
import struct
import wave
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kiosk.messages import render_both
from kiosk.private import PRIVATE_FILE, private_dir, write_private

log = logging.getLogger(__name__)

ALSA_CARDS = Path("/proc/asound/cards")  # " 0 [vc4hdmi0 ]: vc4-hdmi - …" per card, or "--- no soundcards ---"
SOUND_SERVERS = ("pulse/native", "pipewire-0")  # sockets in $XDG_RUNTIME_DIR of a desktop session
KIVY_MIXER_FAILED = "Unable to open mixer"

RATE = 22050
# (frequency Hz, seconds, square wave?) per beep; silence of GAP_S between beeps.
TONES: dict[str, list[tuple[float, float, bool]]] = {
    "accepted": [(1320.0, 0.12, False)],  # one short high beep
    "certificate": [(1320.0, 0.1, False), (330.0, 0.15, True), (330.0, 0.15, True)],  # recorded, then two low buzzes
    "repeat": [(880.0, 0.09, False), (880.0, 0.09, False)],  # two medium beeps
    "rejected": [(220.0, 0.45, True)],  # a long low buzz
}
GAP_S = 0.07
VOLUME = 0.6


def tone_wav(beeps: list[tuple[float, float, bool]]) -> bytes:
    """A mono 16-bit WAV of the beeps, with 5 ms fades so they do not click."""
    samples: list[int] = []
    fade = int(RATE * 0.005)
    for index, (freq, seconds, square) in enumerate(beeps):
        if index:
            samples.extend([0] * int(RATE * GAP_S))
        count = int(RATE * seconds)
        for i in range(count):
            wave_value = math.sin(2 * math.pi * freq * i / RATE)
            if square:
                wave_value = 0.6 if wave_value >= 0 else -0.6
            envelope = min(1.0, i / fade, (count - 1 - i) / fade)
            samples.append(int(32767 * VOLUME * wave_value * envelope))
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(struct.pack(f"<{len(samples)}h", *samples))
    return out.getvalue()


def sound_device_present(environ: Mapping[str, str] = os.environ, cards: Path = ALSA_CARDS) -> bool:
    """Whether there is anything for SDL to play on: a driver chosen explicitly (``dummy`` in
    tests), an ALSA sound card, or a PulseAudio/PipeWire server of this session."""
    if environ.get("SDL_AUDIODRIVER"):
        return True
    try:
        if any(line[:3].strip().isdigit() for line in cards.read_text(encoding="ascii", errors="replace").splitlines()):
            return True
    except OSError:  # no /proc/asound: a kernel or container without sound
        pass
    runtime = environ.get("XDG_RUNTIME_DIR")
    if not runtime:
        return False
    return any((Path(runtime) / name).exists() for name in SOUND_SERVERS)


class MixerFailure(logging.Filter):
    """On Kivy's logger while the sounds load: its mixer failure, and the "Unable to load"
    warning for each sound after it, go to DEBUG; ``failed`` says whether there was one."""

    def __init__(self) -> None:
        super().__init__()
        self.failed = False

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if KIVY_MIXER_FAILED in message or (self.failed and "Unable to load" in message):
            self.failed = True
            log.debug("kivy: %s", message)
            return False
        return True


class Sounds:
    """Plays the sound for a result status; silent when disabled or without a device."""

    def __init__(self, cache_dir: Path, enabled: bool = True) -> None:
        self._sounds: dict[str, Any] = {}
        if not enabled:
            return
        if not sound_device_present():
            log.warning("Sounds: %s", render_both("sounds_no_device"))  # Kivy shows "Sounds:" as its [tag]
            return
        from kivy.logger import Logger

        mixer = MixerFailure()
        Logger.addFilter(mixer)
        try:
            from kivy.core.audio import SoundLoader

            private_dir(cache_dir)  # in the data directory, where doctor wants everything the kiosk user's only
            for name, beeps in TONES.items():
                path = cache_dir / f"{name}.wav"
                data = tone_wav(beeps)
                if not path.is_file() or path.read_bytes() != data:
                    write_private(path, data)
                else:
                    path.chmod(PRIVATE_FILE)  # one written by an older version
                self._sounds[name] = SoundLoader.load(str(path))
        except Exception as exc:  # no sound is better than no kiosk
            log.warning("sounds off: %s", exc)
        finally:
            Logger.removeFilter(mixer)
        if mixer.failed:
            self._sounds.clear()
            log.warning("Sounds: %s", render_both("sounds_no_device"))  # Kivy shows "Sounds:" as its [tag]

    def play(self, status: str) -> None:
        sound = self._sounds.get(status)
        if sound is None:
            return
        try:
            sound.stop()
            sound.play()
        except Exception as exc:  # a sound device that vanished must not stop scanning
            log.warning("sound failed: %s", exc)
