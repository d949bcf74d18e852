import { Counter, Gauge, Histogram, type Registry } from '../metrics.ts';

/**
 * Metrics of the actor runtime, registered once per kernel registry (several actor systems in one process, as in
 * tests, share the series; gauges sum over the systems).
 */
export interface ActorMetrics {
  turns: Counter;
  turnSeconds: Histogram;
  batchTurns: Histogram;
  commits: Counter;
  leaseRenewals: Counter;
  leaseLosses: Counter;
  acquisitions: Counter;
  timersFired: Counter;
  activations: Counter;
  /** Providers of gauge samples; a stopped system removes its own. */
  owned: Set<() => Array<[Record<string, string>, number]>>;
  active: Set<() => Array<[Record<string, string>, number]>>;
}

const perRegistry = new WeakMap<Registry, ActorMetrics>();

export function actorMetrics(reg: Registry): ActorMetrics {
  const existing = perRegistry.get(reg);
  if (existing) return existing;
  const owned = new Set<() => Array<[Record<string, string>, number]>>();
  const active = new Set<() => Array<[Record<string, string>, number]>>();
  const sum = (providers: typeof owned) => () => {
    const totals = new Map<string, number>();
    for (const p of providers) for (const [l, v] of p()) totals.set(l.kind ?? '', (totals.get(l.kind ?? '') ?? 0) + v);
    return [...totals].map(([kind, v]): [Record<string, string>, number] => [{ kind }, v]);
  };
  const m: ActorMetrics = {
    turns: reg.register(new Counter('takos_actor_turns_total', 'Actor turns by kind and outcome (ok, rejected, duplicate, timer)', ['kind', 'outcome'])),
    turnSeconds: reg.register(
      new Histogram('takos_actor_turn_seconds', 'Command arrival at the owner to durable commit', [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5], ['kind']),
    ),
    batchTurns: reg.register(new Histogram('takos_actor_commit_turns', 'Turns per commit transaction', [1, 2, 4, 8, 16, 32, 64, 128, 256, 512], ['kind'])),
    commits: reg.register(new Counter('takos_actor_commits_total', 'Actor commit transactions by result (ok, fenced, transient, permanent)', ['kind', 'result'])),
    leaseRenewals: reg.register(new Counter('takos_actor_lease_renewals_total', 'Partition leases renewed', ['kind'])),
    leaseLosses: reg.register(new Counter('takos_actor_lease_losses_total', 'Partitions lost without releasing them (lease expired, taken, or fenced)', ['kind', 'reason'])),
    acquisitions: reg.register(new Counter('takos_actor_partition_acquisitions_total', 'Partitions acquired', ['kind'])),
    timersFired: reg.register(new Counter('takos_actor_timers_fired_total', 'Durable timers fired', ['kind'])),
    activations: reg.register(new Counter('takos_actor_activations_total', 'Actors loaded from Postgres', ['kind'])),
    owned,
    active,
  };
  reg.register(new Gauge('takos_actor_owned_partitions', 'Partitions owned by this process', sum(owned)));
  reg.register(new Gauge('takos_actor_active_actors', 'Actors in memory in this process', sum(active)));
  perRegistry.set(reg, m);
  return m;
}
