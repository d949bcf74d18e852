import { OPAQUE_ID } from '../runtime/ids.ts';

/**
 * Route parameters that must be opaque ids (spec 1.2). `spaceId` is checked the same way: `me` and slugs
 * (`[a-z0-9][a-z0-9-]{0,31}`) are opaque-id-shaped too, so one pattern covers all three.
 */
const OPAQUE_PARAMS = new Set([
  'id', 'artifactId', 'assetId', 'buildId', 'clientId', 'commitId', 'deploymentId', 'domainId', 'fileId', 'jobId',
  'memoryId', 'packageId', 'projectId', 'repoId', 'reminderId', 'runId', 'sessionId', 'serviceId', 'taskId',
  'threadId', 'tokenId', 'toolId', 'userId', 'workerId', 'spaceId', 'username', 'dependsOnId',
]);

/** Returns the name of the first invalid parameter, or null. */
export function invalidParam(params: Record<string, string>): string | null {
  for (const [name, value] of Object.entries(params)) {
    if (OPAQUE_PARAMS.has(name) && !OPAQUE_ID.test(value)) return name;
  }
  return null;
}
