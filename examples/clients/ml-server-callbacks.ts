/**
 * ML-server example: accept a job from the backend (`POST /api/upload-video/process-video`), then
 * report progress, the result or a failure through signed callbacks (Standard Webhooks).
 * The backend must know the same secret (`WEBHOOK_SECRET`, `whsec_<base64>`).
 */
import { createCallbackClient, EcgApiError, type MlResult, type ProcessVideoRequest, type ProcessVideoResponse } from '@ecg/sdk/ml-server';

/** Answers process-video at once and works in the background (the backend treats any 2xx as accepted). */
export function acceptJob(request: ProcessVideoRequest, secret: string | undefined = process.env.WEBHOOK_SECRET): ProcessVideoResponse {
  void runJob(request, secret);
  return {
    job_id: request.job_id,
    status: 'processing',
    message: 'Processing started',
    status_url: `/api/upload-video/status/${request.job_id}`,
  };
}

async function runJob(request: ProcessVideoRequest, secret: string | undefined): Promise<void> {
  const callbacks = createCallbackClient({
    // Callbacks go to `${fastapi_base_url}/api/upload-video/result` (v1.1); the URL may carry a per-job token.
    baseUrl: request.fastapi_base_url ?? 'http://localhost:8000',
    secret,
    maxAttempts: 5,
    deadlineMs: 60_000,
  });
  try {
    await callbacks.progress(request.job_id, 5, 'Downloading the video');
    const video = await fetch(request.video_url);
    if (!video.ok) {
      await callbacks.failed(request.job_id, 'DOWNLOAD_ERROR', `The video could not be downloaded (HTTP ${video.status}).`);
      return;
    }
    await callbacks.progress(request.job_id, 25, 'Speech detection');
    const result = await transcribe(await video.arrayBuffer(), request.language ?? 'auto');
    await callbacks.progress(request.job_id, 90, 'Finalising');
    const ack = await callbacks.completed(request.job_id, result);
    if (ack.status === 'ignored') console.warn(`the backend ignored the result: ${ack.reason ?? ''}`);
  } catch (err) {
    // 4xx other than 429 are not retried: a wrong secret (401) or an unknown job (404) shows here.
    if (err instanceof EcgApiError) console.error(`callback refused: ${err.status} ${err.code} ${err.message}`);
    await callbacks.failed(request.job_id, 'PROCESSING_ERROR', err instanceof Error ? err.message : String(err)).catch(() => {});
  }
}

/** Stands in for WhisperX, which is asynchronous, hence the promise. */
function transcribe(video: ArrayBuffer, language: string): Promise<MlResult> {
  return Promise.resolve({
    text: `(${video.byteLength} bytes transcribed)`,
    language: language === 'auto' ? 'en' : language,
    duration: 1,
    segments: [
      {
        start: 0,
        end: 1,
        text: `(${video.byteLength} bytes transcribed)`,
        speaker: 'SPEAKER_00',
        words: [{ word: 'transcribed', start: 0, end: 1, confidence: 0.9, volume_db: -20, pitch_hz: 150 }],
      },
    ],
    metadata: { model_version: 'example', processing_time: 0.1 },
  });
}
