import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Encryption at rest of a space's environment values (spec workspace 2, "common env"): AES-256-GCM with a key per
 * (space, name) derived by HKDF-SHA256 from the install's ENCRYPTION_KEY. The space id and the name are also the
 * cipher's additional data, so a ciphertext moved to another row or space does not decrypt. Stored as the JSON text
 * the original stores: {ciphertext, iv, tag, alg: "AES-256-GCM", v: 1} with base64 fields.
 *
 * Differs from the original on purpose: HKDF, not PBKDF2 with 100,000 iterations. ENCRYPTION_KEY is 32 random bytes
 * (generated on first start when not configured), not a password, so stretching protects nothing, and it cost tens
 * of milliseconds per value on every list and every run that reads a key.
 */
export class EnvCipher {
  private readonly master: Buffer;

  /** `secret`: 64 hex digits (optionally 0x-prefixed) are taken as bytes, anything else as UTF-8, as the original. */
  constructor(secret: string) {
    const hex = secret.startsWith('0x') ? secret.slice(2) : secret;
    this.master = /^[0-9a-fA-F]{64}$/.test(hex) ? Buffer.from(hex, 'hex') : Buffer.from(secret, 'utf8');
    if (this.master.length < 32) throw new Error('ENCRYPTION_KEY must be at least 32 bytes');
  }

  encrypt(spaceId: string, name: string, value: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.keyFor(spaceId, name), iv);
    c.setAAD(aad(spaceId, name));
    const ciphertext = Buffer.concat([c.update(value, 'utf8'), c.final()]);
    return JSON.stringify({ ciphertext: ciphertext.toString('base64'), iv: iv.toString('base64'), tag: c.getAuthTag().toString('base64'), alg: 'AES-256-GCM', v: 1 });
  }

  /** Throws when the stored text was not written for this (space, name) with this key. */
  decrypt(spaceId: string, name: string, stored: string): string {
    const s = JSON.parse(stored) as { ciphertext: string; iv: string; tag: string; alg: string; v: number };
    if (s.alg !== 'AES-256-GCM' || s.v !== 1) throw new Error(`unsupported env value format ${s.alg} v${s.v}`);
    const d = createDecipheriv('aes-256-gcm', this.keyFor(spaceId, name), Buffer.from(s.iv, 'base64'));
    d.setAAD(aad(spaceId, name));
    d.setAuthTag(Buffer.from(s.tag, 'base64'));
    return Buffer.concat([d.update(Buffer.from(s.ciphertext, 'base64')), d.final()]).toString('utf8');
  }

  /** A keyed hash of a client address for audit rows: comparable between rows, not reversible to the address. */
  ipHash(ip: string): string {
    return createHmac('sha256', Buffer.from(hkdfSync('sha256', this.master, 'audit-ip', 'takos audit ip v1', 32))).update(ip).digest('hex');
  }

  private keyFor(spaceId: string, name: string): Buffer {
    return Buffer.from(hkdfSync('sha256', this.master, `common-env:${spaceId}:${name}`, 'takos common-env v1', 32));
  }
}

const aad = (spaceId: string, name: string) => Buffer.from(`${spaceId}\0${name}`, 'utf8');
