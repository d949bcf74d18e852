import { AppError, badRequest, forbidden, notFound } from '../../../runtime/errors.ts';
import { heartbeatDeadline } from '../../../actors/session/state.ts';
import { sessionKind } from '../../../actors/session/kind.ts';
import { isValidBranch } from '../../../workers/sessions/bare.ts';
import { created } from '../../reply.ts';
import { route, type AnyRoute } from '../../route.ts';
import { ADMIN, ALL, EDITOR_PLUS, requireSpace } from '../spaces/access.ts';
import { requireSession } from './access.ts';
import { discardSession, heartbeatGrant, resumeSession, startSession, stopSession } from './lifecycle.ts';
import {
  HealthResponse,
  HeartbeatResponse,
  ResumeSessionResponse,
  StartSessionBody,
  StartSessionResponse,
  StopSessionBody,
  StopSessionResponse,
  SuccessResponse,
} from './schemas.ts';

/**
 * Runtime sessions (spec 5): a working copy of a space repository's branch, kept alive by heartbeats from the
 * session runtime and declared dead by a durable timer of its actor (actors/session) when they stop. Reads never
 * change a session (the original's health check flipped sessions to dead).
 */
const ADMIN_ONLY = (verb: string) => `Permission denied - only workspace owners and admins can ${verb} sessions`;

