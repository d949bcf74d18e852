import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../harness.ts';
import { startLlmStandin, type LlmStandin } from '../support/llm-standins.ts';
import { createThread, postMessage, roleSet } from './thread-fixtures.ts';

/**
 * `spaces.common-env`: a space's environment variables, encrypted at rest, read by members (secrets masked), written
 * by owners and admins, audited without values; and used: a run of the space calls its provider with the space's
 * own key when the server has none.
 */
let llm: LlmStandin;
let s: TestServer;
let team: Awaited<ReturnType<typeof roleSet>>;
beforeAll(async () => {
  llm = await startLlmStandin({ apiKey: 'sk-space-key' });
  // The server knows where the provider is but has no key of its own.
  s = await startTestServer({ workers: ['runs'], workerEnv: { OPENAI_BASE_URL: llm.openaiBaseURL, TAKOS_DEFAULT_PROVIDER: 'openai' } });
  team = await roleSet(s);
});
afterAll(async () => {
  await s?.close();
  await llm?.close();
});

const path = (spaceId = team.spaceId) => `/api/spaces/${spaceId}/common-env`;
const put = (body: unknown, token = team.admin.token) => s.request('PUT', path(), { token, body });
const list = async (token = team.viewer.token) => {
  const r = await s.request('GET', path(), { token });
  expect(r.status, r.text).toBe(200);
  return r.body.env as Array<{ name: string; secret: boolean; value: string; updatedAt: string }>;
};
const auditRows = () =>
  s.kernel.sql<Array<{ name: string; action: string; before: unknown; after: unknown; actor_id: string; ip_hash: string | null }>>`
    SELECT name, action, before, after, actor_id, ip_hash FROM space_env_audit_logs WHERE space_id = ${team.spaceId} ORDER BY created_at, id`;

describe('reading and writing', () => {
  it('stores names upper case, lists them sorted, shows plain values to every member and masks secrets', async () => {
    expect((await put({ name: ' region ', value: 'eu-west' })).body).toEqual({ success: true });
    expect((await put({ name: 'API_TOKEN', value: 's3cr3t-value', secret: true }, team.owner.token)).status).toBe(200);
    const env = await list();
    expect(env.map((e) => [e.name, e.secret, e.value])).toEqual([
      ['API_TOKEN', true, '********'],
      ['REGION', false, 'eu-west'],
    ]);
    expect(Number.isNaN(Date.parse(env[0]!.updatedAt))).toBe(false);
  });

  it('keeps values encrypted at rest, bound to their space and name', async () => {
    const [row] = await s.kernel.sql<Array<{ value_encrypted: string }>>`
      SELECT value_encrypted FROM space_env_vars WHERE space_id = ${team.spaceId} AND name = 'API_TOKEN'`;
    expect(row!.value_encrypted).not.toContain('s3cr3t');
    expect(JSON.parse(row!.value_encrypted)).toMatchObject({ alg: 'AES-256-GCM', v: 1 });
    expect(s.deps.envCipher.decrypt(team.spaceId, 'API_TOKEN', row!.value_encrypted)).toBe('s3cr3t-value');
    // The same ciphertext under another name or space does not decrypt.
    expect(() => s.deps.envCipher.decrypt(team.spaceId, 'REGION', row!.value_encrypted)).toThrow();
    expect(() => s.deps.envCipher.decrypt('otherspace00', 'API_TOKEN', row!.value_encrypted)).toThrow();
  });

  it('updates in place; a PUT without `secret` keeps a secret secret; an unchanged PUT writes nothing', async () => {
    const before = (await auditRows()).length;
    expect((await put({ name: 'api_token', value: 'rotated' })).status).toBe(200);
    expect((await list()).find((e) => e.name === 'API_TOKEN')).toMatchObject({ secret: true, value: '********' });
    const [row] = await s.kernel.sql<Array<{ value_encrypted: string }>>`SELECT value_encrypted FROM space_env_vars WHERE space_id = ${team.spaceId} AND name = 'API_TOKEN'`;
    expect(s.deps.envCipher.decrypt(team.spaceId, 'API_TOKEN', row!.value_encrypted)).toBe('rotated');
    expect((await auditRows()).length).toBe(before + 1);
    expect((await put({ name: 'API_TOKEN', value: 'rotated', secret: true })).status).toBe(200);
    expect((await auditRows()).length).toBe(before + 1);
    // Un-secreting takes an explicit false.
    expect((await put({ name: 'REGION', value: 'eu-west', secret: true })).status).toBe(200);
    expect((await put({ name: 'REGION', value: 'eu-west', secret: false })).status).toBe(200);
    expect((await list()).find((e) => e.name === 'REGION')).toMatchObject({ secret: false, value: 'eu-west' });
  });

  it('deletes by name in any case; a second delete is a 404', async () => {
    expect((await put({ name: 'TEMP', value: 'x' })).status).toBe(200);
    expect((await s.request('DELETE', `${path()}/temp`, { token: team.admin.token })).body).toEqual({ success: true });
    expect((await list()).some((e) => e.name === 'TEMP')).toBe(false);
    const again = await s.request('DELETE', `${path()}/TEMP`, { token: team.admin.token });
    expect(again.status).toBe(404);
    expect(again.body.error.message).toBe('Common env not found');
  });

  it('audits every change with who and what, never the value', async () => {
    const rows = await auditRows();
    expect(rows.map((r) => [r.name, r.action])).toEqual([
      ['REGION', 'workspace_env_created'],
      ['API_TOKEN', 'workspace_env_created'],
      ['API_TOKEN', 'workspace_env_updated'],
      ['REGION', 'workspace_env_updated'],
      ['REGION', 'workspace_env_updated'],
      ['TEMP', 'workspace_env_created'],
      ['TEMP', 'workspace_env_deleted'],
    ]);
    expect(rows[2]).toMatchObject({ before: { exists: true, is_secret: true }, after: { exists: true, is_secret: true, value_changed: true }, actor_id: team.admin.id });
    expect(rows[3]!.after).toEqual({ exists: true, is_secret: true, value_changed: false });
    expect(rows[6]).toMatchObject({ before: { exists: true, is_secret: false }, after: { exists: false } });
    expect(rows.every((r) => typeof r.ip_hash === 'string' && r.ip_hash.length === 64)).toBe(true);
    expect(JSON.stringify(rows)).not.toMatch(/s3cr3t|rotated|eu-west/);
  });
});

