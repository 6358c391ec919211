import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RecordingStore } from '../../../gateway/src/call/RecordingStore.js';
import { Metrics } from '../../../gateway/src/metrics.js';

/** The recordings directory's retention sweep, on real files with set ages. */
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vg-store-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const NOW = Date.UTC(2025, 0, 10);
const DAY = 86_400_000;

async function put(name: string, bytes: number, ageMs: number): Promise<void> {
  const path = join(dir, name);
  await writeFile(path, Buffer.alloc(bytes));
  const t = (NOW - ageMs) / 1000;
  await utimes(path, t, t);
}

describe('RecordingStore', () => {
  it('maps only call ids to files (no path escapes the directory)', () => {
    const store = new RecordingStore({ dir, maxAgeS: 0, maxBytes: 0 }, new Metrics());
    const id = randomUUID();
    expect(store.pathOf(id)).toBe(join(dir, `${id}.wav`));
    for (const bad of ['../etc/passwd', `${id}/../../x`, '', 'abc']) expect(store.pathOf(bad)).toBeNull();
  });

  it('deletes recordings older than the age limit, then the oldest beyond the byte limit; leaves live ones and other files', async () => {
    const store = new RecordingStore({ dir, maxAgeS: 7 * 86_400, maxBytes: 3000 }, new Metrics());
    const [old, oldPart, a, b, c, live] = Array.from({ length: 6 }, () => randomUUID());
    await put(`${old}.wav`, 100, 8 * DAY); // too old
    await put(`${oldPart}.wav.part`, 100, 9 * DAY); // a crash's leftover
    await put(`${a}.wav`, 1500, 3 * DAY); // oldest within age: goes for the byte limit
    await put(`${b}.wav`, 1500, 2 * DAY);
    await put(`${c}.wav`, 1000, 1 * DAY);
    await put('notes.txt', 50_000, 30 * DAY); // not ours
    const { file, done } = store.create(live!, 8000);
    file.write(0, Buffer.alloc(8000));
    await new Promise((r) => setTimeout(r, 50));
    await utimes(join(dir, `${live}.wav.part`), (NOW - 10 * DAY) / 1000, (NOW - 10 * DAY) / 1000);

    const swept = await store.sweep(NOW);
    expect(swept).toEqual({ deleted: 3, bytes: 1700 });
    expect((await readdir(dir)).sort()).toEqual([`${b}.wav`, `${c}.wav`, `${live}.wav.part`, 'notes.txt'].sort());
    expect(await store.find(b!)).toEqual({ path: join(dir, `${b}.wav`), size: 1500 });
    expect(await store.find(a!)).toBeNull();

    // Finished, the live one is a recording like the others (and by then far too old).
    expect(await file.finish()).toBe(8000);
    done();
    await utimes(join(dir, `${live}.wav`), (NOW - 10 * DAY) / 1000, (NOW - 10 * DAY) / 1000);
    expect((await store.sweep(NOW)).deleted).toBe(1);
  });

  it('with limits 0, keeps everything; a missing directory sweeps nothing', async () => {
    const keep = new RecordingStore({ dir, maxAgeS: 0, maxBytes: 0 }, new Metrics());
    await put(`${randomUUID()}.wav`, 10_000, 400 * DAY);
    expect((await keep.sweep(NOW)).deleted).toBe(0);
    const none = new RecordingStore({ dir: join(dir, 'absent'), maxAgeS: 1, maxBytes: 1 }, new Metrics());
    expect(await none.sweep(NOW)).toEqual({ deleted: 0, bytes: 0 });
  });
});
