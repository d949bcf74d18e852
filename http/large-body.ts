import type { HttpResponse } from 'uWebSockets.js';

/** Bodies above this many bytes are sent with endInPieces rather than end(). */
export const STREAM_ABOVE = 64 * 1024;

/**
 * Ends `res` with `body` as the socket takes it: tryEnd, then, on backpressure, onWritable with the offset reached,
 * the way uWS's authors say large bodies must go out (uWebSockets.js #329). end() copies whatever the socket did not
 * take at once into uWS's own buffer: for a slow reader of a 2.45 MB task list, most of it, per request. Call inside
 * res.cork, after the status and headers; `aborted` says whether the client has gone (onAborted, set by the caller).
 */
export function endInPieces(res: HttpResponse, body: Buffer, aborted: () => boolean): void {
  const total = body.length;
  const start = res.getWriteOffset();
  const [ok, done] = res.tryEnd(body, total);
  if (ok || done) return;
  res.onWritable((offset) => {
    if (aborted()) return true;
    const [more] = res.tryEnd(body.subarray(offset - start), total);
    return more;
  });
}
