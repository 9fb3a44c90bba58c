/** The speaker timeline and the per-word volume and pitch plot, in plain SVG. */
import type { TranscriptResult } from '@ecg/sdk';
import { speakerName } from './speakers.js';
import { clock, type TimedWord } from './words.js';

const W = 1000;

export function Timeline({ result, duration, time, colour, onSeek }: {
  result: TranscriptResult;
  duration: number;
  time: number;
  colour: (s: string | null) => string;
  onSeek: (t: number) => void;
}) {
  const speakers = result.speakers.length > 0 ? result.speakers : [null];
  const row = 28;
  const label = 130;
  const x = (t: number) => label + ((W - label) * t) / duration;
  const height = row * speakers.length + 20;
  return (
    <section aria-labelledby="timeline-title" className="panel">
      <h3 id="timeline-title">Speakers over time</h3>
      {/* Scrolls sideways on narrow screens rather than shrinking its labels; focusable, so keys scroll it. */}
      <div className="chart-scroll" tabIndex={0} role="group" aria-labelledby="timeline-title">
      <svg className="chart" viewBox={`0 0 ${W} ${height}`} role="img" aria-labelledby="timeline-desc">
        <desc id="timeline-desc">
          {speakers.map((s) => `${speakerName(s)} speaks ${result.segments.filter((g) => g.speaker.speaker_id === s).length} times`).join('; ')}
        </desc>
        {speakers.map((s, i) => (
          <g key={s ?? 'none'}>
            <text x={0} y={i * row + 19} fontSize={14} fill={colour(s)}>{speakerName(s)}</text>
            {result.segments
              .filter((g) => g.speaker.speaker_id === s)
              .map((g) => (
                <rect
                  key={g.id}
                  className="turn-bar"
                  x={x(g.start)}
                  y={i * row + 4}
                  width={Math.max(2, x(g.end) - x(g.start))}
                  height={row - 8}
                  fill={colour(s)}
                  onClick={() => onSeek(g.start)}
                >
                  <title>{`${speakerName(s)} ${clock(g.start)}–${clock(g.end)}`}</title>
                </rect>
              ))}
          </g>
        ))}
        <line className="playhead" x1={x(time)} x2={x(time)} y1={0} y2={height - 20} stroke="#111" strokeWidth={2} />
        <text x={label} y={height - 4} fontSize={12} fill="#333">0:00</text>
        <text x={W} y={height - 4} fontSize={12} fill="#333" textAnchor="end">{clock(duration)}</text>
      </svg>
      </div>
    </section>
  );
}

interface Series {
  key: 'volume_db' | 'pitch_hz';
  name: string;
  unit: string;
  colour: string;
}

const SERIES: Series[] = [
  { key: 'volume_db', name: 'Volume', unit: 'dB', colour: '#1f5fa8' },
  { key: 'pitch_hz', name: 'Pitch', unit: 'Hz', colour: '#a3320b' },
];

/** Evenly spaced, padded bounds of the values (a flat series still gets a band). */
function domain(values: number[]): [number, number] {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const pad = hi === lo ? 1 : (hi - lo) * 0.1;
  return [lo - pad, hi + pad];
}

/** One panel per series: volume (dB) and pitch (Hz) of each word, at the word's start. */
export function FeaturePlot({ words, duration, time }: { words: TimedWord[]; duration: number; time: number }) {
  const left = 70;
  const panel = 160;
  const gap = 40;
  const x = (t: number) => left + ((W - left - 10) * t) / duration;
  return (
    <section aria-labelledby="plot-title" className="panel">
      <h3 id="plot-title">Volume and pitch per word</h3>
      <div className="chart-scroll" tabIndex={0} role="group" aria-labelledby="plot-title">
      <svg className="chart" viewBox={`0 0 ${W} ${SERIES.length * (panel + gap)}`} role="img" aria-labelledby="plot-desc">
        <desc id="plot-desc">Volume in decibels and pitch in hertz of each word, over time.</desc>
        {SERIES.map((s, i) => {
          const points = words.filter((w) => w[s.key] !== null).map((w) => ({ w, v: w[s.key]! }));
          if (points.length === 0) return null;
          const [lo, hi] = domain(points.map((p) => p.v));
          const top = i * (panel + gap) + 20;
          const y = (v: number) => top + panel - ((v - lo) / (hi - lo)) * panel;
          return (
            <g key={s.key} data-series={s.key}>
              <text x={0} y={top - 6} fontSize={14} fill={s.colour}>{`${s.name} (${s.unit})`}</text>
              <line x1={left} x2={W - 10} y1={top + panel} y2={top + panel} stroke="#666" />
              <line x1={left} x2={left} y1={top} y2={top + panel} stroke="#666" />
              <text x={left - 6} y={top + 10} fontSize={12} textAnchor="end" fill="#333">{hi.toFixed(0)}</text>
              <text x={left - 6} y={top + panel} fontSize={12} textAnchor="end" fill="#333">{lo.toFixed(0)}</text>
              <polyline fill="none" stroke={s.colour} strokeWidth={1.5} points={points.map((p) => `${x(p.w.start)},${y(p.v)}`).join(' ')} />
              {points.map((p) => (
                <circle
                  key={p.w.index}
                  className="point"
                  data-index={p.w.index}
                  data-time={p.w.start}
                  data-value={p.v}
                  cx={x(p.w.start)}
                  cy={y(p.v)}
                  r={3.5}
                  fill={s.colour}
                >
                  <title>{`${p.w.word} at ${p.w.start.toFixed(2)} s: ${p.v} ${s.unit}`}</title>
                </circle>
              ))}
              <line className="playhead" x1={x(time)} x2={x(time)} y1={top} y2={top + panel} stroke="#111" />
            </g>
          );
        })}
      </svg>
      </div>
    </section>
  );
}
