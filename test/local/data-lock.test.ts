/** The data folder's lock (local/data-lock.ts): a live holder refuses, a dead one is taken over, release is the owner's. */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataFolderInUseError, LOCK_FILE, lockDataFolder } from '../../local/data-lock';

describe('data folder lock', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cs-lock-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const lockOf = (folder: string) => JSON.parse(readFileSync(join(folder, LOCK_FILE), 'utf8'));

  it('refuses while another live process holds it, naming that pid', async () => {
    const folder = mkdtempSync(join(dir, 'live-'));
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      writeFileSync(
        join(folder, LOCK_FILE),
        JSON.stringify({ pid: holder.pid, token: 't', startedAt: '2026-01-01T00:00:00.000Z', url: 'http://127.0.0.1:8787' }),
      );
      expect(() => lockDataFolder(folder)).toThrow(DataFolderInUseError);
      expect(() => lockDataFolder(folder)).toThrow(
        `is in use by another local mode (pid ${holder.pid}, http://127.0.0.1:8787, started 2026-01-01T00:00:00.000Z)`,
      );
      expect(lockOf(folder).pid).toBe(holder.pid);
    } finally {
      holder.kill('SIGKILL');
      await new Promise((resolve) => holder.once('exit', resolve));
    }
    // Now that it ended, its lock is stale: taken over.
    const lock = lockDataFolder(folder);
    expect(lockOf(folder).pid).toBe(process.pid);
    lock.release();
    expect(existsSync(join(folder, LOCK_FILE))).toBe(false);
  });

  it('takes over a lock from an ended process or an unreadable one', () => {
    const deadPid = Number(spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' }).stdout.trim());
    for (const content of [JSON.stringify({ pid: deadPid, token: 'old' }), '{"pid": 12', '']) {
      const folder = mkdtempSync(join(dir, 'stale-'));
      writeFileSync(join(folder, LOCK_FILE), content);
      const lock = lockDataFolder(folder);
      expect(lockOf(folder).pid).toBe(process.pid);
      lock.release();
    }
  });

  it('lets exactly one of many starts racing for a free folder take it', async () => {
    const folder = mkdtempSync(join(dir, 'race-'));
    const module = join(import.meta.dirname, '..', '..', 'local', 'data-lock.ts');
    // Each contender waits for the same moment, tries once, says whether it holds the lock, and stays alive a while
    // so the others see a live holder.
    const at = Date.now() + 1500;
    const script = `import { lockDataFolder } from ${JSON.stringify(module)};
      while (Date.now() < ${at}) {}
      let held = false; try { lockDataFolder(${JSON.stringify(folder)}); held = true; } catch {}
      console.log(held ? 'held' : 'refused'); setTimeout(() => {}, 1500);`;
    const results = await Promise.all(
      Array.from({ length: 6 }, () => {
        const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.on('data', (chunk) => {
          out += chunk;
        });
        return new Promise<string>((resolve) => child.once('exit', () => resolve(out.trim())));
      }),
    );
    expect(results.filter((r) => r === 'held')).toHaveLength(1);
    expect(results.filter((r) => r === 'refused')).toHaveLength(5);
  });

  it('refuses a second lock in the same process, and a release removes only its own lock', () => {
    const folder = mkdtempSync(join(dir, 'own-'));
    const first = lockDataFolder(folder);
    expect(() => lockDataFolder(folder)).toThrow(`(pid ${process.pid}`);
    // Someone else's lock in its place (it was taken over): the old holder's release leaves it.
    writeFileSync(join(folder, LOCK_FILE), JSON.stringify({ pid: process.pid, token: 'another' }));
    first.release();
    expect(lockOf(folder).token).toBe('another');
  });
});
