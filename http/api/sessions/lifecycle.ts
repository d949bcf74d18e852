import type { Config } from '../../../runtime/config.ts';
import { AppError } from '../../../runtime/errors.ts';
import { newId } from '../../../runtime/ids.ts';
import { sessionKind } from '../../../actors/session/kind.ts';
import type { SessionCommand, SessionReply, SessionTiming, SessionView } from '../../../actors/session/state.ts';
import type { CommitResult, OpenedWorkingCopy, RepoRef } from '../../../workers/sessions/store.ts';
import type { AppDeps } from '../../deps.ts';
import { commitAuthor, type SessionRow } from './access.ts';

/**
 * The session operations that pair an actor transition with file work (spec 5.2). The actor decides whether an
 * operation may happen and records its outcome; the working-copy store does the work in between, outside any turn:
 *
 *   start:   create (initializing) -> open working copy -> initialized (running)    | init_failed (failed)
 *   stop:    begin (busy) -> commit working tree to the branch -> complete (stopped), working copy removed | abort
 *   resume:  begin (busy) -> open working copy at the branch head -> complete (running)                     | abort
 *   discard: discard (discarded) -> working copy removed
 */
export function sessionTiming(config: Config): SessionTiming {
  return {
    heartbeatTimeoutMs: config.TAKOS_SESSION_HEARTBEAT_TIMEOUT_MS,
    startGraceMs: config.TAKOS_SESSION_START_GRACE_MS,
    maxAgeMs: config.TAKOS_SESSION_MAX_AGE_MS,
  };
}

type Sent = { ok: true; session: SessionView; timestamp: string };

async function send(deps: AppDeps, id: string, cmd: SessionCommand): Promise<Sent> {
  const r: SessionReply = await deps.actors.send(sessionKind, id, cmd);
  if (!r.ok) throw new AppError('BAD_REQUEST', 'Session expired: exceeded maximum age');
  if (!r.session) throw new Error(`session ${id}: ${cmd.type} answered without the session`);
  return r as Sent;
}

export interface HeartbeatGrant {
  token: string;
  url: string;
  interval_ms: number;
  timeout_ms: number;
  start_grace_ms: number;
  expires_at: string;
}

/**
 * The signed service token a session runtime heartbeats with: bound to the session, its space and the user who
 * started it, valid until the session's maximum age plus a few minutes (so that a heartbeat just past the maximum age
 * gets the spec's 400 "Session expired" from the actor, not a 401). It replaces the original's forgeable
 * X-Takos-Internal headers.
 */
const TOKEN_OVERLAP_MS = 10 * 60_000;
export async function heartbeatGrant(deps: AppDeps, session: Pick<SessionView, 'id' | 'spaceId' | 'createdAt'>, userId: string): Promise<HeartbeatGrant> {
  const c = deps.config;
  const expires = Date.parse(session.createdAt) + c.TAKOS_SESSION_MAX_AGE_MS + TOKEN_OVERLAP_MS;
  const ttlSeconds = Math.max(1, Math.ceil((expires - Date.now()) / 1000));
  return {
    token: await deps.serviceTokens.sign({ sub: userId, sid: session.id, spc: session.spaceId }, ttlSeconds),
    url: `/api/sessions/${session.id}/heartbeat`,
    interval_ms: c.TAKOS_SESSION_HEARTBEAT_INTERVAL_MS,
    timeout_ms: c.TAKOS_SESSION_HEARTBEAT_TIMEOUT_MS,
    start_grace_ms: c.TAKOS_SESSION_START_GRACE_MS,
    expires_at: new Date(expires).toISOString(),
  };
}

const repoRef = (s: Pick<SessionRow, 'repo_id' | 'repo_name' | 'default_branch'>): RepoRef => ({ id: s.repo_id, name: s.repo_name, defaultBranch: s.default_branch });

