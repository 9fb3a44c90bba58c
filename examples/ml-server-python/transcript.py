"""A deterministic, transcript-shaped result computed from the downloaded bytes.

The same video always gives the same transcript, and different videos differ; nothing here listens
to the audio. It produces, number for number, what the TypeScript reference server produces
(examples/ml-server/src/transcript.ts) for the same bytes, in the shapes the real WhisperX server
sends (openapi/v1.1/backend.yaml, `MlResult`; docs/results.md).

Run as a script, it prints the v1.1 result for a digest: ``python3 transcript.py SIZE SHA256 [FILENAME [LANGUAGE]]``.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable, Dict, List, Optional

MODEL_VERSION = "reference-python-1.0"

# A pretend bitrate of 2 Mbit/s, so a 60-minute video is about 900 MB.
_BYTES_PER_SECOND = 250_000
_MIN_DURATION = 8
# The longest video the ML server takes: 60 minutes (docs/limits.md).
_MAX_DURATION = 3600
_U32 = 0xFFFFFFFF

VOCABULARY = [
    "you", "know", "we", "should", "all", "go", "see", "a", "musical", "the", "video", "is", "really",
    "good", "I", "think", "that", "was", "great", "maybe", "tomorrow", "again", "with", "friends",
    "music", "sounds", "nice", "let", "us", "talk", "about", "it", "later", "okay", "yes", "right",
]


@dataclass
class VideoDigest:
    """What the download leaves behind: enough to seed the transcript without keeping the video."""

    size: int
    sha256: str


@dataclass
class DigestBuilder:
    """Incremental digest, so a 2 GB video never sits in memory."""

    size: int = 0
    _hash: Any = field(default_factory=hashlib.sha256)

    def update(self, chunk: bytes) -> None:
        self._hash.update(chunk)
        self.size += len(chunk)

    def digest(self) -> VideoDigest:
        return VideoDigest(self.size, self._hash.hexdigest())


def _prng(seed: int) -> Callable[[], float]:
    """mulberry32 in unsigned 32-bit arithmetic: the same sequence as the TypeScript reference."""
    state = seed & _U32

    def imul(x: int, y: int) -> int:
        return (x * y) & _U32

    def next_value() -> float:
        nonlocal state
        state = (state + 0x6D2B79F5) & _U32
        t = state
        t = imul(t ^ (t >> 15), t | 1)
        t ^= (t + imul(t ^ (t >> 7), t | 61)) & _U32
        return ((t ^ (t >> 14)) & _U32) / 4294967296

    return next_value


def _round(value: float, digits: int) -> float:
    # JavaScript's Number(value.toFixed(digits)): the exact binary value, ties away from zero.
    return float(Decimal(value).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def duration_of(size: int) -> float:
    """Duration in seconds implied by the size of the file."""
    return _round(min(_MAX_DURATION, max(_MIN_DURATION, size / _BYTES_PER_SECOND)), 2)


def _segments(video: VideoDigest) -> tuple[float, List[Dict[str, Any]]]:
    duration = duration_of(video.size)
    rand = _prng(int(video.sha256[:8], 16))

    def between(lo: float, hi: float) -> float:
        return lo + (hi - lo) * rand()

    segments: List[Dict[str, Any]] = []
    t = _round(between(0.2, 1.2), 3)
    while t < duration - 1:
        # The first segment leaves room for a second, and the first two have different speakers,
        # so every transcript has two speakers, however short the video.
        room = max(0.5, (duration - 1 - t) / 2) if not segments else float("inf")
        end = min(duration, t + min(between(2.5, 6), room))
        speaker = len(segments) if len(segments) < 2 else (0 if rand() < 0.5 else 1)
        words: List[Dict[str, Any]] = []
        w = t
        while w < end - 0.25:
            word_end = min(end, w + between(0.15, 0.6))
            word = VOCABULARY[int(rand() * len(VOCABULARY))]
            confidence = _round(between(0.62, 0.99), 3)
            volume_db = _round(between(-35, -10), 2)
            pitch_hz = _round(between(95, 180) if speaker == 0 else between(165, 320), 2)
            words.append({"word": word, "start": _round(w, 3), "end": _round(word_end, 3),
                          "confidence": confidence, "volume_db": volume_db, "pitch_hz": pitch_hz})
            w = word_end + between(0.03, 0.15)
        if words:
            sentence = " ".join(x["word"] for x in words)
            segments.append({
                "start": _round(t, 3),
                "end": _round(words[-1]["end"], 3),
                "speaker": f"SPEAKER_0{speaker}",
                "text": f"{sentence[:1].upper()}{sentence[1:]}.",
                "words": words,
            })
        t = end + between(0.2, 1.0)
    return duration, segments


def _language(requested: Optional[str]) -> str:
    return requested if requested and requested != "auto" else "en"


def build_result_v11(video: VideoDigest, filename: str, language: Optional[str], processing_time: float) -> Dict[str, Any]:
    """The v1.1 result, as WhisperX sends it: ``text``, ``language``, ``duration``, ``metadata``,
    ``speakers`` as a dict of statistics, and segments timed by ``start``/``end`` with the speaker
    as a string and words carrying confidence and acoustic features."""
    duration, segments = _segments(video)
    lang = _language(language)
    speakers: Dict[str, Dict[str, float]] = {}
    for s in segments:
        entry = speakers.setdefault(s["speaker"], {"total_duration": 0, "segment_count": 0})
        entry["total_duration"] = _round(entry["total_duration"] + (s["end"] - s["start"]), 3)
        entry["segment_count"] += 1
    return {
        "text": " ".join(s["text"] for s in segments),
        "language": lang,
        "duration": duration,
        "metadata": {
            "filename": filename,
            "duration": duration,
            "language": lang,
            "model_version": MODEL_VERSION,
            "processing_time": _round(processing_time, 2),
            "total_segments": len(segments),
            "unique_speakers": len(speakers),
        },
        "speakers": speakers,
        "segments": [{"id": i, **{k: s[k] for k in ("start", "end", "text", "speaker", "words")}} for i, s in enumerate(segments)],
    }


def build_result_v10(video: VideoDigest, filename: str) -> Dict[str, Any]:
    """The v1.0 result: segments timed by ``start_time``/``end_time``, ``speaker: {speaker_id}``,
    words with ``volume_db``/``pitch_hz`` and no confidence."""
    duration, segments = _segments(video)
    return {
        "metadata": {"filename": filename, "duration": duration, "total_segments": len(segments),
                     "unique_speakers": len({s["speaker"] for s in segments})},
        "segments": [{
            "start_time": s["start"],
            "end_time": s["end"],
            "speaker": {"speaker_id": s["speaker"]},
            "text": s["text"],
            "words": [{k: w[k] for k in ("word", "start", "end", "volume_db", "pitch_hz")} for w in s["words"]],
        } for s in segments],
    }


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) < 2:
        sys.exit("usage: transcript.py SIZE SHA256 [FILENAME [LANGUAGE]]")
    digest = VideoDigest(int(args[0]), args[1])
    json.dump(build_result_v11(digest, args[2] if len(args) > 2 else "video.mp4", args[3] if len(args) > 3 else None, 0), sys.stdout)
