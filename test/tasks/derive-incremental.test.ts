import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { deriveStatuses, rederive, RUN_STALE_MS, type Derivation, type DeriveInput } from '../../runtime/tasks/derive.ts';
import type { LatestRunFacts, RefFacts, RunStatus, TaskFacts } from '../../runtime/tasks/types.ts';

// rederive must answer exactly what a full derivation answers, keep the object of every status that did not change
// (renderers cache per object) and leave the derivation it started from as it was.
const NOW = 1_700_000_000_000;
const branch = (id: string) => `takos/task-${id}`;
const refs = (tips: Record<string, string> = {}, merged: string[] = []): RefFacts => ({
  available: true, error: null, baseSha: 'base', tips: new Map(Object.entries(tips).map(([k, v]) => [branch(k), v])), merged: new Set(merged.map(branch)),
});
const task = (id: string, extra: Partial<TaskFacts> = {}): TaskFacts => ({ id, parentId: null, title: id.toUpperCase(), cancelledAt: null, dependsOn: [], latestRun: null, forkSha: null, ...extra });
const run = (status: RunStatus, extra: Partial<LatestRunFacts> = {}): LatestRunFacts => ({ id: `run-${status}`, status, heartbeatAt: NOW - 1_000, error: null, headSha: null, baseSha: 'base', ...extra });
const input = (tasks: TaskFacts[], r: RefFacts, now = NOW): DeriveInput => ({ tasks, refs: r, baseBranch: 'main', now });
const words = (d: Derivation) => Object.fromEntries([...d.statuses].map(([k, v]) => [k, v.status]));

/** Checks `next` against a full derivation of `inp`, and object identity against `prev`. */
function check(prev: Derivation, next: Derivation, inp: DeriveInput): { kept: number; replaced: number } {
  const full = deriveStatuses(inp);
  expect(next.statuses).not.toBe(prev.statuses);
  expect(next.statuses.size).toBe(full.statuses.size);
  expect(Object.fromEntries(next.statuses)).toStrictEqual(Object.fromEntries(full.statuses));
  expect(next.validUntil).toBe(full.validUntil);
  let kept = 0;
  let replaced = 0;
  for (const [id, s] of next.statuses) {
    const old = prev.statuses.get(id)!;
    if (isDeepStrictEqual(old, s)) {
      expect(s, `status object of ${id} kept`).toBe(old);
      kept++;
    } else replaced++;
  }
  // When rederive says which statuses it replaced, that is exactly the ones whose object differs from prev's.
  if (next.changed !== undefined) {
    const differ = [...next.statuses].filter(([id, s]) => prev.statuses.get(id) !== s).map(([id]) => id);
    expect([...next.changed].sort()).toEqual(differ.sort());
  }
  return { kept, replaced };
}

