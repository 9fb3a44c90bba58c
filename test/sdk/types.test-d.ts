/**
 * Type tests of the SDK (vitest typecheck mode, and `tsc -p tsconfig.json`): nothing here runs.
 */
import { describe, expectTypeOf, it } from 'vitest';
import {
  type ApiErrorBody,
  type ApiErrorCode,
  createBackendClient,
  EcgApiError,
  type JobStatusResponse,
  type TerminalJobStatus,
  type TranscriptResult,
} from '../../sdk/src/index.js';
import { createMlServerClient, type MlHealthCheck, type ProcessVideoOutcome } from '../../sdk/src/ml-client.js';
import { type CallbackAck, createCallbackClient, type MlResult, type ProcessVideoRequest } from '../../sdk/src/ml-server.js';
import { type SubtitleOptions,toSrt, toVtt } from '../../sdk/src/subtitles.js';
import type { TranscriptResult as TranscriptResult10 } from '../../sdk/src/v1.0.js';
import type { BackendComponents, MlServerComponents, TranscriptResult as TranscriptResult11 } from '../../sdk/src/v1.1.js';

const ecg = createBackendClient({ baseUrl: 'http://localhost:8000' });

describe('backend client types', () => {
  it('types the raw client by the contract', () => {
    async function calls() {
      // @ts-expect-error a path the contract does not have
      await ecg.api.GET('/api/upload-video/nope');
      // @ts-expect-error a method the path does not have
      await ecg.api.DELETE('/api/upload-video/status/{job_id}', { params: { path: { job_id: 'x' } } });
      // @ts-expect-error a wrong path parameter name
      await ecg.api.GET('/api/upload-video/status/{job_id}', { params: { path: { id: 'x' } } });
      // @ts-expect-error the path parameter is required
      await ecg.api.GET('/api/upload-video/status/{job_id}');
      // @ts-expect-error a misspelt body field (openapi-fetch infers the init generically, so an
      // extra field next to the required ones is not flagged; a missing or mistyped one is)
      await ecg.api.POST('/api/upload-video/generate-url', { body: { file_nam: 'a.mp4' } });
      // @ts-expect-error a field the helper's input does not have
      await ecg.requestProcess({ fileKey: 'k', languag: 'en' });
      // @ts-expect-error a body field of the wrong type
      await ecg.api.POST('/api/upload-video/generate-url', { body: { filename: 42 } });
      // @ts-expect-error a required body field is missing
      await ecg.api.POST('/api/upload-video/generate-url', { body: { content_type: 'video/mp4' } });

      const { data } = await ecg.api.GET('/api/upload-video/status/{job_id}', { params: { path: { job_id: 'x' } } });
      expectTypeOf(data).toEqualTypeOf<JobStatusResponse | undefined>();
    }
    void calls;
  });

  it('resolves waitForJob and processVideo with a terminal status carrying the result', () => {
    expectTypeOf(ecg.waitForJob).returns.resolves.toEqualTypeOf<TerminalJobStatus>();
    expectTypeOf(ecg.processVideo).returns.resolves.toEqualTypeOf<TerminalJobStatus>();
    expectTypeOf<TerminalJobStatus['status']>().toEqualTypeOf<'completed' | 'failed' | 'cancelled'>();
    expectTypeOf<TerminalJobStatus['result']>().toEqualTypeOf<TranscriptResult | undefined>();
    expectTypeOf(ecg.uploadVideo).returns.resolves.toEqualTypeOf<string>();
    expectTypeOf(ecg.getStatus).returns.resolves.toEqualTypeOf<JobStatusResponse>();
    expectTypeOf<TranscriptResult>().toEqualTypeOf<TranscriptResult11>();
    expectTypeOf<TranscriptResult10>().toHaveProperty('segments');
  });

  it('types errors by the envelope', () => {
    expectTypeOf<EcgApiError['status']>().toEqualTypeOf<number>();
    expectTypeOf<NonNullable<EcgApiError['body']>>().toEqualTypeOf<ApiErrorBody>();
    expectTypeOf<ApiErrorBody>().toEqualTypeOf<BackendComponents['schemas']['Error']>();
    expectTypeOf<ApiErrorBody['error']>().toEqualTypeOf<ApiErrorCode>();
    expectTypeOf<EcgApiError['code']>().toMatchTypeOf<string>();
    expectTypeOf<EcgApiError['requestId']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<EcgApiError['url']>().toEqualTypeOf<string | undefined>();
  });

  it('takes retry options, or false, and hands onRetry the attempt, the delay and an EcgApiError', () => {
    createBackendClient({ baseUrl: 'http://x', retry: false });
    createBackendClient({ baseUrl: 'http://x', retry: { maxAttempts: 5, onRetry: (r) => expectTypeOf(r.error).toEqualTypeOf<EcgApiError>() } });
    // @ts-expect-error retrying is on by default: only `false` or options
    createBackendClient({ baseUrl: 'http://x', retry: true });
    void ecg.waitForJob('j', { maxWaitMs: 60_000, onRetry: ({ attempt, delayMs }) => expectTypeOf([attempt, delayMs]).toEqualTypeOf<number[]>() });
  });

  it('accepts the documented upload inputs only', () => {
    async function uploads() {
      await ecg.uploadVideo(new Blob([]), { filename: 'a.mp4' });
      await ecg.uploadVideo(new Uint8Array(4), { filename: 'a.mp4' });
      await ecg.uploadVideo(Buffer.from('x'), { filename: 'a.mp4' });
      await ecg.uploadVideo('/tmp/a.mp4');
      // @ts-expect-error not an upload source
      await ecg.uploadVideo(42);
      // @ts-expect-error an option the helper does not have
      await ecg.uploadVideo(new Blob([]), { fileName: 'a.mp4' });
    }
    void uploads;
  });
});

