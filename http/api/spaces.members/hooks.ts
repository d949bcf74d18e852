import type { AppDeps } from '../../deps.ts';
import type { Role } from '../spaces/access.ts';

export interface MemberAdded {
  spaceId: string;
  spaceName: string;
  userId: string;
  role: Role;
  addedBy: string;
}

/**
 * Called after a member is added and the row is committed. This is where the notifications family will produce the
 * new member's `space.member_added` notification (inbox actor command); until it lands the event is only logged.
 * Must not throw into the request: the membership exists whatever happens here.
 */
export async function onMemberAdded(deps: AppDeps, e: MemberAdded): Promise<void> {
  deps.log.debug({ space_id: e.spaceId, user_id: e.userId, role: e.role, added_by: e.addedBy }, 'space member added');
}
