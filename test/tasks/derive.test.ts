import { describe, expect, it } from 'vitest';
import { deriveStatuses, RUN_STALE_MS } from '../../runtime/tasks/derive.ts';
import type { LatestRunFacts, RefFacts, TaskFacts } from '../../runtime/tasks/types.ts';

// Pure derivation rules (docs/task-status.md), on hand-made facts; the API tests check the same against real git.
const NOW = 1_700_000_000_000;
const refs = (tips: Record<string, string> = {}, merged: string[] = []): RefFacts => ({
  available: true, error: null, baseSha: 'base', tips: new Map(Object.entries(tips).map(([k, v]) => [`takos/task-${k}`, v])), merged: new Set(merged.map((m) => `takos/task-${m}`)),
});
const task = (id: string, extra: Partial<TaskFacts> = {}): TaskFacts => ({ id, parentId: null, title: id.toUpperCase(), cancelledAt: null, dependsOn: [], latestRun: null, forkSha: null, ...extra });
const run = (status: LatestRunFacts['status'], extra: Partial<LatestRunFacts> = {}): LatestRunFacts => ({ id: `run-${status}`, status, heartbeatAt: NOW - 1_000, error: null, headSha: null, baseSha: 'base', ...extra });
const derive = (tasks: TaskFacts[], r = refs()) => deriveStatuses({ tasks, refs: r, baseBranch: 'main', now: NOW });
const st = (tasks: TaskFacts[], r = refs()) => Object.fromEntries([...derive(tasks, r).statuses].map(([k, v]) => [k, v.status]));

describe('leaf rules', () => {
  it('gives one status per observable fact, in order', () => {
    const tasks = [
      task('open'),
      task('cancel', { cancelledAt: new Date(NOW), latestRun: run('running') }),
      task('run', { latestRun: run('running') }),
      task('queue', { latestRun: run('queued') }),
      task('fail', { latestRun: run('failed', { error: 'boom' }) }),
      task('review', { latestRun: run('completed'), forkSha: 'base' }),
      task('done', { latestRun: run('completed'), forkSha: 'base' }),
      task('donefail', { latestRun: run('failed'), forkSha: 'base' }),
      task('blocked', { dependsOn: ['open'] }),
      task('ready', { dependsOn: ['done'] }),
    ];
    const r = refs({ review: 'c1', done: 'c2', donefail: 'c3' }, ['done', 'donefail']);
    expect(st(tasks, r)).toEqual({
      open: 'open', cancel: 'cancelled', run: 'running', queue: 'running', fail: 'failed', review: 'needs_review', done: 'done',
      donefail: 'done', blocked: 'blocked', ready: 'ready',
    });
    const d = derive(tasks, r).statuses;
    expect(d.get('fail')!.reasons).toEqual([{ code: 'run_failed', run_id: 'run-failed', message: 'run run-failed failed: boom' }]);
    expect(d.get('blocked')!.reasons).toEqual([{ code: 'dependency_not_done', task_id: 'open', message: 'depends on "OPEN" (open), which is open' }]);
    expect(d.get('ready')!.reasons).toEqual([{ code: 'dependencies_done', message: 'all 1 dependencies are done' }]);
  });

  it('does not call a branch at its fork point done, nor a task without a branch', () => {
    const tasks = [task('a', { latestRun: run('completed'), forkSha: 'base' }), task('b', { latestRun: run('completed') })];
    const d = derive(tasks, refs({ a: 'base' }, ['a'])).statuses;
    expect(d.get('a')).toMatchObject({ status: 'open', reasons: [{ code: 'no_dependencies' }, { code: 'run_made_no_commits' }] });
    expect(d.get('b')).toMatchObject({ status: 'open', reasons: [{ code: 'no_dependencies' }, { code: 'branch_missing' }] });
  });

  it('treats a live run without a recent heartbeat as lost, and says when the answer expires', () => {
    const fresh = task('fresh', { latestRun: run('running', { heartbeatAt: NOW - 1_000 }) });
    const stale = task('stale', { latestRun: run('running', { heartbeatAt: NOW - RUN_STALE_MS - 1 }) });
    const out = derive([fresh, stale]);
    expect(out.statuses.get('stale')).toMatchObject({ status: 'failed', reasons: [{ code: 'run_lost' }] });
    expect(out.validUntil).toBe(NOW - 1_000 + RUN_STALE_MS);
    expect(derive([task('x')]).validUntil).toBe(Infinity);
  });

  it('keeps a dependent blocked by a cancelled dependency, and reports an unreadable repository', () => {
    const d = derive([task('c', { cancelledAt: new Date(NOW) }), task('d', { dependsOn: ['c'] })], { ...refs(), available: false, error: 'gone' }).statuses;
    expect(d.get('d')!.status).toBe('blocked');
    expect(d.get('d')!.reasons.map((r) => r.code)).toEqual(['dependency_not_done', 'repository_unavailable']);
  });
});

