/** Which files may be uploaded: video and audio only (docs/storage.md). */
const BY_EXTENSION: Record<string, string> = {
  mp4: 'video/mp4', m4v: 'video/x-m4v', mov: 'video/quicktime', webm: 'video/webm', mkv: 'video/x-matroska',
  avi: 'video/x-msvideo', wmv: 'video/x-ms-wmv', flv: 'video/x-flv', mpeg: 'video/mpeg', mpg: 'video/mpeg',
  '3gp': 'video/3gpp', ts: 'video/mp2t', ogv: 'video/ogg',
  mp3: 'audio/mpeg', m4a: 'audio/mp4', aac: 'audio/aac', wav: 'audio/wav', flac: 'audio/flac', ogg: 'audio/ogg',
  oga: 'audio/ogg', opus: 'audio/opus', weba: 'audio/webm', wma: 'audio/x-ms-wma', amr: 'audio/amr',
};

/** The content type for a file name's extension, or undefined when it is not a known video or audio type. */
export function contentTypeFor(filename: string): string | undefined {
  const ext = /\.([A-Za-z0-9]+)$/.exec(filename)?.[1]?.toLowerCase();
  return ext ? BY_EXTENSION[ext] : undefined;
}

/** `video/*` or `audio/*` with a plausible subtype and no parameters that could smuggle anything. */
export function isMediaType(type: string): boolean {
  return /^(video|audio)\/[a-z0-9][a-z0-9.+-]{0,100}$/i.test(type);
}