describe('rederive, by hand', () => {
  // x needs review; p (subtasks c1, c2 -> c1) and y wait for x; z has nothing to do with x.
  const tasks = [
    task('x', { latestRun: run('completed'), forkSha: 'base' }),
    task('p', { dependsOn: ['x'] }),
    task('c1', { parentId: 'p' }),
    task('c2', { parentId: 'p', dependsOn: ['c1'] }),
    task('y', { dependsOn: ['x'] }),
    task('z', { latestRun: run('completed'), forkSha: 'base' }),
  ];
  const before = refs({ x: 'c0ffee', z: 'beef' });

  it('unblocks dependents and their subtasks when a merge makes a dependency done', () => {
    const d0 = deriveStatuses(input(tasks, before));
    expect(words(d0)).toEqual({ x: 'needs_review', p: 'blocked', c1: 'blocked', c2: 'blocked', y: 'blocked', z: 'needs_review' });
    expect(d0.statuses.get('c1')!.reasons).toEqual([
      { code: 'ancestor_dependency_not_done', task_id: 'x', message: 'parent task p depends on "X" (x), which is needs_review' },
    ]);

    const merged = refs({ x: 'c0ffee', z: 'beef' }, ['x']);
    const d1 = rederive(d0, input(tasks, merged), new Set(['x']));
    expect(words(d1)).toEqual({ x: 'done', p: 'ready', c1: 'ready', c2: 'blocked', y: 'ready', z: 'needs_review' });
    expect(d1.statuses.get('c1')!.reasons).toEqual([{ code: 'dependencies_done', message: 'all 1 dependencies are done' }]);
    expect(d1.statuses.get('c2')!.reasons).toEqual([{ code: 'dependency_not_done', task_id: 'c1', message: 'depends on "C1" (c1), which is ready' }]);
    expect(d1.statuses.get('p')!.reasons).toEqual([{ code: 'subtask_ready', task_id: 'c1', message: 'subtask "C1" (c1) is ready' }]);
    expect(d1.statuses.get('z')).toBe(d0.statuses.get('z'));
    expect(check(d0, d1, input(tasks, merged))).toEqual({ kept: 1, replaced: 5 });
    // The derivation it started from still says what it said.
    expect(words(d0)).toEqual({ x: 'needs_review', p: 'blocked', c1: 'blocked', c2: 'blocked', y: 'blocked', z: 'needs_review' });
  });

  it('rewrites the blocked messages that name a dependency whose status changed, down to inheriting subtasks', () => {
    const d0 = deriveStatuses(input(tasks, before));
    // The branch was deleted: x is open again (still not done), so only the "which is ..." words change.
    const gone = refs({ z: 'beef' });
    const d1 = rederive(d0, input(tasks, gone), new Set(['x']));
    expect(words(d1)).toEqual({ x: 'open', p: 'blocked', c1: 'blocked', c2: 'blocked', y: 'blocked', z: 'needs_review' });
    expect(d1.statuses.get('y')!.reasons).toEqual([{ code: 'dependency_not_done', task_id: 'x', message: 'depends on "X" (x), which is open' }]);
    expect(d1.statuses.get('c2')!.reasons).toEqual([
      { code: 'dependency_not_done', task_id: 'c1', message: 'depends on "C1" (c1), which is blocked' },
      { code: 'ancestor_dependency_not_done', task_id: 'x', message: 'parent task p depends on "X" (x), which is open' },
    ]);
    expect(check(d0, d1, input(tasks, gone))).toEqual({ kept: 1, replaced: 5 });
  });

  it('changes only the moved branch\'s own status when its status word stays the same', () => {
    const d0 = deriveStatuses(input(tasks, before));
    const moved = refs({ x: 'facade', z: 'beef' });
    const d1 = rederive(d0, input(tasks, moved), new Set(['x']));
    expect(d1.statuses.get('x')!.reasons[0]!.message).toBe('branch takos/task-x (facade) has commits not yet in main');
    expect(check(d0, d1, input(tasks, moved))).toEqual({ kept: 5, replaced: 1 });
  });

  it('updates a parent\'s summary when a subtask is merged', () => {
    const kids = [task('p'), task('a', { parentId: 'p', latestRun: run('completed'), forkSha: 'base' }), task('b', { parentId: 'p' }), task('q', { dependsOn: ['p'] })];
    const d0 = deriveStatuses(input(kids, refs({ a: 'aaa' })));
    expect(words(d0)).toEqual({ p: 'needs_review', a: 'needs_review', b: 'open', q: 'blocked' });
    const r1 = refs({ a: 'aaa' }, ['a']);
    const d1 = rederive(d0, input(kids, r1), new Set(['a']));
    expect(d1.statuses.get('p')).toEqual({ status: 'open', reasons: [{ code: 'subtask_open', task_id: 'b', message: 'subtask "B" (b) is open' }] });
    expect(d1.statuses.get('q')!.reasons[0]!.message).toBe('depends on "P" (p), which is open');
    expect(check(d0, d1, input(kids, r1))).toEqual({ kept: 1, replaced: 3 });
    // And the next step starts from the result: b merged too, p is done and q ready.
    const r2 = refs({ a: 'aaa', b: 'bbb' }, ['a', 'b']);
    const d2 = rederive(d1, input(kids, r2), new Set(['b']));
    expect(words(d2)).toEqual({ p: 'done', a: 'done', b: 'done', q: 'ready' });
    expect(check(d1, d2, input(kids, r2))).toEqual({ kept: 1, replaced: 3 });
  });

  it('keeps every object for changes that touch nothing: unknown ids, a parent\'s own branch, no ids at all', () => {
    const d0 = deriveStatuses(input(tasks, before));
    const r1 = refs({ x: 'c0ffee', z: 'beef', p: 'ppp', nobody: 'nnn' }, ['p', 'nobody']);
    for (const changed of [new Set(['p', 'nobody']), new Set<string>()]) {
      const d1 = rederive(d0, input(tasks, r1), changed);
      expect(check(d0, d1, input(tasks, r1))).toEqual({ kept: 6, replaced: 0 });
    }
  });

  it('agrees with a full derivation on a cycle that slipped into the data', () => {
    const cyc = [task('a', { dependsOn: ['b'] }), task('b', { dependsOn: ['a'], latestRun: run('completed'), forkSha: 'base' }), task('c', { dependsOn: ['b'] }), task('d')];
    const d0 = deriveStatuses(input(cyc, refs()));
    const r1 = refs({ b: 'bbb' }, ['b']);
    const d1 = rederive(d0, input(cyc, r1), new Set(['b']));
    expect(d1.statuses.get('b')!.status).toBe('done');
    expect(check(d0, d1, input(cyc, r1)).kept).toBeGreaterThan(0);
  });

  it('rederives along a 5,000-long chain without recursion limits', () => {
    const n = 5_000;
    const chain = Array.from({ length: n }, (_, i) => task(`t${i}`, { dependsOn: i ? [`t${i - 1}`] : [] })).reverse();
    const d0 = deriveStatuses(input(chain, refs()));
    const r1 = refs({ t0: 'sha0' }, ['t0']);
    const d1 = rederive(d0, input(chain, r1), new Set(['t0']));
    expect(words(d1)).toMatchObject({ t0: 'done', t1: 'ready', t2: 'blocked' });
    // Only t0 and t1 changed words; t2's message names t1, which is now ready; everything past it stays.
    expect(check(d0, d1, input(chain, r1))).toEqual({ kept: n - 3, replaced: 3 });
    const r2 = refs({ t4999: 'sha' }, ['t4999']);
    const d2 = rederive(d0, input(chain, r2), new Set(['t4999']));
    expect(check(d0, d2, input(chain, r2))).toEqual({ kept: n - 1, replaced: 1 });
  });
});

