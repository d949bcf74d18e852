/**
 * Actor addressing: `(kind, id)` -> partition. FNV-1a (32 bit) over the id's UTF-8 bytes, modulo the kind's
 * partition count. Stable across processes, Node versions and restarts (no seed), cheap (no allocation: the UTF-8
 * bytes are produced inline rather than through Buffer.from), and well spread for the short random ids we use.
 */
export const DEFAULT_PARTITIONS = 64;

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

export function fnv1a32(s: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      h = Math.imul(h ^ c, FNV_PRIME);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const lo = s.charCodeAt(i + 1);
      if (lo >= 0xdc00 && lo <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
        i++;
      }
    }
    // Lone surrogates encode as U+FFFD, as TextEncoder does.
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    const bytes =
      c < 0x800
        ? [0xc0 | (c >> 6), 0x80 | (c & 63)]
        : c < 0x10000
          ? [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63)]
          : [0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63)];
    for (const b of bytes) h = Math.imul(h ^ b, FNV_PRIME);
  }
  return h >>> 0;
}

export function partitionOf(id: string, partitions: number): number {
  return fnv1a32(id) % partitions;
}

const KIND_NAME = /^[a-z][a-z0-9_-]{0,39}$/;

export function assertKindName(name: string): void {
  if (!KIND_NAME.test(name)) throw new Error(`Actor kind name ${JSON.stringify(name)} must match ${KIND_NAME}`);
}
