/** Speaker turns; the current word is highlighted, and a click on a word seeks the video to it. */
import { memo } from 'react';
import { speakerName } from './speakers.js';
import { clock, type Turn } from './words.js';

interface Props {
  turns: Turn[];
  current: number;
  colour: (speaker: string | null) => string;
  onSeek: (time: number) => void;
}

export const Transcript = memo(function Transcript({ turns, current, colour, onSeek }: Props) {
  return (
    <section aria-labelledby="transcript-title" className="panel transcript">
      <h3 id="transcript-title">Transcript</h3>
      <ol className="turns">
        {turns.map((turn, t) => (
          <li key={t} className="turn" data-speaker={turn.speaker ?? ''} style={{ borderInlineStartColor: colour(turn.speaker) }}>
            <p className="turn-head">
              <span className="speaker" style={{ color: colour(turn.speaker) }}>{speakerName(turn.speaker)}</span>
              <button type="button" className="time" onClick={() => onSeek(turn.start)} aria-label={`Play from ${clock(turn.start)}`}>
                {clock(turn.start)}
              </button>
            </p>
            <p className="turn-text">
              {turn.parts.map((part) =>
                part.words.length === 0 ? (
                  <span key={part.id}>{part.text} </span>
                ) : (
                  part.words.map((w) => (
                    <button
                      key={w.index}
                      type="button"
                      className="word"
                      data-index={w.index}
                      data-start={w.start}
                      aria-current={w.index === current ? 'true' : undefined}
                      onClick={() => onSeek(w.start)}
                    >
                      {w.word}
                    </button>
                  ))
                ),
              )}
            </p>
          </li>
        ))}
      </ol>
    </section>
  );
});