describe('who may do what, and bad input', () => {
  it('lets every member read and only owners and admins write; others get 404 as for the rest of a space', async () => {
    expect((await s.request('GET', path(), { token: team.outsider.token })).status).toBe(404);
    for (const token of [team.editor.token, team.viewer.token, team.outsider.token]) {
      const p = await put({ name: 'X', value: 'y' }, token);
      expect(p.status).toBe(404);
      expect(p.body.error.message).toBe('Space not found');
      expect((await s.request('DELETE', `${path()}/REGION`, { token })).status).toBe(404);
    }
    expect((await list()).some((e) => e.name === 'X')).toBe(false);
  });

  it('refuses bad names with 400, wrong types with 422, and stores nothing', async () => {
    const cases: Array<[unknown, number, string | null]> = [
      [{ name: '  ', value: 'v' }, 400, 'name is required'],
      [{ name: '1ABC', value: 'v' }, 400, 'Invalid environment variable name: 1ABC'],
      [{ name: 'A-B', value: 'v' }, 400, 'Invalid environment variable name: A-B'],
      [{ name: 'takos_api_url', value: 'v' }, 400, 'TAKOS_API_URL is reserved as a managed Takos built-in env key'],
      [{ name: 'OK', value: 42 }, 422, null],
      [{ name: 'OK' }, 422, null],
      [{ value: 'v' }, 422, null],
    ];
    for (const [body, status, message] of cases) {
      const r = await put(body);
      expect(r.status, JSON.stringify(body)).toBe(status);
      if (message) expect(r.body.error.message).toBe(message);
    }
    const bad = await s.request('DELETE', `${path()}/not-a-name`, { token: team.admin.token });
    expect(bad.status).toBe(400);
    expect((await list()).map((e) => e.name)).toEqual(['API_TOKEN', 'REGION']);
  });
});

describe('used by runs', () => {
  it("a run of the space calls its provider with the space's own key", async () => {
    expect((await put({ name: 'OPENAI_API_KEY', value: 'sk-space-key', secret: true })).status).toBe(200);
    const threadId = await createThread(s, team.editor.token, team.spaceId);
    await postMessage(s, team.editor.token, threadId, { role: 'user', content: 'hello' });
    const created = await s.request('POST', `/api/threads/${threadId}/runs`, { token: team.editor.token, body: {} });
    expect(created.status, created.text).toBe(201);
    const runId = created.body.run.id as string;
    let run: { status: string; error?: string | null } = { status: 'queued' };
    for (let i = 0; i < 400 && !['completed', 'failed', 'cancelled'].includes(run.status); i++) {
      await new Promise((r) => setTimeout(r, 25));
      run = (await s.request('GET', `/api/runs/${runId}`, { token: team.editor.token })).body.run;
    }
    expect(run, JSON.stringify(run)).toMatchObject({ status: 'completed' });
    expect(llm.requests.at(-1)!.headers.authorization).toBe('Bearer sk-space-key');
  });
});