describe('ML server and ML client types', () => {
  it('types callbacks', () => {
    const cb = createCallbackClient({ baseUrl: 'http://backend', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' });
    expectTypeOf(cb.progress).returns.resolves.toEqualTypeOf<CallbackAck>();
    expectTypeOf(cb.completed).parameter(1).toEqualTypeOf<MlResult>();
    // The canonical result is also a valid ML result.
    expectTypeOf<TranscriptResult>().toMatchTypeOf<MlResult>();
    async function wrong() {
      // @ts-expect-error a status the callback body does not have
      await cb.send({ job_id: 'j', status: 'done', progress: null, message: null, result: null, error_message: null, error_code: null });
      // @ts-expect-error version must be v1.0 or v1.1
      createCallbackClient({ baseUrl: 'http://backend', version: 'v2' });
    }
    void wrong;
    expectTypeOf<ProcessVideoRequest>().toHaveProperty('fastapi_base_url');
    expectTypeOf<MlServerComponents['schemas']['ProcessVideoRequest']>().toEqualTypeOf<ProcessVideoRequest>();
  });

  it('types the ML client per version', () => {
    const v11 = createMlServerClient({ baseUrl: 'http://ml', timeoutMs: 1000 });
    const v10 = createMlServerClient({ baseUrl: 'http://ml', timeoutMs: 1000, version: 'v1.0' });
    expectTypeOf(v11.health).returns.resolves.toEqualTypeOf<MlHealthCheck>();
    expectTypeOf(v11.processVideo).returns.resolves.toEqualTypeOf<ProcessVideoOutcome<'v1.1'>>();
    async function bodies() {
      const outcome = await v10.processVideo({ job_id: 'j', video_url: 'http://s/v.mp4' });
      if (outcome.ok) expectTypeOf(outcome.body).toEqualTypeOf<import('../../sdk/src/ml-server.js').ProcessVideoResponseV1_0 | null>();
      else if (outcome.kind === 'http') expectTypeOf(outcome.code).toEqualTypeOf<string>();
      // @ts-expect-error video_url is required
      await v11.processVideo({ job_id: 'j' });
      // @ts-expect-error language is a string (the real ML server answers null with 422)
      await v11.processVideo({ job_id: 'j', video_url: 'http://s/v.mp4', language: null });
    }
    void bodies;
  });
});

describe('subtitle types', () => {
  it('turn the canonical transcript, not an ML server result, into a string', () => {
    expectTypeOf(toVtt).parameter(0).toEqualTypeOf<TranscriptResult>();
    expectTypeOf(toSrt).returns.toEqualTypeOf<string>();
    expectTypeOf<SubtitleOptions['speakers']>().toEqualTypeOf<false | ((speakerId: string) => string) | undefined>();
    const raw = {} as MlResult;
    // @ts-expect-error an ML server result is normalised by the backend first
    toVtt(raw);
    // @ts-expect-error speakers are named by default: only `false` or a function
    toSrt({} as TranscriptResult, { speakers: true });
  });
});
