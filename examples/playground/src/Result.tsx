/** A job's page: its status while it runs; the video, transcript, charts and downloads once completed. */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { TranscriptResult } from '@ecg/sdk';
import { toSrt, toVtt } from '@ecg/sdk/subtitles';
import { FeaturePlot, Timeline } from './Charts.js';
import { ecg } from './ecg.js';
import { speakerColours } from './speakers.js';
import { Transcript } from './Transcript.js';
import { timedWords, turnsOf, wordAt } from './words.js';

function Downloads({ result, base }: { result: TranscriptResult; base: string }) {
  const links = useMemo(
    () => [
      { label: 'WebVTT', file: `${base}.vtt`, url: URL.createObjectURL(new Blob([toVtt(result)], { type: 'text/vtt' })) },
      { label: 'SRT', file: `${base}.srt`, url: URL.createObjectURL(new Blob([toSrt(result)], { type: 'application/x-subrip' })) },
      { label: 'JSON', file: `${base}.json`, url: URL.createObjectURL(new Blob([JSON.stringify(result, null, 2)], { type: 'application/json' })) },
    ],
    [result, base],
  );
  useEffect(() => () => links.forEach((l) => URL.revokeObjectURL(l.url)), [links]);
  return (
    <nav aria-label="Downloads" className="downloads">
      {links.map((l) => (
        <a key={l.label} className="button" href={l.url} download={l.file}>
          Download {l.label}
        </a>
      ))}
    </nav>
  );
}

function Completed({ jobId, result }: { jobId: string; result: TranscriptResult }) {
  const video = ecg.useJobVideo(jobId);
  const player = useRef<HTMLVideoElement>(null);
  const [time, setTime] = useState(0);
  const words = useMemo(() => timedWords(result), [result]);
  const turns = useMemo(() => turnsOf(result, words), [result, words]);
  const colour = useMemo(() => speakerColours(result.speakers), [result.speakers]);
  const duration = result.duration ?? Math.max(1, ...result.segments.map((s) => s.end));
  const current = wordAt(words, time);

  const seek = useCallback((t: number) => {
    setTime(t);
    if (player.current) player.current.currentTime = t;
  }, []);
  const sync = () => player.current && setTime(player.current.currentTime);
  const base = (result.metadata.filename ?? jobId).replace(/\.[^.]+$/, '');

  return (
    <>
      <div className="player panel">
        {video.error ? (
          <p role="alert">The video cannot be shown: {video.error.code}</p>
        ) : (
          <video ref={player} src={video.data?.video_url} controls preload="auto" onTimeUpdate={sync} onSeeked={sync} aria-label="The uploaded video" />
        )}
        <p className="summary">
          {result.speakers.length} speakers, {result.segments.length} segments, language {result.language ?? 'unknown'}
        </p>
        <Downloads result={result} base={base} />
      </div>
      <Transcript turns={turns} current={current} colour={colour} onSeek={seek} />
      <Timeline result={result} duration={duration} time={time} colour={colour} onSeek={seek} />
      <FeaturePlot words={words} duration={duration} time={time} />
    </>
  );
}

/** The name the file was uploaded with: storage keys prefix it with a time and a random part (docs/storage.md). */
const uploadedName = (stored: string | null | undefined) => stored?.replace(/^\d{8}_\d{6}_[0-9a-f]{8}_/, '');

export function JobView({ jobId, onClose }: { jobId: string; onClose: () => void }) {
  const job = ecg.useJob(jobId);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), [jobId]);
  return (
    <section aria-labelledby="job-title" className="job">
      <div className="job-head">
        <h2 id="job-title" ref={heading} tabIndex={-1}>
          {uploadedName(job.data?.result?.metadata.filename) ?? 'Job'} <span className="job-id">{jobId}</span>
        </h2>
        <button type="button" onClick={onClose}>Back to uploads</button>
      </div>
      {job.error && <p role="alert">{job.error.code}: {job.error.message}</p>}
      {job.data && job.data.status !== 'completed' && (
        <p className="panel" aria-live="polite">
          {job.data.status}: {job.data.message ?? ''} ({job.data.progress}%)
          {job.data.error_message ? ` ${job.data.error_message}` : ''}
        </p>
      )}
      {job.data?.status === 'completed' && job.data.result && <Completed jobId={jobId} result={job.data.result} />}
    </section>
  );
}
