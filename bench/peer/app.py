"""The peer: the backend's two hot endpoints written the usual FastAPI way, for `npm run bench`.

GET  /api/upload-video/status/{job_id}  the status body of openapi/v1.1/backend.yaml (getJobStatus, with
                                         current_stage and estimated_time_remaining while the job is
                                         live), without ETags.
POST /api/upload-video/result            a Standard Webhooks signed callback (receiveMlResult): the
                                         signature over the raw body, then under the row lock the
                                         webhook-id, the job update, its event and pg_notify.

Run with `uvicorn app:app --app-dir bench/peer`; DATABASE_URL and WEBHOOK_SECRET come from the
environment. The job rules it follows are those of docs/job-lifecycle.md.
"""

import base64
import hashlib
import hmac
import json
import math
import os
import re
import time
from datetime import datetime, timezone
from typing import Any, Dict, List, Literal, Optional, Union
from uuid import UUID

import asyncpg
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Extra

from normalize import normalize_result

DATABASE_URL = os.environ["DATABASE_URL"]
SECRET = os.environ["WEBHOOK_SECRET"]
KEY = base64.b64decode(SECRET[len("whsec_"):]) if SECRET.startswith("whsec_") else SECRET.encode()
TOLERANCE_SECONDS = 5 * 60

app = FastAPI()
pool: asyncpg.Pool


@app.on_event("startup")
async def startup() -> None:
    global pool
    pool = await asyncpg.create_pool(DATABASE_URL, min_size=1, max_size=10)


@app.on_event("shutdown")
async def shutdown() -> None:
    await pool.close()


class JobStatusResponse(BaseModel):
    job_id: UUID
    status: Literal["pending", "processing", "completed", "failed", "cancelled"]
    progress: int
    message: Optional[str]
    language: str
    result: Optional[Dict[str, Any]]
    error_code: Optional[str]
    error_message: Optional[str]
    current_stage: Optional[str]
    estimated_time_remaining: Optional[int]
    created_at: str
    updated_at: str


class Loose(BaseModel):
    class Config:
        extra = Extra.allow


class AcousticFeatures(Loose):
    volume_db: Optional[float]
    pitch_hz: Optional[float]


class MlWord(Loose):
    word: Optional[str]
    start: Optional[float]
    end: Optional[float]
    confidence: Optional[float]
    score: Optional[float]
    volume_db: Optional[float]
    pitch_hz: Optional[float]
    acoustic_features: Optional[AcousticFeatures]


class Speaker(Loose):
    speaker_id: Optional[str]


class MlSegment(Loose):
    id: Optional[int]
    start: Optional[float]
    end: Optional[float]
    start_time: Optional[float]
    end_time: Optional[float]
    text: Optional[str]
    speaker: Optional[Union[str, Speaker]]
    speaker_id: Optional[str]
    words: Optional[List[MlWord]]


class MlResultMetadata(Loose):
    filename: Optional[str]
    duration: Optional[float]
    language: Optional[str]
    model_version: Optional[str]
    processing_time: Optional[float]
    total_segments: Optional[int]
    unique_speakers: Optional[int]


class MlResult(Loose):
    text: Optional[str]
    language: Optional[str]
    duration: Optional[float]
    metadata: Optional[MlResultMetadata]
    speakers: Optional[Union[Dict[str, Dict[str, Any]], List[str]]]
    segments: Optional[List[MlSegment]]
    word_segments: Optional[List[MlWord]]


class MlCallback(Loose):
    job_id: str
    status: Literal["processing", "completed", "failed"]
    progress: Optional[float]
    message: Optional[str]
    result: Optional[MlResult]
    error_message: Optional[str]
    error_code: Optional[str]


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


# The live fields of version 1.1 (server/jobs/progress.ts, docs/job-lifecycle.md).
STAGE_BANDS = [(10, "initialising"), (25, "extracting_audio"), (40, "detecting_speech"), (60, "identifying_speakers"),
               (75, "transcribing"), (90, "analysing")]
STAGE_WORDS = [(re.compile(p, re.I), label) for p, label in [
    (r"download", "downloading"), (r"transcri|whisper", "transcribing"), (r"align", "aligning"),
    (r"speaker|diari[sz]", "identifying_speakers"), (r"extract|audio", "extracting_audio"),
    (r"speech|voice activity|\bvad\b", "detecting_speech"), (r"emotion|confidence|analy[sz]", "analysing"),
    (r"final|saving|upload", "finalising"), (r"initiali[sz]|loading model|starting", "initialising")]]


def current_stage(status: str, progress: int, message: Optional[str]) -> str:
    if status == "pending":
        return "queued"
    if message:
        for words, label in STAGE_WORDS:
            if words.search(message):
                return label
    for up_to, label in STAGE_BANDS:
        if progress < up_to:
            return label
    return "finalising"


def seconds_left(progress: int, run_seconds: Optional[float]) -> Optional[int]:
    if run_seconds is None or run_seconds < 1 or progress <= 0:
        return None
    if progress >= 100:
        return 0
    return min(2147483647, math.floor(run_seconds * (100 - progress) / progress + 0.5))


def iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@app.get("/api/upload-video/status/{job_id}", response_model=JobStatusResponse, response_model_exclude_unset=True)
async def get_job_status(job_id: UUID):
    row = await pool.fetchrow(
        "select id, status, progress, message, language, result, error_code, error_message, created_at, updated_at,"
        " dispatched_at from jobs where id = $1",
        job_id,
    )
    if row is None:
        return error(404, "JOB_NOT_FOUND", f"No job with id {job_id}.")
    body: Dict[str, Any] = {
        "job_id": row["id"],
        "status": row["status"],
        "progress": row["progress"],
        "message": row["message"],
        "language": row["language"],
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }
    if row["status"] in ("pending", "processing"):
        body["current_stage"] = current_stage(row["status"], row["progress"], row["message"])
        run = (row["updated_at"] - (row["dispatched_at"] or row["created_at"])).total_seconds() if row["status"] == "processing" else None
        body["estimated_time_remaining"] = seconds_left(row["progress"], run)
    if row["status"] == "completed" and row["result"] is not None:
        body["result"] = json.loads(row["result"])
    if row["status"] == "failed":
        body["error_code"] = row["error_code"]
        body["error_message"] = row["error_message"]
    return body


def verify_signature(raw: bytes, headers: Any) -> str:
    """Standard Webhooks: HMAC-SHA256 over "id.timestamp.body", timestamp within 5 minutes."""
    webhook_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > TOLERANCE_SECONDS:
        raise HTTPException(401, "The webhook signature is invalid or too old.")
    expected = hmac.new(KEY, f"{webhook_id}.{timestamp}.".encode() + raw, hashlib.sha256).digest()
    for candidate in headers.get("webhook-signature", "").split(" "):
        version, _, signature = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(base64.b64decode(signature or "="), expected):
            return webhook_id
    raise HTTPException(401, "The webhook signature is invalid or too old.")


STAGES = [(10, "Initialising"), (25, "Extracting audio"), (40, "Detecting speech"), (60, "Identifying speakers"),
          (75, "Transcribing"), (90, "Analysing emotion and confidence"), (100, "Finalising")]


def stage_message(progress: int) -> str:
    return next((label for upto, label in STAGES if progress < upto), "Finalising")


def refusal(job: asyncpg.Record, cb: MlCallback) -> Optional[str]:
    if job["status"] == "cancelled":
        return "job was cancelled"
    if job["status"] == "completed":
        return "job is already completed"
    if job["status"] == "failed" and not (job["failed_by"] == "backend" and cb.status == "completed"):
        return "job has already failed"
    return None


UPDATE = (
    "update jobs set status = $2, progress = $3, message = $4, error_code = $5, error_message = $6, failed_by = $7,"
    " last_heard_at = now(), next_dispatch_at = null, version = version + 1, updated_at = now() where id = $1"
)
COMPLETE = UPDATE.replace(" where id = $1", ", result = $8::jsonb, raw_result = $9::jsonb, completed_at = now() where id = $1")


@app.post("/api/upload-video/result")
async def receive_ml_result(request: Request):
    raw = await request.body()
    webhook_id = verify_signature(raw, request.headers)
    cb = MlCallback.parse_raw(raw)
    try:
        job_id = UUID(cb.job_id)
    except ValueError:
        return error(404, "JOB_NOT_FOUND", f"No job with id {cb.job_id}.")
    async with pool.acquire() as conn, conn.transaction():
        job = await conn.fetchrow(
            "select id, status, progress, message, failed_by, file_key, language from jobs where id = $1 for update", job_id)
        if job is None:
            return error(404, "JOB_NOT_FOUND", f"No job with id {cb.job_id}.")
        fresh = await conn.fetchval(
            "insert into webhook_deliveries (webhook_id, job_id) values ($1, $2) on conflict do nothing returning webhook_id",
            webhook_id, job_id)
        if fresh is None:
            return {"status": "ignored", "job_id": cb.job_id, "reason": "duplicate webhook-id"}
        reason = refusal(job, cb)
        if reason is not None:
            await conn.execute(
                "insert into job_events (job_id, kind, from_status, to_status, progress, auth, detail)"
                " values ($1, 'callback', $2, $2, $3, 'signature', $4::jsonb)",
                job_id, job["status"], job["progress"], json.dumps({"ignored": reason, "reported_status": cb.status}))
            return {"status": "ignored", "job_id": cb.job_id, "reason": reason}
        reported = None if cb.progress is None else min(100, max(0, round(cb.progress)))
        progress = max(job["progress"], job["progress"] if reported is None else reported)
        message = cb.message if cb.message and cb.message.strip() else None
        error_code = error_message = failed_by = None
        if cb.status == "processing":
            message = message or stage_message(progress)
        elif cb.status == "completed":
            progress, message = 100, message or "Completed"
        else:
            message = message or job["message"]
            error_code = cb.error_code or "PROCESSING_ERROR"
            error_message = cb.error_message or message or "The ML server reported a failure."
            failed_by = "ml"
        fields = [job_id, cb.status, progress, message, error_code, error_message, failed_by]
        if cb.status == "completed":
            raw_result = cb.result.dict(exclude_unset=True) if cb.result is not None else None
            language = None if job["language"] == "auto" else job["language"]
            result = normalize_result(raw_result, job["file_key"].split("/")[-1], language)
            await conn.execute(COMPLETE, *fields, json.dumps(result), json.dumps(raw_result))
        else:
            await conn.execute(UPDATE, *fields)
        await conn.execute(
            "insert into job_events (job_id, kind, from_status, to_status, progress, auth, detail)"
            " values ($1, 'callback', $2, $3, $4, 'signature', $5::jsonb)",
            job_id, job["status"], cb.status, progress,
            json.dumps({"error_code": error_code}) if error_code else None)
        await conn.execute("select pg_notify('job_changed', $1)", str(job_id))
    return {"status": "received", "job_id": cb.job_id}
