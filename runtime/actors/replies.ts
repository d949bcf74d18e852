import type { Redis } from 'ioredis';
import type { RedisKeys } from '../keys.ts';
import type { Logger } from '../log.ts';
import { encodeReply, type Envelope, type Outcome } from './envelope.ts';
import { GROUP } from './inbox.ts';
import { scripts } from './scripts.ts';

/**
 * The three ways a host lets go of a command (see the table in envelope.ts): answer it, hand it back unapplied, or
 * acknowledge it in its inbox. Publishing and acknowledging are not awaited: both go through the auto-pipelined
 * command connection in order (reply first, then ack), and a failed ack only means a replay that is deduplicated.
 */
export class Replies {
  constructor(
    private readonly cmd: Redis,
    private readonly keys: RedisKeys,
    private readonly kind: string,
    private readonly log: Logger,
    private readonly inFlightTimers: Set<string>,
  ) {}

  settle(env: Envelope, outcome: Outcome): void {
    if (env.settle) env.settle(outcome);
    else if (env.replyTo) this.cmd.publish(env.replyTo, encodeReply(env.commandId, outcome)).catch((err: unknown) => this.log.warn({ err }, 'actor reply publish failed'));
  }

  /** A command this process will not apply after all: local -> re-sent by its client; stream -> left pending. */
  handBack(env: Envelope): void {
    if (env.settle) env.settle('moved');
    if (env.timer) this.inFlightTimers.delete(env.timer.timerId);
  }

  ack(acks: Map<number, string[]>): void {
    for (const [p, ids] of acks) {
      scripts
        .ackCommands(this.cmd, this.keys.actorInbox(this.kind, p), GROUP, ids)
        .catch((err: unknown) => this.log.warn({ err, kind: this.kind, partition: p }, 'actor ack failed; the commands will be replayed and deduplicated'));
    }
  }
}

/** Adds a stream entry id to the per-partition ack lists. */
export function addAck(acks: Map<number, string[]>, partition: number, id: string): void {
  const a = acks.get(partition);
  if (a) a.push(id);
  else acks.set(partition, [id]);
}
