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
    /** Prefix handed to BullMQ for its queues. */
    bullPrefix: `${prefix}bull`,
  };
}

export type RedisKeys = ReturnType<typeof redisKeys>;
