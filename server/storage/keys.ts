/**
 * Object keys shared by both drivers: `a/b/c.mp4`, no empty, `.` or `..` segment, no leading slash,
 * no backslash, no NUL or other control character, no Windows drive prefix, at most 1024 UTF-8 bytes.
 * Keys the backend generates (`videos/{owner}/{stamp}_{hex}_{filename}`) always pass.
 */
export function isSafeKey(key: unknown): key is string {
  if (typeof key !== 'string' || key.length === 0) return false;
  if (Buffer.byteLength(key, 'utf8') > 1024) return false;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(key)) return false;
  if (key.startsWith('/') || /^[A-Za-z]:/.test(key)) return false;
  return key.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}

export function assertSafeKey(key: string): void {
  if (!isSafeKey(key)) throw new TypeError(`Invalid storage key: ${JSON.stringify(key)}`);
}

/** Percent-encodes each segment, keeping the slashes. */
export function encodeKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

/** Inverse of `encodeKey` for a raw URL path tail; `null` when it does not decode to a safe key. */
export function decodeKeyPath(rawPath: string): string | null {
  let key: string;
  try {
    key = rawPath.split('/').map(decodeURIComponent).join('/');
  } catch {
    return null;
  }
  return isSafeKey(key) ? key : null;
}

export function assertExpiresIn(expiresIn: number): void {
  if (!Number.isInteger(expiresIn) || expiresIn <= 0) {
    throw new RangeError(`expiresIn must be a positive integer number of seconds, got ${expiresIn}`);
  }
}

/** The arguments of `Storage.presignUpload`, checked the same way by both drivers. */
export function assertPresignUpload(key: string, opts: { contentType: string; maxBytes: number; expiresIn: number }): void {
  assertSafeKey(key);
  assertExpiresIn(opts.expiresIn);
  if (!opts.contentType) throw new TypeError('presignUpload: contentType must be a non-empty string');
  if (!Number.isSafeInteger(opts.maxBytes) || opts.maxBytes < 0) throw new RangeError('presignUpload: maxBytes must be a non-negative integer');
}

/** `input` as a URL, or null when it does not parse or carries a username or password. */
export function parseUrlWithoutCredentials(input: string): URL | null {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return null;
  }
  return url.username === '' && url.password === '' ? url : null;
}
