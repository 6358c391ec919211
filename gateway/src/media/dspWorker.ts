import v8 from 'node:v8';
import { parentPort } from 'node:worker_threads';
import { loadDenoiserModule, loadResamplerModule } from '../../../codecs/src/index.js';
import { DspRing, type FromWorker, type ToWorker } from './dspProtocol.js';
import { InboundDsp } from './InboundDsp.js';

/**
 * A DSP worker thread: runs the inbound chains of the calls assigned to it, each with its own
 * InboundDsp inside this thread's WASM modules. Audio comes and goes through each call's shared
 * DspRing; messages only announce slots, so nothing is allocated per packet.
 */
const port = parentPort!;
const mods = { speex: await loadResamplerModule(), rnnoise: await loadDenoiserModule() };
const chains = new Map<number, { dsp: InboundDsp; ring: DspRing }>();

function post(msg: FromWorker): void {
  port.postMessage(msg);
}

port.on('message', (msg: ToWorker) => {
  switch (msg.op) {
    case 'open':
      try {
        const id = msg.id;
        const ring = new DspRing(msg.inSlot, msg.outSlot, msg.ring);
        const dsp = new InboundDsp(mods, msg.opts, (frame, vad, levels, arrivalMs) => {
          if (ring.produce(frame))
            post({ op: 'frame', id, vad0: vad[0]!, vad1: vad[1]!, level0: levels[0]!, level1: levels[1]!, arrivalMs });
          else post({ op: 'overrun', id });
        });
        chains.set(id, { dsp, ring });
      } catch (err) {
        post({ op: 'error', id: msg.id, message: String(err) });
      }
      return;
    case 'push': {
      const c = chains.get(msg.id);
      if (c === undefined) return;
      c.dsp.push(c.ring.takeInput(msg.n), msg.arrivalMs);
      c.ring.releaseInput();
      return;
    }
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
