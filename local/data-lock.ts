/**
 * One local mode per data folder. dynalite's LevelDB and the other stores under the folder belong to one process: a
 * second local mode on the same folder (another port) would fail later with dynalite's `Database is closed`. So a
 * start takes `<data folder>/local.lock`, a JSON file holding its pid, and refuses when a live process holds it;
 * a lock left by a process that has ended (a crash, a kill -9) is taken over.
 */
import { randomUUID } from 'node:crypto';
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE = 'local.lock';

interface LockContent {
  readonly pid: number;
  readonly token: string;
  readonly startedAt: string;
  readonly url?: string;
}

/** The data folder is held by another live local mode. */
export class DataFolderInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: { pid: number; url?: string; startedAt?: string },
  ) {
    super(
      `the data folder ${dataDir} is in use by another local mode (pid ${holder.pid}${holder.url ? `, ${holder.url}` : ''}${
        holder.startedAt ? `, started ${holder.startedAt}` : ''
      }); stop it, or set COUNTERSIGN_DATA_DIR to another folder`,
    );
    this.name = 'DataFolderInUseError';
    this.stack = `${this.name}: ${this.message}`;
  }
}

/** Whether a process with this pid is running (EPERM: it runs, as another user). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLock(path: string): Partial<LockContent> | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    return parsed && typeof parsed === 'object' ? (parsed as Partial<LockContent>) : {};
  } catch (err) {
    // Absent: nobody holds it. Unreadable or half-written: treated as a lock without a live holder.
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : {};
  }
}

/**
 * Takes the data folder's lock for this process, or throws DataFolderInUseError naming the process that holds it.
 * Answers the release, which removes the lock only while it is still this start's.
 */
export function lockDataFolder(dataDir: string, url?: string): { release(): void } {
  const path = join(dataDir, LOCK_FILE);
  const token = randomUUID();
  const content = JSON.stringify({ pid: process.pid, token, startedAt: new Date().toISOString(), ...(url ? { url } : {}) } satisfies LockContent);
  for (let attempt = 0; attempt < 3; attempt++) {
    // Written whole to a file of its own, then linked into place (atomic, and refused when the lock exists): another
    // start never reads a lock half-written, which it would take for a stale one.
    const whole = `${path}.${process.pid}.${token}.new`;
    writeFileSync(whole, `${content}\n`, { mode: 0o600 });
    try {
      linkSync(whole, path);
      return { release: () => releaseIfOurs(path, token) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      unlinkSync(whole);
    }
    const held = readLock(path);
    // A live holder refuses the start; this process counts too (a second runtime in it would share the stores).
    if (held && typeof held.pid === 'number' && processAlive(held.pid)) {
      throw new DataFolderInUseError(dataDir, {
        pid: held.pid,
        ...(typeof held.url === 'string' ? { url: held.url } : {}),
        ...(typeof held.startedAt === 'string' ? { startedAt: held.startedAt } : {}),
      });
    }
    // A stale lock (its process ended): replace it in one rename, then check that ours is the one that stayed.
    const temp = `${path}.${process.pid}.${token}`;
    writeFileSync(temp, `${content}\n`, { mode: 0o600 });
    renameSync(temp, path);
    if (readLock(path)?.token === token) return { release: () => releaseIfOurs(path, token) };
  }
  const held = readLock(path);
  throw new DataFolderInUseError(dataDir, { pid: typeof held?.pid === 'number' ? held.pid : 0 });
}

function releaseIfOurs(path: string, token: string): void {
  if (readLock(path)?.token !== token) return;
  try {
    unlinkSync(path);
  } catch {
    // Already gone: nothing to release.
  }
}
