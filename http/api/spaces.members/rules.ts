import { AppError, badRequest } from '../../../runtime/errors.ts';
import { atLeast, type Role } from '../spaces/access.ts';

/**
 * Who may do what to whom in member management (spec 2.5), as pure functions so the matrix reads in one place.
 * Each returns the error to throw, or null when allowed. The caller has already checked that the actor is a member.
 *
 * - `owner` is never assigned through this API (400) and the owner's membership is never changed or removed (403):
 *   a team has exactly the one owner it was created with (no transfer yet).
 * - Admins manage editors and viewers; they cannot touch other admins (403) or promote anyone to admin (403).
 * - Anyone but the owner may remove themselves (leave), whatever their role.
 */
const forbid = (message: string) => new AppError('FORBIDDEN', message);

export const OWNER_ROLE_NOT_ASSIGNABLE = 'The owner role cannot be assigned';
export const ONLY_OWNER_PROMOTES = 'Only owner can promote to admin';

export function checkAdd(actorRole: Role, newRole: Role): AppError | null {
  if (!atLeast(actorRole, 'admin')) return forbid('Only owners and admins can add members');
  if (newRole === 'owner') return badRequest(OWNER_ROLE_NOT_ASSIGNABLE);
  if (newRole === 'admin' && actorRole !== 'owner') return forbid(ONLY_OWNER_PROMOTES);
  return null;
}

export interface Target {
  user_id: string;
  role: Role;
}

export function checkRoleChange(actor: { id: string; role: Role }, target: Target, newRole: Role): AppError | null {
  if (!atLeast(actor.role, 'admin')) return forbid('Only owners and admins can change roles');
  if (newRole === 'owner') return badRequest(OWNER_ROLE_NOT_ASSIGNABLE);
  if (target.role === 'owner') return forbid("The space owner's role cannot be changed");
  if (actor.role === 'owner') return null;
  // The actor is an admin from here on. Demoting oneself is allowed; an admin "promoting" themselves to admin is a no-op.
  if (target.role === 'admin' && target.user_id !== actor.id) return forbid('Admins cannot modify other admins');
  if (newRole === 'admin' && target.role !== 'admin') return forbid(ONLY_OWNER_PROMOTES);
  return null;
}

export function checkRemoval(actor: { id: string; role: Role }, target: Target): AppError | null {
  if (target.role === 'owner') return forbid('The space owner cannot be removed');
  if (target.user_id === actor.id) return null; // leaving
  if (!atLeast(actor.role, 'admin')) return forbid('Only owners and admins can remove members');
  if (actor.role === 'admin' && target.role === 'admin') return forbid('Admins cannot remove other admins');
  return null;
}
