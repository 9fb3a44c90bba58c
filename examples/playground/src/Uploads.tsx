/** Drop or pick files; each shows its upload, then its processing, and can be cancelled. */
import { useEffect, useRef, useState, type DragEvent } from 'react';
import type { ProcessItem } from '@ecg/sdk/react';
import { ecg } from './ecg.js';

const BUSY = new Set(['uploading', 'starting', 'pending', 'processing']);

function stageText(item: ProcessItem): string {
  switch (item.stage) {
    case 'uploading':
      return `Uploading ${item.upload.percent}%`;
    case 'starting':
      return 'Starting the job';
    case 'pending':
    case 'processing':
      return `${item.job?.message ?? 'Waiting for the ML server'} (${item.job?.progress ?? 0}%)`;
    case 'completed':
      return 'Done';
    case 'failed':
      return `Failed: ${item.job?.error_message ?? item.job?.error_code ?? 'unknown error'}`;
    case 'cancelled':
      return 'Cancelled';
    case 'aborted':
      return 'Upload cancelled';
    case 'error':
      return `Error ${item.error?.code ?? ''}: ${item.error?.message ?? ''}`;
  }
}

function Row({ item, onOpen }: { item: ProcessItem; onOpen: (jobId: string) => void }) {
  return (
    <li className="upload" data-stage={item.stage}>
      <div className="upload-head">
        <strong className="file-name">{item.name}</strong>
        <span className="stage" aria-live="polite">{stageText(item)}</span>
      </div>
      <div className="bar">
        <span aria-hidden="true">Upload</span>
        <progress aria-label={`Upload of ${item.name}`} max={100} value={item.upload.percent} />
      </div>
      <div className="bar">
        <span aria-hidden="true">Processing</span>
        <progress aria-label={`Processing of ${item.name}`} max={100} value={item.job?.progress ?? 0} />
      </div>
      <div className="actions">
        {BUSY.has(item.stage) && (
          <button type="button" onClick={item.cancel} aria-label={`Cancel ${item.name}`}>Cancel</button>
        )}
        {item.stage === 'completed' && item.jobId && (
          <button type="button" onClick={() => onOpen(item.jobId!)} aria-label={`Open result of ${item.name}`}>Open result</button>
        )}
      </div>
    </li>
  );
}

export function Uploads({ onStarted, onOpen }: { onStarted: (jobId: string, name: string) => void; onOpen: (jobId: string) => void }) {
  const { items, process } = ecg.useProcessVideo();
  const [over, setOver] = useState(false);
  const [language, setLanguage] = useState('auto');
  const input = useRef<HTMLInputElement>(null);

  const started = useRef(new Set<string>());
  useEffect(() => {
    for (const item of items) {
      if (item.jobId && !started.current.has(item.jobId)) {
        started.current.add(item.jobId);
        onStarted(item.jobId, item.name);
      }
    }
  }, [items, onStarted]);

  const drop = (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    if (e.dataTransfer.files.length > 0) void process(e.dataTransfer.files, { language });
  };

  return (
    <section aria-labelledby="upload-title" className="panel">
      <h2 id="upload-title">Upload</h2>
      <div
        className={`drop${over ? ' over' : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={drop}
      >
        <p>Drop video or audio files here, or</p>
        <label className="button">
          Choose files
          <input
            ref={input}
            className="visually-hidden"
            type="file"
            multiple
            accept="video/*,audio/*"
            onChange={(e) => {
              if (e.target.files && e.target.files.length > 0) void process(e.target.files, { language });
              e.target.value = '';
            }}
          />
        </label>
        <label className="language">
          Language
          <select value={language} onChange={(e) => setLanguage(e.target.value)}>
            <option value="auto">Detect</option>
            <option value="en">English</option>
            <option value="ko">Korean</option>
          </select>
        </label>
      </div>
      {items.length > 0 && <ul className="uploads" aria-label="Files">{items.map((i) => <Row key={i.id} item={i} onOpen={onOpen} />)}</ul>}
    </section>
  );
}
