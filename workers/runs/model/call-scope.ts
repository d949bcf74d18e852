import { cancelledError } from './errors.ts';

/**
 * One model call's abort scope: the caller's signal and the call's deadline folded into one signal for the SDK,
 * remembering which fired first. Both SDKs swallow an abort that happens mid-stream (their iterators just end), and
 * report one before the headers as a generic abort error, so the cause has to be kept here to tell a timeout from a
 * cancellation.
 */
export interface CallScope {
  readonly signal: AbortSignal;
  /** Which of the two fired first, or null while neither has. */
  abortedBy(): 'timeout' | 'cancelled' | null;
  /** Stops the timer and detaches from the caller's signal; also aborts, so a half-read HTTP stream is closed. */
  close(): void;
}

export function openCallScope(provider: string, callerSignal: AbortSignal, timeoutMs: number): CallScope {
  if (callerSignal.aborted) throw cancelledError(provider, callerSignal.reason);
  const controller = new AbortController();
  let cause: 'timeout' | 'cancelled' | null = null;
  const fire = (why: 'timeout' | 'cancelled') => {
    cause ??= why;
    controller.abort();
  };
  const onCallerAbort = () => fire('cancelled');
  callerSignal.addEventListener('abort', onCallerAbort, { once: true });
  const timer = setTimeout(() => fire('timeout'), timeoutMs);
  return {
    signal: controller.signal,
    abortedBy: () => cause,
    close() {
      clearTimeout(timer);
      callerSignal.removeEventListener('abort', onCallerAbort);
      controller.abort();
    },
  };
}
