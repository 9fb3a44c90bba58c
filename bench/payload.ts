/** What the bench sends: the 60-minute result and Standard Webhooks signatures (docs/callbacks.md). */
import { Webhook } from 'standardwebhooks';

/**
 * A result as the ML server sends it for `minutes` of video: a 3.2-second segment every 3.2 s,
 * 12 words each with timings and acoustic features (60 minutes: 13,500 words, about 2.8 MB).
 */
export function bigResult(minutes: number) {
  const segments = [];
  for (let id = 0, t = 0; t < minutes * 60; id++, t += 3.2) {
    const start = +t.toFixed(3);
    const words = Array.from({ length: 12 }, (_, w) => ({
      word: `word${w}`,
      start: +(start + w * 0.26).toFixed(3),
      end: +(start + w * 0.26 + 0.22).toFixed(3),
      confidence: 0.9123,
      volume_db: -20.537,
      pitch_hz: 180.254,
      acoustic_features: { volume_db: -20.537, pitch_hz: 180.254, spectral_centroid: 1523.5 },
    }));
    segments.push({ id, start_time: start, end_time: +(start + 3.2).toFixed(3), speaker: { speaker_id: `SPEAKER_0${id % 3}` }, text: words.map((w) => w.word).join(' '), words });
  }
  return { text: segments.map((s) => s.text).join(' '), language: 'en', duration: minutes * 60, metadata: { filename: 'long.mp4', model_version: 'whisperx-base', processing_time: 120 }, segments };
}

/** The completion callback for a job, with every key the real ML server sends. */
export function completionBody(jobId: string, result: ReturnType<typeof bigResult>): string {
  return JSON.stringify({ job_id: jobId, status: 'completed', progress: 100, message: 'Processing completed', result, error_message: null, error_code: null });
}

/** Headers of a signed callback: a fresh webhook-id and the current timestamp. */
export function signedHeaders(secret: string, id: string, body: string): Record<string, string> {
  const now = new Date();
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
    'webhook-signature': new Webhook(secret).sign(id, now, body),
  };
}
