import type { AppDeps } from '../../deps.ts';
import type { Role } from '../spaces/access.ts';
import { notifyMemberAdded } from '../../../actors/inbox/producers.ts';

export interface MemberAdded {
  spaceId: string;
  spaceName: string;
  userId: string;
  role: Role;
  addedBy: string;
}

/**
 * Called after a member is added and the row is committed: the new member gets a `workspace.invite` notification
 * (told to their inbox actor, not awaited beyond queueing). Must not throw into the request: the membership exists
 * whatever happens here (the caller logs a failure).
 */
export async function onMemberAdded(deps: AppDeps, e: MemberAdded): Promise<void> {
  deps.log.debug({ space_id: e.spaceId, user_id: e.userId, role: e.role, added_by: e.addedBy }, 'space member added');
  await notifyMemberAdded(deps.actors, e);
}