export async function startSession(
  deps: AppDeps,
  p: { spaceId: string; userId: string; repo: { id: string; name: string; default_branch: string }; branch: string },
): Promise<{ session: SessionView; opened: OpenedWorkingCopy; heartbeat: HeartbeatGrant }> {
  const id = newId();
  await send(deps, id, {
    type: 'create',
    spaceId: p.spaceId,
    userId: p.userId,
    repoId: p.repo.id,
    branch: p.branch,
    timing: sessionTiming(deps.config),
    initTimeoutMs: deps.config.TAKOS_SESSION_OP_TIMEOUT_MS,
  });
  let opened: OpenedWorkingCopy;
  try {
    opened = await deps.workingCopies.open({ sessionId: id, repo: repoRef({ repo_id: p.repo.id, repo_name: p.repo.name, default_branch: p.repo.default_branch }), branch: p.branch });
  } catch (err) {
    deps.log.error({ err, sessionId: id }, 'building a session working copy failed');
    await send(deps, id, { type: 'init_failed', error: err instanceof Error ? err.message : String(err) }).catch(() => undefined);
    await deps.workingCopies.drop(id).catch(() => undefined);
    if (err instanceof AppError && err.status < 500) throw err;
    throw new AppError('INTERNAL_ERROR', 'Failed to initialize runtime session', { cause: err });
  }
  let r: Sent;
  try {
    r = await send(deps, id, { type: 'initialized', baseCommit: opened.baseCommit });
  } catch (err) {
    // Failed by its init timer or discarded while the files were being written: they are not wanted any more.
    await deps.workingCopies.drop(id).catch(() => undefined);
    throw err;
  }
  return { session: r.session, opened, heartbeat: await heartbeatGrant(deps, r.session, p.userId) };
}

export async function stopSession(deps: AppDeps, row: SessionRow, message: string | undefined, committerId: string): Promise<CommitResult> {
  const opId = newId();
  const begun = await send(deps, row.id, { type: 'begin', op: 'stop', opId, opTimeoutMs: deps.config.TAKOS_SESSION_OP_TIMEOUT_MS });
  let result: CommitResult;
  try {
    const [author, committer] = await Promise.all([commitAuthor(deps.sql, row.user_account_id), commitAuthor(deps.sql, committerId)]);
    result = await deps.workingCopies.commit({
      sessionId: row.id,
      repo: repoRef(row),
      branch: begun.session.branch,
      // From the actor, not the row read before `begin`: a stop/resume in between may have moved it.
      baseCommit: begun.session.baseCommit!,
      message: message ?? `Session ${row.id.slice(0, 8)} changes`,
      author,
      committer,
    });
  } catch (err) {
    await send(deps, row.id, { type: 'abort', opId }).catch(() => undefined);
    throw err;
  }
  await send(deps, row.id, { type: 'complete', opId, headCommit: result.commit });
  // The work is on the branch now; resume builds a fresh working copy from it.
  await deps.workingCopies.drop(row.id).catch((err: unknown) => deps.log.warn({ err, sessionId: row.id }, 'removing a stopped working copy failed'));
  return result;
}

export async function resumeSession(deps: AppDeps, row: SessionRow): Promise<{ session: SessionView; opened: OpenedWorkingCopy }> {
  const opId = newId();
  const begun = await send(deps, row.id, { type: 'begin', op: 'resume', opId, opTimeoutMs: deps.config.TAKOS_SESSION_OP_TIMEOUT_MS });
  let opened: OpenedWorkingCopy;
  try {
    opened = await deps.workingCopies.open({ sessionId: row.id, repo: repoRef(row), branch: begun.session.branch });
  } catch (err) {
    await send(deps, row.id, { type: 'abort', opId }).catch(() => undefined);
    await deps.workingCopies.drop(row.id).catch(() => undefined);
    throw err;
  }
  try {
    const r = await send(deps, row.id, { type: 'complete', opId, baseCommit: opened.baseCommit });
    return { session: r.session, opened };
  } catch (err) {
    await deps.workingCopies.drop(row.id).catch(() => undefined);
    throw err;
  }
}

export async function discardSession(deps: AppDeps, id: string): Promise<void> {
  await send(deps, id, { type: 'discard' });
  await deps.workingCopies.drop(id).catch((err: unknown) => deps.log.warn({ err, sessionId: id }, 'removing a discarded working copy failed'));
}