// mulberry32: small, seeded, good enough to shuffle test cases reproducibly.
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n), chance: (p: number) => next() < p, pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]! };
}

/**
 * Whether the graph deriveStatuses walks is acyclic, written independently of it: status(T) reads blockers(T) and
 * the statuses of T's subtasks; blockers(T) reads the statuses of T's dependencies and blockers(parent(T)).
 */
function acyclic(tasks: TaskFacts[]): boolean {
  const at = new Map(tasks.map((t, i) => [t.id, i]));
  const n = tasks.length;
  const edges: number[][] = Array.from({ length: 2 * n }, () => []); // prerequisite -> nodes reading it
  const indegree = new Array<number>(2 * n).fill(0);
  const edge = (from: number, to: number) => {
    edges[from]!.push(to);
    indegree[to]!++;
  };
  tasks.forEach((t, i) => {
    edge(2 * i, 2 * i + 1);
    const p = t.parentId === null ? undefined : at.get(t.parentId);
    if (p !== undefined) {
      edge(2 * i + 1, 2 * p + 1);
      edge(2 * p, 2 * i);
    }
    for (const d of t.dependsOn) {
      const j = at.get(d);
      if (j !== undefined) edge(2 * j + 1, 2 * i);
    }
  });
  const ready = indegree.flatMap((x, node) => (x === 0 ? [node] : []));
  let seen = 0;
  while (ready.length > 0) {
    const node = ready.pop()!;
    seen++;
    for (const to of edges[node]!) if (--indegree[to]! === 0) ready.push(to);
  }
  return seen === 2 * n;
}

const SHAS = ['base', 's1', 's2', 's3'] as const;
const RUNS: readonly RunStatus[] = ['queued', 'running', 'completed', 'failed', 'cancelled'];

