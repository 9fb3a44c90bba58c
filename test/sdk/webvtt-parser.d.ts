/** Types for the parts of `webvtt-parser` (the W3C validator's parser, shipped without types) the tests use. */
declare module 'webvtt-parser' {
  export type CueNode =
    | { type: 'text'; value: string }
    | { type: 'timestamp'; value: number }
    | { type: 'object'; name: string; value?: string; classes: string[]; children: CueNode[] };

  export interface ParsedCue {
    id: string;
    startTime: number;
    endTime: number;
    text: string;
    tree: { children: CueNode[] };
  }

  export interface ParseError {
    message: string;
    line: number;
    col?: number;
  }

  export class WebVTTParser {
    /** `entities`: the named character references to decode (the package's html-entities.json for all of them). */
    constructor(entities?: Record<string, string>);
    parse(input: string, mode?: 'metadata' | 'chapters'): { cues: ParsedCue[]; errors: ParseError[] };
  }
}
