/**
 * A small app on `@ecg/sdk/react`, bundled by test/browser/react.test.ts: pick files, see each one's
 * upload bar, then its job's progress, then its transcript.
 */
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { createRoot } from 'react-dom/client';
import { createBackendClient } from '@ecg/sdk';
import { createEcgReact, EcgApiError, type ProcessItem } from '@ecg/sdk/react';

const api = new URLSearchParams(location.search).get('api') ?? location.origin;
const ecg = createEcgReact(createBackendClient({ baseUrl: api }));

function Item({ item }: { item: ProcessItem }) {
  // useJob over the same job shares the stream useProcessVideo started.
  const job = ecg.useJob(item.jobId);
  return (
    <li data-testid="item" data-stage={item.stage} data-upload={item.upload.percent}>
      <span>{item.name}</span>
      <progress aria-label={`Upload of ${item.name}`} max={100} value={item.upload.percent} />
      <progress aria-label={`Processing of ${item.name}`} max={100} value={item.job?.progress ?? 0} />
      <span data-testid="stage">{item.stage}</span>
      {item.error && <span role="alert">{item.error.code}</span>}
      {job.data?.status === 'completed' && <p data-testid="transcript" data-job={job.data.job_id}>{job.data.result?.text}</p>}
    </li>
  );
}

/** `?job=<id>`: one job followed by id alone. */
function Watch({ jobId }: { jobId: string }) {
  const job = ecg.useJob(jobId);
  const video = ecg.useJobVideo(jobId);
  if (job.error && video.error) {
    return (
      <p role="alert" data-code={job.error.code} data-instance={String(job.error instanceof EcgApiError)} data-video-code={video.error.code}>
        {job.error.message}
      </p>
    );
  }
  return <p data-testid="watched">{job.data?.status ?? 'loading'}</p>;
}

/** `?mode=upload`: uploads only, each with its own bar, state, error and abort button. */
function Uploads() {
  const { uploads, upload } = ecg.useUploadVideo();
  return (
    <main>
      <label>
        Files <input type="file" multiple onChange={(e) => e.target.files && void upload(e.target.files)} />
      </label>
      <ul>
        {uploads.map((u) => (
          <li key={u.id} data-testid="upload" data-name={u.name} data-state={u.state} data-key={u.fileKey ?? ''} data-code={u.error?.code ?? ''}>
            <progress aria-label={`Upload of ${u.name}`} max={100} value={u.progress.percent} />
            <button type="button" onClick={u.abort}>Abort {u.name}</button>
          </li>
        ))}
      </ul>
    </main>
  );
}

function App() {
  const params = new URLSearchParams(location.search);
  const watched = params.get('job');
  if (watched) return <Watch jobId={watched} />;
  if (params.get('mode') === 'upload') return <Uploads />;
  const { items, process } = ecg.useProcessVideo();
  return (
    <main>
      <label>
        Videos <input type="file" multiple onChange={(e) => e.target.files && void process(e.target.files)} />
      </label>
      <ul>{items.map((i) => <Item key={i.id} item={i} />)}</ul>
    </main>
  );
}

createRoot(document.getElementById('root')!).render(
  <QueryClientProvider client={new QueryClient()}>
    <App />
  </QueryClientProvider>,
);
