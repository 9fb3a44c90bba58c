/**
 * Frontend example: upload a video, start the transcription, follow it to the end.
 *
 * In a browser, pass the `File` from an <input type="file">; in Node, a path works too:
 *   npx tsx examples/clients/frontend.ts http://localhost:8000 ./talk.mp4
 */
import { createBackendClient, EcgApiError, type TranscriptResult } from '@ecg/sdk';

export async function transcribe(
  file: File | string,
  options: { baseUrl: string; token?: string; language?: string; signal?: AbortSignal },
): Promise<TranscriptResult> {
  const ecg = createBackendClient({ baseUrl: options.baseUrl, ...(options.token ? { token: options.token } : {}) });

  // 1 + 2: ask for an upload URL and PUT the file there (the bearer token is never sent to storage).
  const fileKey = await ecg.uploadVideo(file, {
    onProgress: ({ percent }) => console.log(`upload ${percent}%`),
    ...(options.signal ? { signal: options.signal } : {}),
  });

  // 3: create the job.
  const job = await ecg.requestProcess({ fileKey, language: options.language ?? 'auto' });
  console.log(`job ${job.job_id}, about ${job.estimated_time} s`);

  // 7: follow it (Server-Sent Events, or polling every 2 s with ETags), until it ends.
  const final = await ecg.waitForJob(job.job_id, {
    onProgress: (s) => console.log(`${s.status} ${s.progress}% ${s.message ?? ''}`),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (final.status !== 'completed' || !final.result) {
    throw new Error(`The job ended ${final.status}: ${final.error_code ?? ''} ${final.error_message ?? ''}`);
  }
  return final.result;
}

// The same in one call: ecg.processVideo(file, { language, onUploadProgress, onProgress }).

const [baseUrl, path] = process.argv.slice(2);
if (baseUrl && path && import.meta.url === `file://${process.argv[1]}`) {
  try {
    const result = await transcribe(path, { baseUrl });
    for (const segment of result.segments) console.log(`[${segment.start.toFixed(1)}s] ${segment.speaker.speaker_id ?? '?'}: ${segment.text}`);
  } catch (err) {
    // Every failure the backend reports carries its stable code and message.
    if (err instanceof EcgApiError) console.error(`${err.status} ${err.code}: ${err.message}`);
    else console.error(err);
    process.exitCode = 1;
  }
}
