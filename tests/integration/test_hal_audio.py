"""Simulated audio: the tone microphone and the counting speaker."""

import asyncio
import math

import numpy as np
import pytest
from aiortc.mediastreams import MediaStreamError

from hal.audio import PTIME, SAMPLE_RATE, SpeakerSink, ToneTrack, open_microphone, open_speaker

pytestmark = pytest.mark.timeout(20)


async def test_tone_track_gives_20_ms_frames_at_48_khz_with_the_expected_level():
    track = ToneTrack(frequency=440, level=0.1)
    frames = [await track.recv() for _ in range(5)]
    for i, frame in enumerate(frames):
        samples = frame.to_ndarray()
        assert frame.sample_rate == SAMPLE_RATE and frame.format.name == "s16" and frame.layout.name == "mono"
        assert samples.shape == (1, int(SAMPLE_RATE * PTIME)) == (1, 960)
        assert frame.pts == i * 960 and frame.time_base == frame.time_base.__class__(1, SAMPLE_RATE)
        rms = float(np.sqrt(np.mean((samples.astype(np.float64) / 32768) ** 2)))
        assert rms == pytest.approx(0.1 / math.sqrt(2), rel=0.02)    # a sine's RMS is peak / sqrt(2)
    # One continuous wave: no jump where two frames meet.
    wave = np.concatenate([f.to_ndarray()[0] for f in frames]).astype(np.int32)
    assert np.abs(np.diff(wave)).max() < 0.1 * 32767 * 2 * math.pi * 440 / SAMPLE_RATE * 1.05
    track.stop()
    with pytest.raises(MediaStreamError):
        await track.recv()


async def test_tone_is_one_seamless_wave_past_its_first_second():
    # The tone loops over one computed second: the join must not click.
    track = ToneTrack(frequency=440, level=0.2)
    frames = [await track.recv() for _ in range(52)]           # 1.04 s, paced in real time
    track.stop()
    wave = np.concatenate([f.to_ndarray()[0] for f in frames]).astype(np.int32)
    assert len(wave) > SAMPLE_RATE
    assert np.abs(np.diff(wave)).max() < 0.2 * 32767 * 2 * math.pi * 440 / SAMPLE_RATE * 1.05
    assert [f.pts for f in frames] == [i * 960 for i in range(52)]


async def test_speaker_sink_counts_frames_and_measures_the_level():
    sink = SpeakerSink()
    track = ToneTrack(level=0.25)
    sink.play(track)
    try:
        await sink.wait_frames(10, timeout=5)
    finally:
        sink.stop()
    assert sink.frames >= 10
    assert sink.peak_rms == pytest.approx(0.25 / math.sqrt(2), rel=0.02)
    assert sink.last_rms == pytest.approx(sink.peak_rms, rel=0.02)


async def test_speaker_sink_stops_at_the_end_of_a_track():
    sink = SpeakerSink()
    track = ToneTrack()
    sink.play(track)
    await sink.wait_frames(2, timeout=5)
    track.stop()                                            # the remote hung up
    await asyncio.wait_for(sink._task, 5)                   # the consumer ends by itself, no error
    assert sink.frames >= 2


def test_simulated_devices_by_name():
    assert isinstance(open_microphone("tone"), ToneTrack)
    assert isinstance(open_speaker("sink"), SpeakerSink)


async def test_a_microphone_that_cannot_be_opened_is_reported_and_sends_silence(caplog):
    track = open_microphone("alsa:no-such-card-9")
    frame = await asyncio.wait_for(track.recv(), 5)
    assert not frame.to_ndarray().any()                     # silence, at the call's pace
    assert "microphone 'alsa:no-such-card-9' cannot be opened" in caplog.text
    track.stop()


async def test_a_speaker_that_cannot_be_opened_is_reported_once_and_the_call_goes_on(caplog):
    speaker = open_speaker("alsa:no-such-card-9")
    tone = ToneTrack()
    speaker.play(tone)
    await speaker.wait_frames(5, timeout=5)                 # still consumed after the failure
    speaker.stop()
    assert caplog.text.count("speaker alsa:no-such-card-9 cannot play") == 1
    assert tone.readyState == "live"                        # the call's track is not torn down
    tone.stop()

