import { describe, expect, it } from 'vitest';
import { type CallbackReport, created, decide, type Decision, type JobInput, type JobSnapshot,NOW } from '../../server/jobs/lifecycle.js';

const base: JobSnapshot = { status: 'pending', progress: 0, message: null, failedBy: null, dispatchAttempts: 0, fileKey: 'videos/anonymous/20250101_120000_0a1b2c3d_talk.mp4', language: 'auto' };

/** Every state a job can be in, as the lifecycle tells them apart. */
const STATES = {
  // Dispatch outcomes always follow a claim, so both pending states have made an attempt; the lease
  // itself (dispatched_at, next_dispatch_at) is the store's to query, not a state the decisions read.
  pending: { ...base, dispatchAttempts: 1 },
  'pending, leased to a dispatch in flight': { ...base, dispatchAttempts: 1 },
  processing: { ...base, status: 'processing', progress: 40, message: 'Detecting speech', dispatchAttempts: 1 },
  completed: { ...base, status: 'completed', progress: 100, message: 'Completed', dispatchAttempts: 1 },
  'failed by the backend': { ...base, status: 'failed', progress: 40, failedBy: 'backend', dispatchAttempts: 1 },
  'failed by the ML server': { ...base, status: 'failed', progress: 40, failedBy: 'ml', dispatchAttempts: 1 },
  cancelled: { ...base, status: 'cancelled', message: 'Cancelled', dispatchAttempts: 1 },
} satisfies Record<string, JobSnapshot>;
type State = keyof typeof STATES;

const report = (r: Partial<CallbackReport>): CallbackReport => ({ status: 'processing', progress: null, message: null, error_code: null, error_message: null, result: null, ...r });
const failure = { code: 'HTTP_503', message: 'busy', waitMs: 5_000 };

/** Every input, with retry and give-up told apart by the attempts left. */
const INPUTS = {
  claim: { type: 'claim', leaseMs: 60_000 },
  dispatched: { type: 'dispatched' },
  'retry scheduled': { type: 'dispatch_failed', retryable: true, maxAttempts: 5, ...failure },
  'given up': { type: 'dispatch_failed', retryable: true, maxAttempts: 1, ...failure },
  'refused by the ML server': { type: 'dispatch_failed', retryable: false, maxAttempts: 5, code: 'INVALID_REQUEST', message: 'video_url is required', waitMs: 0 },
  progress: { type: 'callback', auth: 'token', report: report({ progress: 55 }) },
  completed: { type: 'callback', auth: 'token', report: report({ status: 'completed', progress: 100, result: { segments: [] } }) },
  failed: { type: 'callback', auth: 'token', report: report({ status: 'failed', error_code: 'PROCESSING_ERROR' }) },
  cancel: { type: 'cancel' },
  'timed out': { type: 'timeout', cause: 'silence', seconds: 600 },
} satisfies Record<string, JobInput>;
type Input = keyof typeof INPUTS;

/** `status/event kind` for an applied input, `ignored: reason`, or `refused`; `-` is the claim's invisible lease. */
type Expected = string;
const pendingRow: Record<Input, Expected> = {
  claim: 'pending/-',
  dispatched: 'processing/dispatched',
  'retry scheduled': 'pending/retry_scheduled',
  'given up': 'failed/gave_up',
  'refused by the ML server': 'failed/refused',
  progress: 'processing/callback',
  completed: 'completed/callback',
  failed: 'failed/callback',
  cancel: 'cancelled/cancelled',
  'timed out': 'ignored: job is not with the ML server',
};
const dispatchIgnored = (reason: string) => ({
  claim: `ignored: ${reason}`,
  dispatched: `ignored: ${reason}`,
  'retry scheduled': `ignored: ${reason}`,
  'given up': `ignored: ${reason}`,
  'refused by the ML server': `ignored: ${reason}`,
});

