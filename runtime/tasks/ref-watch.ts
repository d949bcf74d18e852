import { watch, type FSWatcher } from 'node:fs';

/**
 * Which loose refs of one folder (a repository's `refs/heads/takos`) changed, from the kernel's file events
 * (inotify), so that a ref change costs the reading of that one ref instead of a listing of every branch (refs.ts).
 *
 * Each event bumps `seq` and records the name's last sequence number; a reader remembers the `seq` it saw before it
 * read the folder, and later asks which names changed since. Git updates a loose ref by writing `<name>.lock` and
 * renaming it over `<name>`: the rename is the event that matters, lock files are ignored.
 *
 * Why events cannot be missed by a reader that uses it as refs.ts does: the kernel queues an event inside the
 * rename system call, so before the process that moved the ref has even exited; the event loop reads every queued
 * event each time it polls, and a reader waits for one poll and the check phase after it (setImmediate) before it
 * consults `seq`, so an event queued before a request arrived has been counted by then. What the watch cannot vouch for it reports by going dead (`alive`
 * false): an event without a file name, a watcher error, or `close()`. A reader then lists every ref again.
 */
export class RefWatch {
  seq = 0;
  alive = true;
  private readonly last = new Map<string, number>();
  private readonly watcher: FSWatcher;

  private constructor(readonly dir: string) {
    // persistent: false, so a watch never keeps a process alive.
    this.watcher = watch(dir, { persistent: false }, (_event, name) => {
      if (typeof name !== 'string' || name === '') {
        this.die();
        return;
      }
      if (name.endsWith('.lock')) return;
      this.last.set(name, ++this.seq);
    });
    this.watcher.on('error', () => this.die());
  }

  /** A watch on `dir`, or null when it cannot be watched (missing folder, no inotify, watch limit reached). */
  static open(dir: string): RefWatch | null {
    try {
      return new RefWatch(dir);
    } catch {
      return null;
    }
  }

  /** Names with an event after sequence number `seq`. */
  changedSince(seq: number): string[] {
    const out: string[] = [];
    for (const [name, at] of this.last) if (at > seq) out.push(name);
    return out;
  }

  close(): void {
    this.die();
  }

  private die(): void {
    if (!this.alive) return;
    this.alive = false;
    this.last.clear();
    this.watcher.close();
  }
}
