/** The actor runtime's public surface. Everything else in this folder is internal. */
export { ActorSystem } from './system.ts';
export { jsonStateStore } from './store.ts';
export { ActorTimeoutError, ActorUnavailableError } from './errors.ts';
export { partitionOf, DEFAULT_PARTITIONS } from './partitions.ts';
export type {
  ActorKind,
  ActorChange,
  AnyActorKind,
  ActorSystemOptions,
  CommandOf,
  CommitListener,
  CommittedActor,
  CommittedBatch,
  FiredTimer,
  KindStats,
  ReplyOf,
  SendOptions,
  TurnContext,
  TurnResult,
} from './types.ts';
