import { readdir, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { log } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { RecordingSettings } from '../settings.js';
import { RecordingFile } from './RecordingFile.js';

/** A call id as the gateway makes them (RFC 4122 form): the only names that map to files, so no path can escape the directory. */
const CALL_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** How often the retention sweep runs, ms. */
export const SWEEP_INTERVAL_MS = 60_000;

/**
 * The recordings directory (RECORDINGS_DIR): one `<callId>.wav` per recorded call (`.part` while
 * it is being written), found again by id after the call, and a retention sweep that deletes
 * recordings older than RECORDINGS_MAX_AGE_S, then the oldest ones while the total exceeds
 * RECORDINGS_MAX_BYTES. Recordings being written are never swept. All file work is asynchronous.
 */
export class RecordingStore {
  readonly dir: string;
  readonly #s: RecordingSettings;
  readonly #m: Metrics;
  /** ids of the recordings being written */
  readonly #live = new Set<string>();
  #sweeping: Promise<{ deleted: number; bytes: number }> | null = null;
  #lastSweep = -Infinity;

  constructor(settings: RecordingSettings, metrics: Metrics) {
    this.#s = settings;
    this.#m = metrics;
    this.dir = resolve(settings.dir);
  }

  /** The finished file of call `id` (whether or not it exists), or null when `id` is not a call id. */
  pathOf(id: string): string | null {
    return CALL_ID.test(id) ? join(this.dir, `${id.toLowerCase()}.wav`) : null;
  }

  /** Whether call `id` is being recorded now. */
  isLive(id: string): boolean {
    return this.#live.has(id.toLowerCase());
  }

  /** A new recording for call `id`; `done` when it is finished or has failed (the sweep may take it from then on). */
  create(id: string, rate: number): { file: RecordingFile; done: () => void } {
    const path = this.pathOf(id);
    if (path === null) throw new Error(`not a call id: ${id}`);
    const key = id.toLowerCase();
    this.#live.add(key);
    let told = false;
    const file = new RecordingFile(
      path,
      rate,
      2,
      (code, err) => {
        this.#m.drops.inc({ reason: code });
        // Once per file and code is enough for the log (a stalled disk would repeat it every second).
        if (told) return;
        told = true;
        log('error', 'recording_failed', { callId: id, code, error: err instanceof Error ? err.message : String(err) });
      },
      (bytes) => {
        this.#m.recordingBytes.inc(bytes);
      },
    );
    return { file, done: () => this.#live.delete(key) };
  }

  /** The finished recording of call `id`: its path and size, or null when there is none. */
  async find(id: string): Promise<{ path: string; size: number } | null> {
    const path = this.pathOf(id);
    if (path === null) return null;
    try {
      const st = await stat(path);
      return st.isFile() ? { path, size: st.size } : null;
    } catch {
      return null;
    }
  }

  /** Runs the sweep when SWEEP_INTERVAL_MS has passed since the last one (from the gateway's housekeeping). */
  maybeSweep(nowMs: number): void {
    if (nowMs - this.#lastSweep < SWEEP_INTERVAL_MS) return;
    this.#lastSweep = nowMs;
    void this.sweep();
  }

  /**
   * Applies the retention limits now: deletes finished recordings (and `.part` files no call is
   * writing, left by a crash) older than maxAgeS, then the oldest until the total is within
   * maxBytes. Resolves with what it deleted. One sweep at a time (a second call joins the first).
   */
  sweep(nowMs = Date.now()): Promise<{ deleted: number; bytes: number }> {
    this.#sweeping ??= this.#sweep(nowMs).finally(() => {
      this.#sweeping = null;
    });
    return this.#sweeping;
  }

  async #sweep(nowMs: number): Promise<{ deleted: number; bytes: number }> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return { deleted: 0, bytes: 0 };
    }
    const files: { path: string; size: number; mtimeMs: number }[] = [];
    for (const name of names) {
      const m = /^(.+)\.wav(\.part)?$/.exec(name);
      if (m === null || !CALL_ID.test(m[1]!) || this.#live.has(m[1]!.toLowerCase())) continue;
      const path = join(this.dir, name);
      try {
        const st = await stat(path);
        if (st.isFile()) files.push({ path, size: st.size, mtimeMs: st.mtimeMs });
      } catch {
        // deleted meanwhile (another instance sharing the directory)
      }
    }
    files.sort((a, b) => a.mtimeMs - b.mtimeMs);
    let total = files.reduce((a, f) => a + f.size, 0);
    const maxAgeMs = this.#s.maxAgeS * 1000;
    let deleted = 0;
    let bytes = 0;
    for (const f of files) {
      const tooOld = maxAgeMs > 0 && nowMs - f.mtimeMs > maxAgeMs;
      const tooMuch = this.#s.maxBytes > 0 && total > this.#s.maxBytes;
      if (!tooOld && !tooMuch) continue;
      try {
        await rm(f.path, { force: true });
        deleted++;
        bytes += f.size;
        total -= f.size;
      } catch (err) {
        log('warn', 'recording_sweep_failed', { path: f.path, error: String(err) });
      }
    }
    if (deleted > 0) log('info', 'recordings_swept', { deleted, bytes, keptBytes: total });
    return { deleted, bytes };
  }
}
