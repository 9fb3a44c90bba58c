"""A FastAPI ML server that follows openapi/v1.1/ml-server.yaml (and v1.0), built on the callback
module in clients/python. It is what an ML team's server looks like around WhisperX, with the
transcription replaced by a deterministic transcript (transcript.py), so the backend can be run
against it: ``MODEL_SERVER_URL=http://127.0.0.1:8080``.

Run with Debian's packages: ``/usr/bin/python3 examples/ml-server-python/server.py``.

Environment:
- ``PORT`` (default 8080), ``HOST`` (default 127.0.0.1)
- ``WEBHOOK_SECRET``: the backend's secret; callbacks are signed with it (Standard Webhooks) when set
- ``BACKEND_URL``: where v1.0 requests (no ``fastapi_base_url``) call back, on ``/api/v1/ml/ml-results``
- ``ML_STEP_DELAY_MS``: pause before each processing stage (default 50)
- ``ML_MAX_JOBS``: jobs processed at once before answering 503 (default 10)
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, Optional

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "clients", "python"))

from ecg_callbacks import CallbackClient, CallbackError  # noqa: E402
from transcript import DigestBuilder, VideoDigest, build_result_v10, build_result_v11  # noqa: E402

log = logging.getLogger("ml-server")

# The largest video the ML server takes: 2 GB (docs/limits.md).
MAX_VIDEO_BYTES = 2 * 1024**3
DOWNLOAD_TIMEOUT_S = 300
CHUNK = 1 << 20
# Finished jobs kept for the status endpoint before the oldest are forgotten.
KEEP_FINISHED = 1000

# Progress bands: each stage reports where it starts.
STAGES = [
    (25, "Extracting audio"),
    (40, "Detecting speech"),
    (60, "Identifying speakers"),
    (75, "Transcribing"),
    (90, "Analysing emotion and confidence"),
]


class ProcessVideoRequest(BaseModel):
    """``ProcessVideoRequest`` of openapi/v1.1/ml-server.yaml; v1.0 sends only ``job_id`` and ``video_url``."""

    job_id: str = Field(..., min_length=1, max_length=100)
    video_url: str
    fastapi_base_url: Optional[str] = None
    language: str = Field("auto", min_length=1, max_length=16)
    enable_gpu: bool = True
    emotion_detection: bool = True
    max_workers: int = Field(4, ge=1, le=64)

    class Config:
        extra = "allow"


class Job:
    """One job as this server sees it, for the status endpoint."""

    def __init__(self, job_id: str, mode: str) -> None:
        self.job_id = job_id
        self.mode = mode
        self.status = "processing" if mode == "v1.1" else "accepted"
        self.progress = 0
        self.message = "Queued"
        self.running = True


def ml_error(status: int, code: str, message: str, job_id: Optional[str] = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "job_id": job_id}}, status_code=status)


def filename_of(url: str) -> str:
    """The last path segment of the video URL, without the query string."""
    parts = [p for p in urllib.parse.urlsplit(url).path.split("/") if p]
    return urllib.parse.unquote(parts[-1]) if parts else "video"


class DownloadError(Exception):
    pass


def download(url: str) -> VideoDigest:
    """Reads the presigned URL through, hashing as it goes (no credentials: the URL is enough)."""
    digest = DigestBuilder()
    try:
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response:
            while True:
                chunk = response.read(CHUNK)
                if not chunk:
                    break
                digest.update(chunk)
                if digest.size > MAX_VIDEO_BYTES:
                    raise DownloadError("The video is larger than 2 GB")
    except urllib.error.HTTPError as err:
        raise DownloadError(f"The video could not be downloaded: HTTP {err.code}") from None
    except (urllib.error.URLError, OSError) as err:
        raise DownloadError(f"The video could not be downloaded: {getattr(err, 'reason', err)}") from None
    return digest.digest()


def create_app(secret: Optional[str] = None, backend_url: Optional[str] = None,
               step_delay: float = 0.05, max_jobs: int = 10) -> FastAPI:
    """The ML server's HTTP face: ``processVideo``, ``getMlJobStatus`` and ``getMlHealth``."""
    app = FastAPI(title="ECG ML server (Python example)", version="1.1.0")
    jobs: Dict[str, Job] = {}
    lock = threading.Lock()

    def active() -> int:
        return sum(1 for j in jobs.values() if j.running)

    def run(job: Job, req: ProcessVideoRequest) -> None:
        base = req.fastapi_base_url if job.mode == "v1.1" else backend_url
        client = CallbackClient(base, secret=secret, version=job.mode) if base else None
        if client is None:
            log.warning("no callback target for a v1.0 job: set BACKEND_URL (job %s)", job.job_id)

        def deliver(kind: str, send) -> None:
            if client is None:
                return
            try:
                ack = send(client)
                if ack.get("status") == "ignored":
                    log.info("callback %s for %s ignored: %s", kind, job.job_id, ack.get("reason"))
            except CallbackError as err:
                # Processing goes on; the backend's watchdog decides what a silent job means.
                log.warning("callback %s for %s not delivered: %s %s", kind, job.job_id, err.code, err.message)

        def progress(percent: int, message: str) -> None:
            job.progress, job.message = max(job.progress, percent), message
            deliver("progress", lambda c: c.progress(job.job_id, percent, message))

        def fail(code: str, message: str) -> None:
            job.status, job.message = "failed", message
            deliver("failed", lambda c: c.failed(job.job_id, code, message))

        started = time.monotonic()
        try:
            time.sleep(step_delay)
            progress(10, "Downloading video")
            try:
                video = download(req.video_url)
            except DownloadError as err:
                return fail("DOWNLOAD_ERROR", str(err))
            for percent, message in STAGES:
                time.sleep(step_delay)
                progress(percent, message)
            time.sleep(step_delay)
            filename = filename_of(req.video_url)
            result = (build_result_v11(video, filename, req.language, time.monotonic() - started)
                      if job.mode == "v1.1" else build_result_v10(video, filename))
            job.status, job.progress, job.message = "completed", 100, "Processing completed"
            deliver("completed", lambda c: c.completed(job.job_id, result))
        except Exception:  # a bug here is reported as the real server reports it
            log.exception("job %s crashed", job.job_id)
            fail("PROCESSING_ERROR", "Processing failed")
        finally:
            job.running = False

    @app.get("/health")
    def health() -> Dict[str, Any]:
        return {"status": "healthy", "active_jobs": active(), "max_jobs": max_jobs}

    @app.get("/api/upload-video/status/{job_id}")
    def job_status(job_id: str):
        job = jobs.get(job_id)
        if job is None:
            return ml_error(404, "JOB_NOT_FOUND", f"No job with id {job_id}.", job_id)
        return {"job_id": job.job_id, "status": job.status, "progress": job.progress, "message": job.message}

    @app.post("/api/upload-video/process-video")
    def process_video(req: ProcessVideoRequest):
        mode = "v1.1" if req.fastapi_base_url else "v1.0"
        with lock:
            existing = jobs.get(req.job_id)
            # A repeated dispatch of a running job is answered again without a second run.
            if existing is None or not existing.running:
                if active() >= max_jobs:
                    return ml_error(503, "INSUFFICIENT_RESOURCES", f"The ML server is already processing {max_jobs} jobs.", req.job_id)
                job = Job(req.job_id, mode)
                jobs.pop(req.job_id, None)
                jobs[req.job_id] = job
                finished = [k for k, j in jobs.items() if not j.running]
                for old in finished[: max(0, len(finished) - KEEP_FINISHED)]:  # dicts keep insertion order
                    del jobs[old]
                threading.Thread(target=run, args=(job, req), name=f"job-{req.job_id}", daemon=True).start()
        estimated = max(1, int((len(STAGES) + 2) * step_delay + 0.999))
        if mode == "v1.0":
            return {"job_id": req.job_id, "status": "accepted", "message": "Processing started", "estimated_time": estimated}
        return {"job_id": req.job_id, "status": "processing", "message": "Video processing started",
                "status_url": f"/api/upload-video/status/{urllib.parse.quote(req.job_id, safe='')}", "estimated_time": estimated}

    return app


def main() -> None:
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    port = int(os.environ.get("PORT", "8080"))
    host = os.environ.get("HOST", "127.0.0.1")
    app = create_app(
        secret=os.environ.get("WEBHOOK_SECRET") or None,
        backend_url=os.environ.get("BACKEND_URL") or None,
        step_delay=int(os.environ.get("ML_STEP_DELAY_MS", "50")) / 1000,
        max_jobs=int(os.environ.get("ML_MAX_JOBS", "10")),
    )
    log.info("ECG Python ML server starting on http://%s:%d", host, port)
    uvicorn.run(app, host=host, port=port, log_level="warning")


if __name__ == "__main__":
    main()
