"""Microphone and speaker as call media tracks.

On a Pi the microphone and speaker are ALSA or PulseAudio devices, opened through
aiortc's media helpers (FFmpeg via PyAV). Simulated, the microphone is a quiet
tone (so a resident's browser has something to hear and tests can measure it) and
the speaker is a sink that counts what arrived and how loud it was.
"""

from __future__ import annotations

import asyncio
import fractions
import logging
import math
import time

import av
import numpy as np
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, MediaStreamTrack

log = logging.getLogger(__name__)

SAMPLE_RATE = 48000
PTIME = 0.020


class ToneTrack(AudioStreamTrack):
    """A steady sine tone, paced in real time like a microphone."""

    def __init__(self, frequency: int = 440, level: float = 0.1):
        super().__init__()
        self.frequency, self.level = int(frequency), level
        self._samples = int(SAMPLE_RATE * PTIME)
        self._start: float | None = None
        self._pts = 0
        # One second of the wave, computed once: a whole number of cycles, so it loops
        # without a seam. (A sine per frame cost 2 % of a core on the event loop.)
        t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
        second = (np.sin(2 * math.pi * self.frequency * t) * level * 32767).astype(np.int16)
        self._wave = np.concatenate([second, second[:self._samples]])     # a frame may wrap

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()    # not the wall clock: an NTP step must not stall the tone
        else:
            self._pts += self._samples
            wait = self._start + self._pts / SAMPLE_RATE - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        at = self._pts % SAMPLE_RATE
        wave = self._wave[at:at + self._samples]
        frame = av.AudioFrame.from_ndarray(wave.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, SAMPLE_RATE)
        return frame


def rms(frame: av.AudioFrame) -> float:
    """Root mean square of a 16-bit frame, 0..1 (full scale). Integer sum of squares: a
    few microseconds a frame, run 50 times a second on the event loop."""
    samples = frame.to_ndarray().ravel().astype(np.int64)
    return math.sqrt(int(samples @ samples) / samples.size) / 32768 if samples.size else 0.0


class SpeakerSink:
    """Consumes a remote audio track: counts frames and remembers the loudest level,
    so the emulator and tests can tell that the resident was heard."""

    def __init__(self):
        self.frames = 0
        self.peak_rms = 0.0
        self.last_rms = 0.0
        self._task: asyncio.Task | None = None
        self._arrived: asyncio.Event | None = None

    def play(self, track: MediaStreamTrack) -> None:
        self.stop()
        self._task = asyncio.ensure_future(self._consume(track))

    async def wait_frames(self, count: int, timeout: float | None = None) -> None:
        """Until `count` frames in all have arrived."""
        async with asyncio.timeout(timeout):
            while self.frames < count:
                if self._arrived is None:
                    self._arrived = asyncio.Event()
                await self._arrived.wait()

    async def _consume(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                self.last_rms = rms(frame)
                self.frames += 1
                self.peak_rms = max(self.peak_rms, self.last_rms)
                self._out(frame)
                if self._arrived is not None:
                    self._arrived.set()
                    self._arrived = None
        except MediaStreamError:
            pass

    def _out(self, frame: av.AudioFrame) -> None:
        """Where a frame goes after it is measured: nowhere for the simulated speaker."""

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None


class DeviceSpeaker(SpeakerSink):
    """A real speaker (ALSA "default", or PulseAudio) through PyAV, FFmpeg's output
    devices, as aiortc's MediaRecorder writes them; counted like the SpeakerSink.

    A device that cannot be opened or fails mid-call (unplugged, busy) is reported
    once per call and the rest of the call goes on: the track is still consumed."""

    def __init__(self, device: str = "default", backend: str = "alsa"):
        super().__init__()
        self.device, self.backend = device, backend
        self._container = None
        self._stream = None
        self._failed = False

    def play(self, track: MediaStreamTrack) -> None:
        self._failed = False
        super().play(track)

    def _out(self, frame: av.AudioFrame) -> None:
        if self._failed:
            return
        try:
            if self._container is None:
                self._container = av.open(self.device, format=self.backend, mode="w")
                self._stream = self._container.add_stream("pcm_s16le", rate=frame.sample_rate)
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
        except Exception as e:
            log.warning("speaker %s:%s cannot play (%s): the visitor will not hear the resident",
                        self.backend, self.device, e)
            self._failed = True
            self._close()

    def _close(self) -> None:
        if self._container is not None:
            try:
                self._container.close()
            except Exception:
                pass
            self._container = self._stream = None

    def stop(self) -> None:
        super().stop()
        self._close()


def open_microphone(source: str) -> MediaStreamTrack:
    """"tone" (simulated), or "alsa:DEVICE" / "pulse:DEVICE" for a real microphone.

    A microphone that cannot be opened (unplugged, busy) is reported and replaced by
    silence, so the call still has the visitor's video and the resident's voice."""
    if source == "tone":
        return ToneTrack()
    backend, _, device = source.partition(":")
    from aiortc.contrib.media import MediaPlayer
    try:
        player = MediaPlayer(device or "default", format=backend, options={"channels": "1"})
        if player.audio is None:
            raise RuntimeError("it gave no audio track")
        return player.audio
    except Exception as e:
        log.warning("microphone %r cannot be opened (%s): the resident will not hear the visitor", source, e)
        return AudioStreamTrack()       # aiortc's silence, paced like a microphone


def open_speaker(sink: str):
    """"sink" (simulated: counts what arrives), or "alsa:DEVICE" / "pulse:DEVICE"."""
    if sink == "sink":
        return SpeakerSink()
    backend, _, device = sink.partition(":")
    return DeviceSpeaker(device or "default", backend)