function randomProject(rnd: ReturnType<typeof prng>, allowCycles: boolean) {
  const n = 1 + rnd.int(32);
  const ids = Array.from({ length: n }, (_, k) => `k${k}`);
  const tasks: TaskFacts[] = ids.map((id, k) => {
    const latestRun: LatestRunFacts | null = rnd.chance(0.3)
      ? null
      : {
          id: `r-${id}`,
          status: rnd.pick(RUNS),
          // Live runs on both sides of the staleness line.
          heartbeatAt: NOW - rnd.int(2 * RUN_STALE_MS),
          error: rnd.chance(0.5) ? 'boom' : null,
          headSha: null,
          baseSha: 'base',
        };
    return task(id, {
      // Parents are created before their subtasks, so the forest is a forest; the list order is shuffled below.
      parentId: k > 0 && rnd.chance(0.6) ? ids[rnd.int(k)]! : null,
      cancelledAt: rnd.chance(0.08) ? new Date(NOW - 5_000) : null,
      latestRun,
      forkSha: rnd.chance(0.5) ? rnd.pick(SHAS) : null,
    });
  });
  // Dependencies anywhere (across subtrees, on ancestors' siblings, on unknown ids); ones closing a cycle are dropped
  // unless this case wants cycles.
  const edges = rnd.int(2 * n + 1);
  for (let e = 0; e < edges; e++) {
    const t = rnd.pick(tasks);
    const dep = rnd.chance(0.05) ? 'ghost' : rnd.pick(ids);
    t.dependsOn = [...t.dependsOn, dep];
    if (!allowCycles && !acyclic(tasks)) t.dependsOn = t.dependsOn.slice(0, -1);
  }
  for (let k = tasks.length - 1; k > 0; k--) {
    const j = rnd.int(k + 1);
    [tasks[k], tasks[j]] = [tasks[j]!, tasks[k]!];
  }
  const r: RefFacts = { available: !rnd.chance(0.05), error: null, baseSha: 'base', tips: new Map(), merged: new Set() };
  if (!r.available) r.error = 'gone';
  for (const id of [...ids, 'ghost']) {
    if (rnd.chance(0.5)) r.tips.set(branch(id), rnd.pick(SHAS));
    if (rnd.chance(0.4)) r.merged.add(branch(id));
  }
  return { tasks, refs: r, ids };
}

/** New ref facts with a few branches moved, merged, unmerged or deleted; the old facts are left as they were. */
function changeRefs(rnd: ReturnType<typeof prng>, r: RefFacts, ids: string[]): { refs: RefFacts; changed: Set<string> } {
  const tips = new Map(r.tips);
  const merged = new Set(r.merged);
  const changed = new Set<string>();
  const count = 1 + rnd.int(3);
  for (let c = 0; c < count; c++) {
    const id = rnd.chance(0.1) ? rnd.pick(['ghost', 'elsewhere']) : rnd.pick(ids);
    const b = branch(id);
    changed.add(id);
    switch (rnd.int(4)) {
      case 0:
        tips.set(b, rnd.pick([...SHAS, `n${rnd.int(1000)}`]));
        break;
      case 1:
        if (merged.has(b)) merged.delete(b);
        else merged.add(b);
        break;
      case 2:
        tips.delete(b);
        merged.delete(b);
        break;
      default:
        // A new commit that is merged at once (or not): the common "a run committed, then it was merged".
        tips.set(b, `m${rnd.int(1000)}`);
        if (rnd.chance(0.7)) merged.add(b);
    }
  }
  return { refs: { ...r, tips, merged }, changed };
}

describe('rederive, property test', () => {
  it('matches a full derivation through chains of changes, keeping unchanged status objects', () => {
    const rnd = prng(20_240_611);
    let kept = 0;
    let replaced = 0;
    let cyclic = 0;
    for (let c = 0; c < 400; c++) {
      const allowCycles = c % 10 === 9;
      const { tasks, refs: r0, ids } = randomProject(rnd, allowCycles);
      if (!acyclic(tasks)) cyclic++;
      let inp = input(tasks, r0);
      const d0 = deriveStatuses(inp);
      const d0Entries = [...d0.statuses];
      let prev = d0;
      const all = new Set<string>();
      const steps = 2 + rnd.int(5);
      for (let s = 0; s < steps; s++) {
        const { refs: r, changed } = changeRefs(rnd, inp.refs, ids);
        for (const id of changed) all.add(id);
        // Time moves on, but not past the moment a live run's heartbeat goes stale (the caller's contract).
        const now = Math.min(inp.now + rnd.int(3_000), prev.validUntil - 1);
        // Each step gets its own copy of the task list, equal in value, as the board builds it per snapshot.
        inp = input(rnd.chance(0.5) ? tasks : tasks.map((t) => ({ ...t })), r, now);
        const before = [...prev.statuses];
        const next = rederive(prev, inp, changed);
        expect([...prev.statuses], `case ${c} step ${s}: prev left alone`).toEqual(before);
        const n = check(prev, next, inp);
        kept += n.kept;
        replaced += n.replaced;
        prev = next;
      }
      // The first derivation is still intact, and still a valid start for all the changes at once.
      expect([...d0.statuses]).toEqual(d0Entries);
      for (const [id, s] of d0Entries) expect(d0.statuses.get(id)).toBe(s);
      check(d0, rederive(d0, inp, all), inp);
    }
    // The cases exercise both outcomes and the cycle fallback.
    expect(kept).toBeGreaterThan(1_000);
    expect(replaced).toBeGreaterThan(1_000);
    expect(cyclic).toBeGreaterThan(10);
  });
});