const TABLE: Record<State, Record<Input, Expected>> = {
  pending: pendingRow,
  'pending, leased to a dispatch in flight': pendingRow,
  processing: {
    ...dispatchIgnored('job is already processing'),
    progress: 'processing/callback',
    completed: 'completed/callback',
    failed: 'failed/callback',
    cancel: 'cancelled/cancelled',
    'timed out': 'failed/timeout',
  },
  completed: {
    ...dispatchIgnored('job is already completed'),
    progress: 'ignored: job is already completed',
    completed: 'ignored: job is already completed',
    failed: 'ignored: job is already completed',
    cancel: 'refused',
    'timed out': 'ignored: job is already completed',
  },
  'failed by the backend': {
    ...dispatchIgnored('job has already failed'),
    progress: 'ignored: job has already failed',
    completed: 'completed/callback',
    failed: 'ignored: job has already failed',
    cancel: 'refused',
    'timed out': 'ignored: job has already failed',
  },
  'failed by the ML server': {
    ...dispatchIgnored('job has already failed'),
    progress: 'ignored: job has already failed',
    completed: 'ignored: job has already failed',
    failed: 'ignored: job has already failed',
    cancel: 'refused',
    'timed out': 'ignored: job has already failed',
  },
  cancelled: {
    ...dispatchIgnored('job was cancelled'),
    progress: 'ignored: job was cancelled',
    completed: 'ignored: job was cancelled',
    failed: 'ignored: job was cancelled',
    cancel: 'ignored: job is already cancelled',
    'timed out': 'ignored: job was cancelled',
  },
};

function summary(job: JobSnapshot, d: Decision): Expected {
  if (d.outcome === 'refuse') return 'refused';
  if (d.outcome === 'ignore') return `ignored: ${d.reason}`;
  return `${d.patch.status ?? job.status}/${d.event?.kind ?? '-'}`;
}

const cases = Object.entries(TABLE).flatMap(([state, row]) => Object.entries(row).map(([input, expected]) => [state as State, input as Input, expected] as const));

describe('the job lifecycle, state by input', () => {
  it('covers every state with every input', () => {
    expect(cases).toHaveLength(Object.keys(STATES).length * Object.keys(INPUTS).length);
  });

  it.each(cases)('%s + %s -> %s', (state, input, expected) => {
    const job = STATES[state];
    const d = decide(job, INPUTS[input]);
    expect(summary(job, d)).toBe(expected);
    if (d.outcome === 'apply' && d.event) {
      expect(d.event.from).toBe(job.status);
      expect(d.event.to).toBe(d.patch.status ?? job.status);
      expect(d.event.auth).toBe(INPUTS[input].type === 'callback' ? 'token' : 'backend');
    }
  });

  it('records an ignored callback as an event without changing the job, and an ignored dispatch outcome not at all', () => {
    const ignoredCallback = decide(STATES.cancelled, INPUTS.completed);
    expect(ignoredCallback).toMatchObject({ outcome: 'ignore', event: { kind: 'callback', from: 'cancelled', to: 'cancelled', detail: { ignored: 'job was cancelled', reported_status: 'completed' } } });
    expect(decide(STATES.cancelled, INPUTS.dispatched)).toEqual({ outcome: 'ignore', reason: 'job was cancelled', event: null });
    expect(decide(STATES.cancelled, INPUTS.cancel)).toEqual({ outcome: 'ignore', reason: 'job is already cancelled', event: null });
  });
});

