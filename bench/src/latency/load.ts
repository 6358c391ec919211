import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { noise, RATE, rms, rng } from '../bargein/signals.js';

/**
 * What the latency bench puts around the gateway: CPU pinning (taskset), a bounded CPU hog on
 * the gateway's cores, and background noise for the denoise mix.
 */

/** Pins every thread of this process (the load generator and the test agent) to `cpus` (taskset syntax, e.g. "1"). */
export function pinSelf(cpus: string): void {
  execFileSync('taskset', ['-a', '-cp', cpus, String(process.pid)], { stdio: 'ignore' });
}

/**
 * A CPU hog: `threads` busy loops in a process of its own, pinned to `cpus` when given, at the
 * same priority as the gateway, for `seconds` (then it exits by itself; `stop()` ends it sooner).
 * What a noisy neighbour on the same cores does.
 */
export class CpuHog {
  readonly #child: ChildProcess;

  private constructor(child: ChildProcess) {
    this.#child = child;
  }

  static start(threads: number, seconds: number, cpus?: string): CpuHog {
    const code = `
      const { Worker } = require('node:worker_threads');
      const end = Date.now() + ${Math.round(seconds * 1000)};
      const spin = 'const end = ' + end + '; let x = 0; while (Date.now() < end) { for (let i = 0; i < 1e5; i++) x += i; }';
      for (let t = 1; t < ${threads}; t++) new Worker(spin, { eval: true });
      let x = 0; while (Date.now() < end) { for (let i = 0; i < 1e5; i++) x += i; }`;
    const args = ['-e', code];
    const child =
      cpus === undefined
        ? spawn(process.execPath, args, { stdio: 'ignore' })
        : spawn('taskset', ['-c', cpus, process.execPath, ...args], { stdio: 'ignore' });
    return new CpuHog(child);
  }

  /** Ends the hog now (idempotent). */
  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise<void>((r) => this.#child.once('exit', () => r()));
    this.#child.kill('SIGKILL');
    await exited;
  }
}

/** Deterministic pink noise (the barge-in set's generator, seeded), unit RMS, at 8 kHz. */
export function pinkNoise(samples: number, seed: number): Float32Array {
  const out = noise('pink', samples / RATE, rng(seed));
  const k = 1 / rms(out);
  for (let i = 0; i < out.length; i++) out[i]! *= k;
  return out;
}

/** `speech` with `noise` added at `snrDb` (RMS over the whole clip), clipped to 16 bits. */
export function mixAtSnr(speech: Int16Array, noise: Float32Array, snrDb: number): Int16Array {
  let es = 0;
  for (const v of speech) es += v * v;
  const rms = Math.sqrt(es / speech.length);
  const g = rms / 10 ** (snrDb / 20);
  return Int16Array.from(speech, (v, i) => Math.max(-32768, Math.min(32767, Math.round(v + g * noise[i % noise.length]!))));
}