/**
 * New task facts with a few tasks changed as writes change them (a title, a cancellation, a new latest run, a new
 * fork point); the old list and its objects are left as they were.
 */
function changeFacts(rnd: ReturnType<typeof prng>, tasks: TaskFacts[], now: number): { tasks: TaskFacts[]; changed: Set<string>; relabelled: Set<string> } {
  const out = tasks.slice();
  const changed = new Set<string>();
  const relabelled = new Set<string>();
  const count = rnd.int(3);
  for (let c = 0; c < count; c++) {
    const k = rnd.int(out.length);
    const t = { ...out[k]! };
    changed.add(t.id);
    switch (rnd.int(4)) {
      case 0:
        t.title = `${t.title}'`;
        relabelled.add(t.id);
        break;
      case 1:
        t.cancelledAt = t.cancelledAt ? null : new Date(now - 1_000);
        break;
      case 2:
        t.latestRun = rnd.chance(0.2)
          ? null
          : { id: `r-${t.id}-${rnd.int(1000)}`, status: rnd.pick(RUNS), heartbeatAt: now - rnd.int(2 * RUN_STALE_MS), error: null, headSha: null, baseSha: 'base' };
        break;
      default:
        t.forkSha = rnd.chance(0.3) ? null : rnd.pick(SHAS);
    }
    out[k] = t;
  }
  return { tasks: out, changed, relabelled };
}

describe('rederive after writes, property test', () => {
  it('matches a full derivation when titles, cancellations, runs and fork points change with the refs', () => {
    const rnd = prng(20_261_123);
    let kept = 0;
    let replaced = 0;
    let fellBack = 0;
    for (let c = 0; c < 400; c++) {
      const { tasks: t0, refs: r0, ids } = randomProject(rnd, c % 10 === 9);
      let inp = input(t0, r0);
      const d0 = deriveStatuses(inp);
      let prev = d0;
      const all = new Set<string>();
      const allRelabelled = new Set<string>();
      const steps = 2 + rnd.int(5);
      for (let s = 0; s < steps; s++) {
        const now = Math.min(inp.now + rnd.int(3_000), prev.validUntil - 1);
        const { refs: r, changed } = rnd.chance(0.5) ? changeRefs(rnd, inp.refs, ids) : { refs: inp.refs, changed: new Set<string>() };
        const f = changeFacts(rnd, inp.tasks, now);
        for (const id of f.changed) changed.add(id);
        for (const id of changed) all.add(id);
        for (const id of f.relabelled) allRelabelled.add(id);
        inp = input(f.tasks, r, now);
        const next = rederive(prev, inp, changed, f.relabelled);
        if (next.changed === undefined) fellBack++;
        const n = check(prev, next, inp);
        kept += n.kept;
        replaced += n.replaced;
        prev = next;
        // A new live run may end the derivation's validity sooner; past it, the caller derives in full.
        if (!(inp.now < prev.validUntil)) break;
      }
      if (inp.now >= d0.state.now && inp.now < d0.validUntil) check(d0, rederive(d0, inp, all, allRelabelled), inp);
    }
    expect(kept).toBeGreaterThan(1_000);
    expect(replaced).toBeGreaterThan(1_000);
    // Most cases take the incremental path (cycles and unavailable repositories fall back).
    expect(fellBack).toBeLessThan(200);
  });
});
