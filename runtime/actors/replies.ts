import type { Redis } from 'ioredis';
import type { RedisKeys } from '../keys.ts';
import type { Logger } from '../log.ts';
import { replyMessage, type Envelope, type Outcome, type ReplyMessage } from './envelope.ts';
import { GROUP } from './inbox.ts';
import { scripts } from './scripts.ts';

/**
 * The three ways a host lets go of a command (see the table in envelope.ts): answer it, hand it back unapplied, or
 * acknowledge it in its inbox. Remote replies and acks are gathered for the rest of the current tick and sent
 * together: one PUBLISH per reply channel (a JSON array when several replies go to the same sender: 50 senders on one
 * hot key in one process get one message per commit, not 50), then one ackCommands per partition. Neither is
 * awaited: both go through the auto-pipelined command connection in order (replies first, then acks), and a failed
 * ack only means a replay that is deduplicated.
 */
export class Replies {
  private readonly outbox = new Map<string, ReplyMessage[]>();
  private readonly acks = new Map<number, string[]>();
  private flushing = false;

  constructor(
    private readonly cmd: Redis,
    private readonly keys: RedisKeys,
    private readonly kind: string,
    private readonly log: Logger,
    private readonly inFlightTimers: Set<string>,
  ) {}

  settle(env: Envelope, outcome: Outcome): void {
    if (env.settle) env.settle(outcome);
    else if (env.replyTo) {
      const list = this.outbox.get(env.replyTo);
      if (list) list.push(replyMessage(env.commandId, outcome));
      else this.outbox.set(env.replyTo, [replyMessage(env.commandId, outcome)]);
      this.schedule();
    }
  }

  /** A command this process will not apply after all: local -> re-sent by its client; stream -> left pending. */
  handBack(env: Envelope): void {
    if (env.settle) env.settle('moved');
    if (env.timer) this.inFlightTimers.delete(env.timer.timerId);
  }

  ack(acks: Map<number, string[]>): void {
    for (const [p, ids] of acks) for (const id of ids) addAck(this.acks, p, id);
    if (acks.size > 0) this.schedule();
  }

  private schedule(): void {
    if (this.flushing) return;
    this.flushing = true;
    queueMicrotask(() => this.flush());
  }

  private flush(): void {
    this.flushing = false;
    for (const [channel, list] of this.outbox) {
      const payload = JSON.stringify(list.length === 1 ? list[0] : list);
      this.cmd.publish(channel, payload).catch((err: unknown) => this.log.warn({ err }, 'actor reply publish failed'));
    }
    this.outbox.clear();
    for (const [p, ids] of this.acks) {
      scripts
        .ackCommands(this.cmd, this.keys.actorInbox(this.kind, p), GROUP, ids)
        .catch((err: unknown) => this.log.warn({ err, kind: this.kind, partition: p }, 'actor ack failed; the commands will be replayed and deduplicated'));
    }
    this.acks.clear();
  }
}

/** Adds a stream entry id to the per-partition ack lists. */
export function addAck(acks: Map<number, string[]>, partition: number, id: string): void {
  const a = acks.get(partition);
  if (a) a.push(id);
  else acks.set(partition, [id]);
}