describe('parent rules', () => {
  const kids = (statuses: Array<Partial<TaskFacts>>) => statuses.map((x, i) => task(`k${i}`, { parentId: 'p', ...x }));

  it('summarises subtasks', () => {
    const doneRefs = refs({ k0: 'x', k1: 'y' }, ['k0', 'k1']);
    expect(st([task('p'), ...kids([{}, {}])], doneRefs).p).toBe('done');
    expect(st([task('p'), ...kids([{}, { cancelledAt: new Date(NOW) }])], doneRefs).p).toBe('done');
    expect(st([task('p'), ...kids([{ cancelledAt: new Date(NOW) }])]).p).toBe('cancelled');
    expect(st([task('p'), ...kids([{ latestRun: run('running') }, { latestRun: run('failed') }])]).p).toBe('running');
    expect(st([task('p'), ...kids([{ latestRun: run('failed') }, { latestRun: run('completed') }])], refs({ k1: 'z' })).p).toBe('failed');
    expect(st([task('p'), ...kids([{}, { latestRun: run('completed') }])], refs({ k1: 'z' })).p).toBe('needs_review');
    expect(st([task('p'), ...kids([{ dependsOn: ['x'] }, {}]), task('x', { latestRun: run('completed') })], refs({ x: 'q' })).p).toBe('open');
    expect(st([task('p'), ...kids([{ dependsOn: ['x'] }]), task('x')]).p).toBe('blocked');
    expect(st([task('p', { cancelledAt: new Date(NOW) }), ...kids([{}])]).p).toBe('cancelled');
  });

  it('passes a parent\'s dependencies down to its subtasks', () => {
    const tasks = [task('x'), task('p', { dependsOn: ['x'] }), task('c', { parentId: 'p' }), task('g', { parentId: 'c' })];
    const d = derive(tasks).statuses;
    expect(d.get('p')!.status).toBe('blocked');
    expect(d.get('g')).toMatchObject({ status: 'blocked', reasons: [{ code: 'ancestor_dependency_not_done', task_id: 'x', message: 'parent task p depends on "X" (x), which is open' }] });
    const done = derive(tasks, refs({ x: 'h' }, ['x'])).statuses;
    expect(done.get('g')!.status).toBe('ready');
    expect(done.get('p')!.status).toBe('ready');
  });
});

describe('scale and robustness', () => {
  it('derives a 5,000-long dependency chain without recursion limits', () => {
    const n = 5_000;
    const tasks = Array.from({ length: n }, (_, i) => task(`t${i}`, { dependsOn: i ? [`t${i - 1}`] : [] }));
    const merged = Array.from({ length: 10 }, (_, i) => `t${i}`);
    const tips = Object.fromEntries(merged.map((m) => [m, `sha-${m}`]));
    const d = derive(tasks.reverse(), refs(tips, merged)).statuses;
    expect(d.get('t9')!.status).toBe('done');
    expect(d.get('t10')!.status).toBe('ready');
    expect(d.get('t11')!.status).toBe('blocked');
    expect(d.get(`t${n - 1}`)!.status).toBe('blocked');
  });

  it('terminates on a cycle that slipped into the data', () => {
    const d = derive([task('a', { dependsOn: ['b'] }), task('b', { dependsOn: ['a'] })]).statuses;
    expect(d.get('a')!.status).toBe('blocked');
    expect(d.get('b')!.status).toBe('blocked');
  });
});
