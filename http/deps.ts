import type { Kernel } from '../runtime/kernel.ts';

/**
 * What handlers receive as `c.deps`. Capabilities added by later subsystems (actor host, queues, blob store) extend
 * this interface, so a handler's needs are visible from its imports and a test builds the same object for real.
 */
export type AppDeps = Kernel;
