import type { Logger } from './log.ts';

/**
 * Graceful shutdown on SIGTERM/SIGINT: run `stop` once (stop accepting, drain, close pools); a second signal or a
 * stop that hangs past the deadline exits hard.
 */
export function onShutdown(log: Logger, stop: () => Promise<void>, hardDeadlineMs = 20_000): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) {
      log.warn({ signal }, 'second signal, exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    const t = setTimeout(() => {
      log.error('shutdown deadline passed, exiting');
      process.exit(1);
    }, hardDeadlineMs);
    t.unref();
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => handler('SIGTERM'));
  process.on('SIGINT', () => handler('SIGINT'));
}
