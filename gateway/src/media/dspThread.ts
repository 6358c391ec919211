import { Worker } from 'node:worker_threads';
import type { FromWorker, ToWorker } from './dspProtocol.js';

/** Starts a DSP worker thread and resolves once its WASM modules are loaded (it says 'ready'). */
export async function startDspThread(): Promise<Worker> {
  const worker = spawn();
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => {
      worker.off('message', onReady);
      reject(err);
    };
    const onReady = (m: FromWorker) => {
      if (m.op !== 'ready') return;
      worker.off('error', onError);
      worker.off('message', onReady);
      resolve();
    };
    worker.on('error', onError);
    worker.on('message', onReady);
  });
  return worker;
}

/**
 * Built code runs dspWorker.js beside this file; from the TypeScript sources (tests, tsx) a small
 * bootstrap registers tsx in the new thread before loading dspWorker.ts (Node 20 does not pass a
 * parent's module hooks to its workers).
 */
function spawn(): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./dspWorker.js', import.meta.url));
  return new Worker(new URL('./tsWorker.mjs', import.meta.url), {
    workerData: { tsEntry: new URL('./dspWorker.ts', import.meta.url).href },
  });
}

/** A worker's V8 heap used, external (ArrayBuffer) and WASM memory, bytes; open chains. */
export interface WorkerStats {
  heapUsed: number;
  external: number;
  wasm: number;
  chains: number;
}

/** Asks a DSP worker for its WorkerStats; NaNs when it cannot answer within a second (it must not hang /metrics). */
export function workerStats(worker: Worker): Promise<WorkerStats> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      worker.off('message', on);
      resolve({ heapUsed: NaN, external: NaN, wasm: NaN, chains: NaN });
    }, 1000);
    const on = (m: FromWorker) => {
      if (m.op !== 'stats') return;
      clearTimeout(timer);
      worker.off('message', on);
      resolve(m);
    };
    worker.on('message', on);
    worker.postMessage({ op: 'stats' } satisfies ToWorker);
  });
}
