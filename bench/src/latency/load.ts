import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

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

/** Deterministic pink noise (Paul Kellet's filter on a seeded white source), unit-ish RMS. */
export function pinkNoise(samples: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const rand = () => {
    // xorshift32
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32 - 0.5;
  };
  const out = new Float32Array(samples);
  let b0 = 0;
  let b1 = 0;
  let b2 = 0;
  for (let i = 0; i < samples; i++) {
    const w = rand();
    b0 = 0.99765 * b0 + w * 0.099046;
    b1 = 0.963 * b1 + w * 0.2965164;
    b2 = 0.57 * b2 + w * 1.0526913;
    out[i] = b0 + b1 + b2 + w * 0.1848;
  }
  let e = 0;
  for (const v of out) e += v * v;
  const k = 1 / Math.sqrt(e / samples);
  for (let i = 0; i < samples; i++) out[i]! *= k;
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
