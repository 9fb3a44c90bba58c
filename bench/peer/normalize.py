"""Any accepted ML result shape to the canonical TranscriptResult (docs/results.md)."""

from typing import Any, Dict, List, Optional


def _num(v: Any) -> Optional[float]:
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) and v == v and abs(v) != float("inf") else None


def _str(v: Any) -> Optional[str]:
    return v if isinstance(v, str) else None


def _first_num(*vs: Any) -> Optional[float]:
    return next((n for n in map(_num, vs) if n is not None), None)


def _speaker_id(seg: Dict[str, Any]) -> Optional[str]:
    s = seg.get("speaker")
    if isinstance(s, str):
        return s
    if isinstance(s, dict) and isinstance(s.get("speaker_id"), str):
        return s["speaker_id"]
    return _str(seg.get("speaker_id"))


def _word(w: Dict[str, Any], confidence: Optional[float]) -> Dict[str, Any]:
    af = w.get("acoustic_features") if isinstance(w.get("acoustic_features"), dict) else {}
    return {
        "word": (_str(w.get("word")) or "").strip(),
        "start": _num(w.get("start")),
        "end": _num(w.get("end")),
        "confidence": _first_num(w.get("confidence"), w.get("score"), confidence),
        "volume_db": _first_num(w.get("volume_db"), af.get("volume_db")),
        "pitch_hz": _first_num(w.get("pitch_hz"), af.get("pitch_hz")),
    }


def normalize_result(raw: Optional[Dict[str, Any]], filename: Optional[str], language: Optional[str]) -> Dict[str, Any]:
    r = raw if isinstance(raw, dict) else {}
    meta = r.get("metadata") if isinstance(r.get("metadata"), dict) else {}
    raw_segments = [s for s in r.get("segments") or [] if isinstance(s, dict)]
    word_segments = [w for w in r.get("word_segments") or [] if isinstance(w, dict)]
    word_index = 0
    segments: List[Dict[str, Any]] = []
    for i, seg in enumerate(raw_segments):
        words = []
        for w in seg.get("words") or []:
            if not isinstance(w, dict):
                continue
            parallel = word_segments[word_index] if word_index < len(word_segments) else None
            word_index += 1
            words.append(_word(w, _first_num(parallel.get("confidence"), parallel.get("score")) if parallel else None))
        start = _first_num(seg.get("start"), seg.get("start_time"), words[0]["start"] if words else None) or 0
        end = _first_num(seg.get("end"), seg.get("end_time"), words[-1]["end"] if words else None)
        text = _str(seg.get("text"))
        segments.append({
            "id": i,
            "start": start,
            "end": start if end is None else end,
            "text": text.strip() if text is not None else " ".join(w["word"] for w in words),
            "speaker": {"speaker_id": _speaker_id(seg)},
            "words": words,
        })
    speakers: List[str] = []
    for s in segments:
        if s["speaker"]["speaker_id"] is not None and s["speaker"]["speaker_id"] not in speakers:
            speakers.append(s["speaker"]["speaker_id"])
    summary = r.get("speakers")
    named = [s for s in summary if isinstance(s, str)] if isinstance(summary, list) else list(summary) if isinstance(summary, dict) else []
    speakers += [s for s in named if s not in speakers]
    duration = _first_num(r.get("duration"), meta.get("duration"), segments[-1]["end"] if segments else None)
    lang = _str(r.get("language")) or _str(meta.get("language")) or language
    text = _str(r.get("text"))
    return {
        "text": text.strip() if text is not None else " ".join(s["text"] for s in segments if s["text"]),
        "language": lang,
        "duration": duration,
        "metadata": {
            "filename": _str(meta.get("filename")) or filename,
            "duration": duration,
            "language": lang,
            "model_version": _str(meta.get("model_version")),
            "processing_time": _num(meta.get("processing_time")),
            "total_segments": len(segments),
            "unique_speakers": len(speakers),
        },
        "speakers": speakers,
        "segments": segments,
    }
