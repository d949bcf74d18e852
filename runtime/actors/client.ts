import type { Redis } from 'ioredis';
import { newId } from '../ids.ts';
import type { RedisKeys } from '../keys.ts';
import type { Logger } from '../log.ts';
import { encodeStreamFields, localEnvelope, type Outcome, type ReplyMessage } from './envelope.ts';
import { ActorTimeoutError, ActorUnavailableError, fromWireError } from './errors.ts';
import type { KindHost } from './host.ts';
import { partitionOf } from './partitions.ts';
import type { SendOptions } from './types.ts';

export interface ClientDeps {
  cmd: Redis;
  sub: Redis;
  keys: RedisKeys;
  log: Logger;
  systemId: string;
  defaultTimeoutMs: number;
  /** Partition count per known kind. */
  partitions: (kind: string) => number;
  /** This process's host of a kind, when it hosts it (local fast path). */
  host: (kind: string) => KindHost | undefined;
}

/**
 * Sending commands. When this process owns the actor's partition, the command goes straight into the actor's
 * in-memory mailbox and is committed in the same turn and transaction as stream commands (no Redis round trip);
 * otherwise it is XADDed to the partition's inbox with this system's reply channel, and the reply comes back by
 * pub/sub. A local command whose partition moves away before it is applied is re-sent through the stream with the
 * same command id, marked "check first", so it is applied once either way.
 *
 * A timeout means "no reply in time", not "not applied": the command stays queued and may still be applied. Callers
 * that retry pass the same `commandId` and receive the stored reply if it was.
 */
export class ActorClient {
  private readonly waiters = new Map<string, Set<(m: ReplyMessage) => void>>();
  private readonly channel: string;
  private stopped = false;
  private readonly onMessage = (channel: string, message: string) => {
    if (channel !== this.channel) return;
    let parsed: ReplyMessage | ReplyMessage[];
    try {
      parsed = JSON.parse(message) as ReplyMessage | ReplyMessage[];
    } catch {
      return;
    }
    for (const m of Array.isArray(parsed) ? parsed : [parsed]) {
      const set = this.waiters.get(m.c);
      if (set) for (const w of [...set]) w(m);
    }
  };

  constructor(private readonly d: ClientDeps) {
    this.channel = d.keys.actorReplies(d.systemId);
  }

  async start(): Promise<void> {
    this.d.sub.on('message', this.onMessage);
    await this.d.sub.subscribe(this.channel);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.d.sub.off('message', this.onMessage);
    await this.d.sub.unsubscribe(this.channel).catch(() => undefined);
    const stopping: ReplyMessage = { c: '', ok: false, e: { code: 'SERVICE_UNAVAILABLE', message: 'Actor system stopped before the reply arrived', status: 503 } };
    for (const set of this.waiters.values()) for (const w of [...set]) w(stopping);
  }

  send(kind: string, id: string, command: unknown, opts: SendOptions = {}): Promise<unknown> {
    if (this.stopped) return Promise.reject(new ActorUnavailableError('Actor system is stopped'));
    const partition = partitionOf(id, this.d.partitions(kind));
    const explicit = opts.commandId !== undefined;
    const commandId = opts.commandId ?? newId();
    const timeoutMs = opts.timeoutMs ?? this.d.defaultTimeoutMs;

    return new Promise((resolve, reject) => {
      let done = false;
      let unwait: (() => void) | null = null;
      const timer = setTimeout(() => finish(null), timeoutMs);
      const finish = (outcome: Outcome | null) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        unwait?.();
        if (outcome === null) reject(new ActorTimeoutError(kind, id, timeoutMs));
        else if (outcome.ok) resolve(outcome.reply);
        else reject(fromWireError(outcome.error));
      };
      const viaStream = (check: boolean) => {
        if (!done) unwait = this.wait(commandId, (m) => finish(m.ok ? { ok: true, reply: m.r } : { ok: false, error: m.e! }));
        this.xadd(kind, partition, id, commandId, command, done ? '' : this.channel, check).catch((err: unknown) => {
          this.d.log.warn({ err, kind, id }, 'sending an actor command failed');
          if (!done) finish({ ok: false, error: { code: 'SERVICE_UNAVAILABLE', message: 'Could not reach the actor runtime', status: 503 } });
        });
      };
      const env = localEnvelope(id, commandId, command, explicit, (o) => (o === 'moved' ? viaStream(true) : finish(o)));
      if (!this.d.host(kind)?.enqueueLocal(partition, env)) viaStream(explicit);
    });
  }

  /** Enqueues a command without waiting for it to be applied. Resolves once it is queued (durably, when remote). */
  async tell(kind: string, id: string, command: unknown, opts: Pick<SendOptions, 'commandId'> = {}): Promise<void> {
    if (this.stopped) throw new ActorUnavailableError('Actor system is stopped');
    const partition = partitionOf(id, this.d.partitions(kind));
    const explicit = opts.commandId !== undefined;
    const commandId = opts.commandId ?? newId();
    const env = localEnvelope(id, commandId, command, explicit, (o) => {
      if (o === 'moved') this.xadd(kind, partition, id, commandId, command, '', true).catch((err: unknown) => this.d.log.error({ err, kind, id }, 'lost a told actor command while re-routing it'));
      else if (!o.ok) this.d.log.debug({ kind, id, error: o.error }, 'told actor command rejected');
    });
    if (this.d.host(kind)?.enqueueLocal(partition, env)) return;
    await this.xadd(kind, partition, id, commandId, command, '', explicit);
  }

  private wait(commandId: string, fn: (m: ReplyMessage) => void): () => void {
    let set = this.waiters.get(commandId);
    if (!set) this.waiters.set(commandId, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0 && this.waiters.get(commandId) === set) this.waiters.delete(commandId);
    };
  }

  private async xadd(kind: string, partition: number, id: string, commandId: string, body: unknown, replyTo: string, check: boolean): Promise<void> {
    await this.d.cmd.xadd(this.d.keys.actorInbox(kind, partition), '*', ...encodeStreamFields({ commandId, actorId: id, body, replyTo, check }));
  }
}