describe('what each transition writes', () => {
  it('creates a pending job that is due at once', () => {
    expect(created()).toEqual({ patch: { status: 'pending', nextDispatchAt: NOW }, event: { kind: 'created', from: null, to: 'pending', progress: 0, auth: 'backend', detail: null } });
  });

  it('leases a claimed job for one more attempt without a change clients can see', () => {
    expect(decide(STATES['pending, leased to a dispatch in flight'], INPUTS.claim)).toEqual({
      outcome: 'apply', visible: false, event: null,
      patch: { dispatchedAt: NOW, dispatchAttempts: 2, nextDispatchAt: { plusMs: 60_000 } },
    });
  });

  it('says "Waiting for the ML server" when a dispatch is retried, and frees the lease until the backoff ends', () => {
    const d = decide(STATES['pending, leased to a dispatch in flight'], INPUTS['retry scheduled']);
    expect(d).toMatchObject({
      outcome: 'apply', visible: true,
      patch: { dispatchedAt: null, nextDispatchAt: { plusMs: 5_000 }, message: 'Waiting for the ML server' },
      event: { kind: 'retry_scheduled', detail: { attempt: 1, code: 'HTTP_503', retry_in_ms: 5_000 } },
    });
  });

  it('gives up as the backend, with the attempts made, and takes a refusal as the ML server\'s verdict', () => {
    expect(decide(STATES['pending, leased to a dispatch in flight'], INPUTS['given up'])).toMatchObject({
      patch: { status: 'failed', failedBy: 'backend', errorCode: 'ML_SERVER_UNAVAILABLE', errorMessage: 'The ML server could not be reached after 1 attempts (HTTP_503).', nextDispatchAt: null },
    });
    expect(decide(STATES.pending, INPUTS['refused by the ML server'])).toMatchObject({
      patch: { status: 'failed', failedBy: 'ml', errorCode: 'INVALID_REQUEST', errorMessage: 'video_url is required', nextDispatchAt: null },
    });
  });

  it('never moves progress back, keeps it when none is reported, clamps it, and derives a stage message', () => {
    const at40 = STATES.processing;
    const progressOf = (p: number | null) => {
      const d = decide(at40, { type: 'callback', auth: 'signature', report: report({ progress: p }) });
      return d.outcome === 'apply' ? [d.patch.progress, d.patch.message] : d.outcome;
    };
    expect(progressOf(10)).toEqual([40, 'Identifying speakers']);
    expect(progressOf(null)).toEqual([40, 'Identifying speakers']);
    expect(progressOf(250)).toEqual([100, 'Finalising']);
    expect(progressOf(62.6)).toEqual([63, 'Transcribing']);
    const own = decide(at40, { type: 'callback', auth: 'hmac', report: report({ progress: 70, message: 'Transcribing chunk 3' }) });
    expect(own).toMatchObject({ patch: { message: 'Transcribing chunk 3', lastHeardAt: NOW, nextDispatchAt: null } });
  });

  it('completes with the normalised result, the raw one and progress 100', () => {
    const d = decide(STATES['failed by the backend'], INPUTS.completed);
    expect(d).toMatchObject({
      outcome: 'apply',
      patch: { status: 'completed', progress: 100, message: 'Completed', errorCode: null, errorMessage: null, failedBy: null, rawResult: { segments: [] }, completedAt: NOW },
      event: { kind: 'callback', from: 'failed', to: 'completed', progress: 100, detail: null },
    });
    expect(d.outcome === 'apply' && d.patch.result).toMatchObject({ segments: [] });
  });

  it('fails with the ML server\'s code and message, or a default for each', () => {
    const withCode = decide(STATES.processing, { type: 'callback', auth: 'token', report: report({ status: 'failed', error_code: 'GPU_OOM', error_message: 'out of memory' }) });
    expect(withCode).toMatchObject({ patch: { status: 'failed', failedBy: 'ml', errorCode: 'GPU_OOM', errorMessage: 'out of memory', progress: 40, message: 'Detecting speech' }, event: { detail: { error_code: 'GPU_OOM' } } });
    const bare = decide(STATES.processing, { type: 'callback', auth: 'token', report: report({ status: 'failed' }) });
    expect(bare).toMatchObject({ patch: { errorCode: 'PROCESSING_ERROR', errorMessage: 'The ML server reported a failure.' } });
  });

  it('cancels a processing job at its progress and refuses to cancel a finished one', () => {
    expect(decide(STATES.processing, INPUTS.cancel)).toMatchObject({ patch: { status: 'cancelled', message: 'Cancelled', nextDispatchAt: null }, event: { kind: 'cancelled', progress: 40 } });
    expect(decide(STATES.completed, INPUTS.cancel)).toEqual({ outcome: 'refuse', code: 'JOB_NOT_CANCELLABLE', reason: 'The job is already completed and cannot be cancelled.' });
  });

  it('says which limit a timed-out job exceeded', () => {
    expect(decide(STATES.processing, { type: 'timeout', cause: 'silence', seconds: 600 })).toMatchObject({
      patch: { status: 'failed', failedBy: 'backend', errorCode: 'PROCESSING_TIMEOUT', errorMessage: 'No word from the ML server for 600 seconds.' },
    });
    expect(decide(STATES.processing, { type: 'timeout', cause: 'cap', seconds: 1800 })).toMatchObject({
      patch: { errorMessage: 'Processing took longer than 1800 seconds.' },
    });
  });
});
