import type { HttpResponse } from 'uWebSockets.js';

export const API_BODY_LIMIT = 1024 * 1024;

/**
 * Reads a request body from uWS. Chunks are copied (uWS reuses the memory of each ArrayBuffer after the callback)
 * and counted; past `limit` the read stops and `onTooLarge` is called once.
 */
export function readBody(res: HttpResponse, limit: number, onDone: (body: Buffer) => void, onTooLarge: () => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  res.onData((ab, isLast) => {
    if (over) return;
    size += ab.byteLength;
    if (size > limit) {
      over = true;
      onTooLarge();
      return;
    }
    if (ab.byteLength > 0) chunks.push(Buffer.from(ab.slice(0)));
    if (isLast) onDone(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
  });
}

const ALLOWED_TYPES = ['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data'];

/** The media type of a Content-Type header, or null when absent. */
export const mediaType = (ct: string | undefined): string | null => (ct ? ct.split(';')[0]!.trim().toLowerCase() : null);

export function checkContentType(ct: string | undefined): { ok: true } | { ok: false; message: string } {
  const mt = mediaType(ct);
  if (mt === null) return { ok: false, message: 'Missing Content-Type header' };
  if (!ALLOWED_TYPES.includes(mt)) return { ok: false, message: `Unsupported Content-Type: ${mt}; allowed: ${ALLOWED_TYPES.join(', ')}` };
  return { ok: true };
}
