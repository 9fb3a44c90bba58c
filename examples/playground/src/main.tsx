/** The playground: upload videos, follow them, and look at what came back (served at /playground). */
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { useCallback, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { readToken, writeToken } from './ecg.js';
import { useRecentJobs } from './recent.js';
import { JobView } from './Result.js';
import { Uploads } from './Uploads.js';
import './styles.css';

const jobInHash = () => /^#job\/([0-9a-f-]{36})$/i.exec(location.hash)?.[1] ?? null;

function TokenField() {
  const [token, setToken] = useState(readToken);
  return (
    <label className="token">
      API token <span className="hint">(only when the server requires one; kept for this tab)</span>
      <input
        type="password"
        autoComplete="off"
        value={token}
        onChange={(e) => {
          setToken(e.target.value);
          writeToken(e.target.value.trim());
        }}
      />
    </label>
  );
}

function App() {
  const [open, setOpen] = useState(jobInHash);
  const recent = useRecentJobs();
  useEffect(() => {
    const onHash = () => setOpen(jobInHash());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  const show = useCallback((id: string | null) => {
    location.hash = id ? `job/${id}` : '';
    setOpen(id);
  }, []);
  const onStarted = useCallback((id: string, name: string) => recent.remember({ id, name }), [recent.remember]);

  return (
    <>
      <header className="top">
        <h1>ECG playground</h1>
        <nav aria-label="Site">
          <a href="/docs">API reference</a>
        </nav>
      </header>
      <main>
        <TokenField />
        {/* Kept mounted while a result is open, so uploads in progress go on. */}
        <div hidden={open !== null}>
          <Uploads onStarted={onStarted} onOpen={show} />
          <section aria-labelledby="recent-title" className="panel">
            <h2 id="recent-title">Recent jobs</h2>
            {recent.jobs.length === 0 ? (
              <p>Jobs started from this browser appear here.</p>
            ) : (
              <>
                <ul className="recent">
                  {recent.jobs.map((j) => (
                    <li key={j.id}>
                      <a href={`#job/${j.id}`}>{j.name}</a> <span className="job-id">{new Date(j.at).toLocaleString()}</span>
                    </li>
                  ))}
                </ul>
                <button type="button" onClick={recent.forget}>Forget these</button>
              </>
            )}
          </section>
        </div>
        {open && <JobView jobId={open} onClose={() => show(null)} />}
      </main>
    </>
  );
}

createRoot(document.getElementById('root')!).render(
  <QueryClientProvider client={new QueryClient()}>
    <App />
  </QueryClientProvider>,
);
