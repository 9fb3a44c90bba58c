/**
 * The public face of each hand-written entry in sdk/package.json `exports`: every name it exports,
 * values and types, read by the TypeScript compiler from the sources. A name that disappears or
 * appears here is a change of the published API, made on purpose or not at all.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const sdk = join(import.meta.dirname, '..', '..', 'sdk');

function exportsOf(entries: string[]): Record<string, string[]> {
  const files = entries.map((e) => join(sdk, 'src', `${e}.ts`));
  const program = ts.createProgram(files, { strict: true, noEmit: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, skipLibCheck: true, types: [] });
  const checker = program.getTypeChecker();
  return Object.fromEntries(
    entries.map((entry, i) => {
      const source = program.getSourceFile(files[i]!)!;
      const symbol = checker.getSymbolAtLocation(source)!;
      return [entry, checker.getExportsOfModule(symbol).map((s) => s.name).sort()];
    }),
  );
}

describe('the SDK entries', () => {
  it('are exactly the ones package.json exports, each built from a source file of the same name', () => {
    const pkg = JSON.parse(readFileSync(join(sdk, 'package.json'), 'utf8')) as { exports: Record<string, { types: string; default: string }> };
    expect(Object.keys(pkg.exports).sort()).toEqual(['.', './ml-client', './ml-server', './multipart', './react', './subtitles', './v1.0', './v1.1', './webhooks']);
    for (const [name, target] of Object.entries(pkg.exports)) {
      const file = name === '.' ? 'index' : name.slice(2);
      expect(target).toEqual({ types: `./dist/${file}.d.ts`, default: `./dist/${file}.js` });
    }
  });

  it('export exactly these names', () => {
    expect(exportsOf(['index', 'ml-server', 'ml-client', 'react', 'subtitles', 'webhooks'])).toEqual({
      index: [
        'ApiErrorBody', 'ApiErrorCode', 'BackendApi', 'BackendClient', 'BackendClientOptions', 'CancelJobResponse', 'createBackendClient',
        'EcgApiError', 'FetchLike', 'GenerateUploadUrlResponse', 'JobStatus', 'JobStatusResponse', 'JobSummary', 'ListMyJobsOptions', 'MyJobsPage',
        'ProcessVideoOptions', 'RequestProcessInput',
        'RequestProcessResponse', 'RetryInfo', 'RetryOptions', 'SdkErrorCode', 'TerminalJobState', 'TerminalJobStatus', 'TokenSource',
        'TranscriptResult', 'UploadOptions', 'UploadProgress', 'UploadSource', 'WaitForJobOptions',
      ].sort(),
      'ml-server': [
        'ApiErrorBody', 'ApiErrorCode', 'CallbackAck', 'CallbackBody', 'CallbackClient', 'CallbackClientOptions', 'CallbackFetch', 'ContractVersion',
        'createCallbackClient', 'EcgApiError', 'MlCallbackBody', 'MlErrorBody', 'MlHealth', 'MlJobStatus', 'MlResult', 'MlResultMetadata', 'MlSegment',
        'MlValidationErrorBody', 'MlWord', 'ProcessVideoRequest', 'ProcessVideoRequestV1_0', 'ProcessVideoResponse', 'ProcessVideoResponseV1_0',
        'SdkErrorCode',
      ].sort(),
      'ml-client': [
        'createMlServerClient', 'JobStatusOutcome', 'MlApiVersion', 'MlFetch', 'MlHealthCheck', 'MlJobStatus', 'MlProcessVideoRequest', 'MlProcessVideoResponse', 'MlServerClient',
        'MlServerClientOptions', 'MlServerPathsFor', 'ProcessVideoOutcome',
      ].sort(),
      react: [
        'createEcgReact', 'EcgApiError', 'EcgReact', 'FilesInput', 'JobQueryKey', 'JobQueryOptions', 'JobVideoResponse', 'ProcessItem', 'ProcessStage', 'UploadItem',
        'UploadState', 'UseJobOptions', 'UseProcessVideo', 'UseUploadVideo',
      ].sort(),
      subtitles: ['SubtitleOptions', 'toSrt', 'toVtt', 'TranscriptResult'].sort(),
      webhooks: ['JobFinishedEvent', 'JobFinishedEventData', 'verifyWebhook', 'WebhookHeaders', 'WebhookVerificationError', 'WebhookVerificationReason'].sort(),
    });
  }, 60_000);
});
