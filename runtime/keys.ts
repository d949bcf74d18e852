/**
 * Every Redis key and channel name is built here, under the process's prefix, so that the layout of Redis is
 * readable in one file and two deployments (or two test files) sharing a Redis never see each other's keys.
 */
export function redisKeys(prefix: string) {
  return {
    prefix,
    /** Cookie / bearer web session record (JSON), TTL = session lifetime. */
    webSession: (id: string) => `${prefix}sess:${id}`,
    /** Set of a user's web session ids, to end them all at once. */
    userSessions: (userId: string) => `${prefix}user-sessions:${userId}`,
    /** Pub/sub channel that tells every process to drop cached credentials. */
    authInvalidate: `${prefix}auth:invalidate`,
    /** Sliding-window rate-limit bucket. */
    rateLimit: (scope: string, key: string) => `${prefix}rl:${scope}:${key}`,
    /** Recent tail of an entity's event stream (Redis stream whose entry ids are `<event id>-1`). */
    eventTail: (kind: string, id: string) => `${prefix}evt:${kind}:${id}`,
    /** Pub/sub channel on which committed event batches of one entity are fanned out to every web process. */
    eventChannel: (kind: string, id: string) => `${prefix}evtc:${kind}:${id}`,
    /** Prefix handed to BullMQ for its queues. */
    bullPrefix: `${prefix}bull`,
    /** Actor partition inbox: a stream read by the partition owner through the consumer group `owners`. */
    actorInbox: (kind: string, partition: number) => `${prefix}actor:${kind}:${partition}:in`,
    /** Actor partition lease, value `<hostId>|<epoch>`, PX = lease TTL. */
    actorLease: (kind: string, partition: number) => `${prefix}actor:${kind}:${partition}:lease`,
    /** Fencing epoch counter of an actor partition (INCR; raised above Postgres' epoch when Redis lost it). */
    actorEpoch: (kind: string, partition: number) => `${prefix}actor:${kind}:${partition}:epoch`,
    /** Sorted set of live hosts of an actor kind, score = liveness deadline (Redis clock, ms). */
    actorHosts: (kind: string) => `${prefix}actor:${kind}:hosts`,
    /** Pub/sub channel: a host joined or released partitions of a kind; others rebalance at once. */
    actorRebalance: (kind: string) => `${prefix}actor:${kind}:rebalance`,
    /** Pub/sub channel on which one actor system receives the replies to the commands it sent. */
    actorReplies: (systemId: string) => `${prefix}actor-reply:${systemId}`,
    /** Partition count an actor kind was first started with; every process must agree (checked at start). */
    actorPartitionCount: (kind: string) => `${prefix}actor:${kind}:partition-count`,
    /** Sorted set of browser worker ids, score = heartbeat deadline (ms); stale members are pruned by readers. */
    browserWorkers: `${prefix}browser:workers`,
    /** A browser worker's heartbeat: its capacity as JSON, PX = BROWSER_HEARTBEAT_TTL_MS. Missing = worker dead. */
    browserWorker: (workerId: string) => `${prefix}browser:worker:${workerId}`,
    /** List of commands for one browser worker (LPUSH by web processes, BRPOP by the worker holding the pages). */
    browserCommands: (workerId: string) => `${prefix}browser:cmd:${workerId}`,
    /** Pub/sub channel on which one process receives the replies of browser workers. */
    browserReplies: (clientId: string) => `${prefix}browser:reply:${clientId}`,
  };
}

export type RedisKeys = ReturnType<typeof redisKeys>;
