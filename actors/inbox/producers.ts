import type { ActorSystem, CommitListener } from '../../runtime/actors/index.ts';
import type { Logger } from '../../runtime/log.ts';
import type { StreamEvent } from '../../runtime/streams/types.ts';
import { inboxKind } from './kind.ts';
import type { NotificationInput } from './state.ts';

/**
 * Where notifications come from. Each producer tells the recipient's inbox actor with a command id derived from the
 * cause, so the same cause delivered twice creates one notification (actor_commands deduplicates for 24 h).
 *
 * Delivery is at-most-once in one window: a process that dies after the cause committed and before its `tell` was
 * queued loses that notification (runs, member adds). Reminders close that window with a retry timer of their own
 * (actors/reminder/delivery.ts); the run actor has no such timer, and a lost "run completed" notice was judged
 * acceptable next to an outbox table on the run's hot path.
 */
export function notifyUser(actors: ActorSystem, userId: string, notification: NotificationInput, commandId?: string): Promise<void> {
  return actors.tell(inboxKind, userId, { type: 'notify', notification }, commandId ? { commandId } : {});
}

interface RunSnapshot {
  id: string;
  thread_id: string;
  account_id: string;
  requester_account_id: string | null;
  output: string | null;
  error: string | null;
}

const RUN_TERMINAL: Record<string, 'run.completed' | 'run.failed' | undefined> = {
  completed: 'run.completed',
  error: 'run.failed',
  'run.failed': 'run.failed',
  // `cancelled`: someone chose to stop the run; telling its requester about their own (or a co-editor's) decision
  // is noise, so no notification.
};

/** Commit listener for the `run` kind: the requester hears about their run completing or failing. */
export function runNotifications(actors: ActorSystem, log: Logger): CommitListener {
  return async (batch) => {
    const tells: Promise<void>[] = [];
    for (const a of batch.actors) {
      const run = a.state as RunSnapshot;
      if (!run.requester_account_id) continue;
      for (const e of a.events as StreamEvent[]) {
        const type = RUN_TERMINAL[e.type];
        if (!type) continue;
        const failed = type === 'run.failed';
        tells.push(
          notifyUser(
            actors,
            run.requester_account_id,
            {
              type,
              space_id: run.account_id,
              title: failed ? 'Run failed' : 'Run completed',
              body: failed ? run.error : run.output,
              data: { run_id: run.id, thread_id: run.thread_id, space_id: run.account_id, event_id: e.id, status: failed ? 'failed' : 'completed' },
            },
            `run:${run.id}:${e.id}`,
          ).catch((err: unknown) => log.warn({ err, run_id: run.id }, 'run notification not queued')),
        );
      }
    }
    await Promise.all(tells);
  };
}

export interface MemberAddedNotice {
  spaceId: string;
  spaceName: string;
  userId: string;
  role: string;
  addedBy: string;
}

/** The new member of a space hears about it (`workspace.invite`, the type the original used for member adds). */
export function notifyMemberAdded(actors: ActorSystem, e: MemberAddedNotice): Promise<void> {
  return notifyUser(actors, e.userId, {
    type: 'workspace.invite',
    space_id: e.spaceId,
    title: `You were added to ${e.spaceName}`,
    body: `Role: ${e.role}`,
    data: { space_id: e.spaceId, space_name: e.spaceName, role: e.role, added_by: e.addedBy },
  });
}

/**
 * Hooks for git hosting (not built yet): call these where a pull request review is requested and where a PR
 * comment or review (or an @mention in one) is posted. `eventId` is the id of that review request / comment, so a
 * retried hook notifies once. The original produced `pr.comment` for comments and reviews alike.
 */
export function notifyPrReviewRequested(
  actors: ActorSystem,
  e: { reviewerId: string; spaceId: string; repoId: string; prNumber: number; prTitle: string; requestedBy: string; eventId: string },
): Promise<void> {
  return notifyUser(
    actors,
    e.reviewerId,
    {
      type: 'pr.review.requested',
      space_id: e.spaceId,
      title: `Review requested: ${e.prTitle}`,
      data: { repo_id: e.repoId, pr_number: e.prNumber, requested_by: e.requestedBy },
    },
    `pr-review:${e.eventId}:${e.reviewerId}`,
  );
}

export function notifyPrComment(
  actors: ActorSystem,
  e: { recipientId: string; spaceId: string; repoId: string; prNumber: number; prTitle: string; authorId: string; excerpt: string; mention: boolean; eventId: string },
): Promise<void> {
  return notifyUser(
    actors,
    e.recipientId,
    {
      type: 'pr.comment',
      space_id: e.spaceId,
      title: e.mention ? `You were mentioned in ${e.prTitle}` : `New comment on ${e.prTitle}`,
      body: e.excerpt,
      data: { repo_id: e.repoId, pr_number: e.prNumber, author_id: e.authorId, mention: e.mention },
    },
    `pr-comment:${e.eventId}:${e.recipientId}`,
  );
}
