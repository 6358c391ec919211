import v8 from 'node:v8';
import { parentPort } from 'node:worker_threads';
import { loadDenoiserModule, loadResamplerModule } from '../../../codecs/src/index.js';
import { DSP_DEADLINE_MS, DspRing, epochMs, FrameMeta, OUT_META, WorkerSignals, type FromWorker, type ToWorker } from './dspProtocol.js';
import { InboundDsp } from './InboundDsp.js';

/**
 * A DSP worker thread: runs the inbound chains of the calls assigned to it, each with its own
 * InboundDsp inside this thread's WASM modules. Audio comes and goes through each call's shared
 * DspRing; a pass serves every chain with input waiting, and the thread sleeps (told so in its
 * WorkerSignals) only when none has any.
 *
 * Overload: input that waited more than DSP_DEADLINE_MS is dropped unprocessed (counted). A chain
 * whose input keeps arriving late (more than a third of the deadline, LATE_IN_A_ROW times running,
 * or half the deadline once) sheds RNNoise until none of its input has been late for SHED_HOLD_MS:
 * one scheduling hiccup (a GC pause, a preemption) is not an overload. Chains are served in a fixed
 * order, so when the thread cannot keep up with all of them, the same ones (the last served) shed
 * while the others keep RNNoise, instead of every call degrading in turn.
 */
const port = parentPort!;
const mods = { speex: await loadResamplerModule(), rnnoise: await loadDenoiserModule() };

/** ms a chain keeps shedding after its input was last late */
const SHED_HOLD_MS = 2000;
/** inputs late in a row that make a chain shed */
const LATE_IN_A_ROW = 3;
/** rounds over the chains per pass before control messages get their turn */
const ROUNDS_PER_PASS = 4;

interface Chain {
  dsp: InboundDsp;
  ring: DspRing;
  /** epoch ms until which this chain sheds */
  shedUntil: number;
  /** its last inputs that waited more than a third of the deadline, in a row */
  late: number;
}

const chains = new Map<number, Chain>();
let signals: WorkerSignals | null = null;
let deadlineMs = DSP_DEADLINE_MS;
const meta = new Float64Array(OUT_META);
let passScheduled = false;

function post(msg: FromWorker): void {
  port.postMessage(msg);
}

/** Serves every chain with input waiting until none has any (or ROUNDS_PER_PASS, then yields). */
function pass(): void {
  passScheduled = false;
  const s = signals;
  if (s === null) return;
  s.awake();
  const t0 = performance.now();
  let rounds = 0;
  for (;;) {
    let work = false;
    for (const c of chains.values()) if (c.ring.pending() > 0) work = serve(c) || work;
    if (!work) {
      // Sleep, then look once more: a push between the last look and the flag would be missed.
      s.sleep();
      if (!anyPending()) break;
      s.awake();
    }
    if (++rounds >= ROUNDS_PER_PASS) {
      passScheduled = true;
      setImmediate(pass);
      break;
    }
  }
  const t1 = performance.now();
  s.addBusy(1000 * (t1 - t0));
}

function anyPending(): boolean {
  for (const c of chains.values()) if (c.ring.pending() > 0) return true;
  return false;
}

/** Processes (or drops, past the deadline) one chain's waiting input. True when it did some. */
function serve(c: Chain): boolean {
  const ring = c.ring;
  let did = false;
  while (ring.pending() > 0) {
    did = true;
    const now = epochMs();
    const waited = ring.inputWaitMs(now);
    if (waited > deadlineMs) {
      ring.release(true);
      // the main thread counts drops when it looks at this worker's frames
      if (signals!.claimNotify()) post({ op: 'frames' });
      continue;
    }
    c.late = waited > deadlineMs / 3 ? c.late + 1 : 0;
    if (c.late >= LATE_IN_A_ROW || waited > deadlineMs / 2 || (now < c.shedUntil && c.late > 0)) c.shedUntil = now + SHED_HOLD_MS;
    c.dsp.push(ring.input(), ring.inputArrivalMs(), now < c.shedUntil);
    ring.release(false);
  }
  return did;
}

function open(msg: Extract<ToWorker, { op: 'open' }>): void {
  const ring = new DspRing(msg.inSlot, msg.outSlot, msg.ring);
  const dsp: InboundDsp = new InboundDsp(mods, msg.opts, (frame, vad, levels, arrivalMs) => {
    meta[FrameMeta.vad0] = vad[0]!;
    meta[FrameMeta.vad1] = vad[1]!;
    meta[FrameMeta.level0] = levels[0]!;
    meta[FrameMeta.level1] = levels[1]!;
    meta[FrameMeta.arrivalMs] = arrivalMs;
    meta[FrameMeta.flags] = dsp.flags;
    meta[FrameMeta.snrDb] = dsp.snrDb;
    if (ring.produce(frame, meta) && signals!.claimNotify()) post({ op: 'frames' });
  });
  chains.set(msg.id, { dsp, ring, shedUntil: 0, late: 0 });
}

port.on('message', (msg: ToWorker) => {
  switch (msg.op) {
    case 'signals':
      signals = new WorkerSignals(msg.sab);
      deadlineMs = msg.deadlineMs;
      signals.sleep();
      return;
    case 'wake':
      if (!passScheduled) pass();
      return;
    case 'open':
      try {
        open(msg);
      } catch (err) {
        post({ op: 'error', id: msg.id, message: String(err) });
      }
      return;
    case 'close':
      chains.get(msg.id)?.dsp.close();
      chains.delete(msg.id);
      post({ op: 'closed', id: msg.id });
      return;
    case 'stats': {
      const h = v8.getHeapStatistics();
      const wasm = [mods.speex, mods.rnnoise].reduce((a, m) => a + (m as unknown as { HEAPU8: Uint8Array }).HEAPU8.byteLength, 0);
      post({ op: 'stats', heapUsed: h.used_heap_size, external: h.external_memory, wasm, chains: chains.size });
      return;
    }
  }
});
post({ op: 'ready' });