export function sessionsRoutes(): AnyRoute[] {
  return [
    route({
      method: 'POST',
      path: '/api/spaces/:spaceId/sessions',
      family: 'sessions',
      summary: 'Start a runtime session: a working copy of a repository branch (returns the heartbeat token once)',
      body: StartSessionBody,
      response: StartSessionResponse,
      status: 201,
      async handler(c) {
        const { space } = await requireSpace(c.deps.sql, c.auth.userId, c.params.spaceId!, EDITOR_PLUS);
        const repoId = c.body.repo_id ?? space.default_repository_id;
        if (!repoId) throw badRequest('repo_id is required: this space has no default repository');
        const [repo] = await c.deps.sql<{ id: string; name: string; default_branch: string }[]>`
          SELECT id, name, default_branch FROM repositories WHERE id = ${repoId} AND account_id = ${space.id}`;
        if (!repo) throw notFound('Repository');
        const branch = c.body.branch ?? repo.default_branch;
        if (!isValidBranch(branch)) throw badRequest('Invalid branch name');
        const { session, opened, heartbeat } = await startSession(c.deps, { spaceId: space.id, userId: c.auth.userId, repo, branch });
        return created({
          session_id: session.id,
          status: 'running' as const,
          runtime_init: {
            success: true as const,
            file_count: opened.fileCount,
            session_dir: opened.sessionDir,
            work_dir: opened.workDir,
            git_mode: true as const,
            branch: opened.branch,
            base_commit: opened.baseCommit,
            created_branch: opened.createdBranch,
          },
          git_mode: true as const,
          repo_id: repo.id,
          repo_name: repo.name,
          branch: opened.branch,
          heartbeat,
        });
      },
    }),
    route({
      method: 'POST',
      path: '/api/sessions/:sessionId/stop',
      family: 'sessions',
      summary: 'Stop a session: its working tree becomes one commit on the branch',
      body: StopSessionBody,
      response: StopSessionResponse,
      async handler(c) {
        const { session } = await requireSession(c.deps.sql, c.auth.userId, c.params.sessionId!, ADMIN, ADMIN_ONLY('stop'));
        if (session.status !== 'running') throw badRequest('Session is not running', { status: session.status });
        const git = await stopSession(c.deps, session, c.body.commit_message, c.auth.userId);
        return { success: true as const, git_mode: true as const, repo_id: session.repo_id, branch: git.branch, git_result: git };
      },
    }),
    route({
      method: 'POST',
      path: '/api/sessions/:sessionId/resume',
      family: 'sessions',
      summary: 'Resume a stopped session: a fresh working copy of the branch head (returns a new heartbeat token)',
      response: ResumeSessionResponse,
      async handler(c) {
        const { session: row } = await requireSession(c.deps.sql, c.auth.userId, c.params.sessionId!, ADMIN, ADMIN_ONLY('resume'));
        if (row.status !== 'stopped') throw badRequest('Session is not stopped', { status: row.status });
        const { session, opened } = await resumeSession(c.deps, row);
        // Heartbeats act for the user who started the session, whoever resumes it.
        const heartbeat = await heartbeatGrant(c.deps, session, row.user_account_id ?? c.auth.userId);
        return {
          success: true as const,
          session_id: session.id,
          base_snapshot_id: opened.baseCommit,
          head_snapshot_id: session.headCommit,
          status: 'running' as const,
          runtime_init: { file_count: opened.fileCount, session_dir: opened.sessionDir, work_dir: opened.workDir, branch: opened.branch },
          heartbeat,
        };
      },
    }),
    route({
      method: 'POST',
      path: '/api/sessions/:sessionId/discard',
      family: 'sessions',
      summary: 'Discard a session and its working copy (any state but merged)',
      response: SuccessResponse,
      async handler(c) {
        const { session } = await requireSession(c.deps.sql, c.auth.userId, c.params.sessionId!, ADMIN, ADMIN_ONLY('discard'));
        await discardSession(c.deps, session.id);
        return { success: true as const };
      },
    }),
    route({
      method: 'POST',
      path: '/api/sessions/:sessionId/heartbeat',
      family: 'sessions',
      summary: 'Heartbeat from the session runtime (Bearer: the service token bound to this session)',
      response: HeartbeatResponse,
      sessionTokens: true,
      async handler(c) {
        const p = c.auth;
        if (p.via !== 'service' || !p.boundSessionId) throw new AppError('UNAUTHORIZED', 'Unauthorized: Invalid or missing service token');
        if (p.boundSessionId !== c.params.sessionId) throw forbidden('Service token is bound to another session');
        // Status, space and user checks, the maximum age and the deadline all live in the actor: no query here.
        const r = await c.deps.actors.send(sessionKind, p.boundSessionId, { type: 'heartbeat', userId: p.userId, spaceId: p.boundSpaceId ?? null });
        if (!r.ok) throw badRequest('Session expired: exceeded maximum age');
        return { success: true as const, timestamp: r.timestamp };
      },
    }),
    route({
      method: 'GET',
      path: '/api/sessions/:sessionId/health',
      family: 'sessions',
      summary: 'Whether a session is running and heartbeating in time (read-only: never changes the session)',
      response: HealthResponse,
      async handler(c) {
        const { session: s } = await requireSession(c.deps.sql, c.auth.userId, c.params.sessionId!, ALL);
        const running = s.status === 'running';
        const deadline = running
          ? heartbeatDeadline({
              createdAt: s.created_at.toISOString(),
              runningSince: s.running_since?.toISOString() ?? null,
              lastHeartbeat: s.last_heartbeat?.toISOString() ?? null,
              timing: { heartbeatTimeoutMs: s.heartbeat_timeout_ms, startGraceMs: s.start_grace_ms, maxAgeMs: Number(s.max_age_ms) },
            })
          : null;
        const healthy = deadline !== null && Date.now() < deadline;
        return {
          session_id: s.id,
          status: s.status,
          is_healthy: healthy,
          last_heartbeat: s.last_heartbeat?.toISOString() ?? null,
          created_at: s.created_at.toISOString(),
          ...(healthy ? {} : { reason: running ? ('heartbeat_timeout' as const) : ('not_running' as const) }),
          deadline_at: deadline === null ? null : new Date(deadline).toISOString(),
          ended_reason: s.ended_reason,
          branch: s.branch,
          repo_id: s.repo_id,
        };
      },
    }),
  ];
}
