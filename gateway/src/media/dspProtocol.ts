import type { InboundDspOptions } from './InboundDsp.js';

/** Messages between the main thread and a DSP worker (structured clone; audio buffers transferred). */
export type ToWorker =
  | { op: 'open'; id: number; opts: InboundDspOptions }
  | { op: 'push'; id: number; pcm: Int16Array; arrivalMs: number }
  | { op: 'close'; id: number };

export type FromWorker =
  | { op: 'ready' }
  | { op: 'frame'; id: number; frame: Int16Array; vad0: number; vad1: number; arrivalMs: number }
  | { op: 'error'; id: number; message: string };
