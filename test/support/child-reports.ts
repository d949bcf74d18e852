import type { ChildProcess } from 'node:child_process';

/**
 * Test children (actor hosts, app processes) report on stdout, one JSON object per line. Calls `onReport` with each
 * and resolves at the first `{"ready": true}`; rejects if the child exits before that. Lines that are not JSON are
 * someone else's output and are skipped.
 */
export function childReports<M extends { ready?: boolean }>(proc: ChildProcess, label: string, onReport: (m: M) => void): Promise<void> {
  let buf = '';
  return new Promise<void>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`${label} exited early (${code})`)));
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let m: M;
        try {
          m = JSON.parse(line) as M;
        } catch {
          continue;
        }
        onReport(m);
        if (m.ready) resolve();
      }
    });
  });
}
