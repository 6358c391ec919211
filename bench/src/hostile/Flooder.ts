import { Worker } from 'node:worker_threads';
import type { FlooderSpec, FromFlooder } from './floodThread.js';

type Report = Extract<FromFlooder, { t: 'report' }>;

/**
 * The probe's handle on a flooding peer running in its own thread (floodThread.ts). Started through
 * the gateway's tsx bootstrap (Node 20 does not pass the parent's module hooks to workers).
 */
export class Flooder {
  readonly #w: Worker;
  readonly #seen: FromFlooder[] = [];
  #waiters: (() => void)[] = [];

  private constructor(w: Worker) {
    this.#w = w;
    w.on('message', (m: FromFlooder) => {
      this.#seen.push(m);
      for (const f of this.#waiters.splice(0)) f();
    });
    w.on('error', (err) => {
      process.stderr.write(`flooder: ${err.message}\n`);
    });
  }

  static start(spec: FlooderSpec): Flooder {
    const bootstrap = new URL('../../../gateway/src/media/tsWorker.mjs', import.meta.url);
    return new Flooder(new Worker(bootstrap, { workerData: { tsEntry: new URL('./floodThread.ts', import.meta.url).href, spec } }));
  }

  /** The first message of kind `t`, waiting up to `timeoutMs`; null when it did not come. */
  async next<T extends FromFlooder['t']>(t: T, timeoutMs: number): Promise<Extract<FromFlooder, { t: T }> | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.#seen.find((x) => x.t === t);
      if (m !== undefined) return m as Extract<FromFlooder, { t: T }>;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await new Promise<void>((r) => {
        const timer = setTimeout(r, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          r();
        });
      });
    }
  }

  /** agent role: the ws:// URL the gateway should dial. */
  async agentUrl(): Promise<string> {
    const m = await this.next('listening', 5000);
    if (m === null) throw new Error('the flooding agent did not start');
    return `ws://127.0.0.1:${m.port}/`;
  }

  go(): void {
    this.#w.postMessage({ t: 'go' });
  }

  /** What the flooder has received so far and how its socket ended (it keeps running). */
  async peek(): Promise<Report> {
    this.#seen.splice(0, this.#seen.length, ...this.#seen.filter((m) => m.t !== 'report'));
    this.#w.postMessage({ t: 'report' });
    const r = await this.next('report', 5000);
    if (r === null) throw new Error('the flooder did not report');
    return r;
  }

  /** Its last report; then its thread is stopped (its sockets with it). */
  async finish(): Promise<Report> {
    try {
      return await this.peek();
    } finally {
      await this.#w.terminate();
    }
  }
}
