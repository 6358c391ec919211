import { parentPort } from 'node:worker_threads';
import { loadDenoiserModule, loadResamplerModule } from '../../../codecs/src/index.js';
import type { FromWorker, ToWorker } from './dspProtocol.js';
import { InboundDsp } from './InboundDsp.js';

/**
 * A DSP worker thread: runs the inbound chains of the calls assigned to it, each with its own
 * InboundDsp inside this thread's WASM modules, and posts every 20 ms frame back (transferred).
 */
const port = parentPort!;
const mods = { speex: await loadResamplerModule(), rnnoise: await loadDenoiserModule() };
const chains = new Map<number, InboundDsp>();

function post(msg: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
}

port.on('message', (msg: ToWorker) => {
  switch (msg.op) {
    case 'open':
      try {
        const id = msg.id;
        chains.set(
          id,
          new InboundDsp(mods, msg.opts, (frame, vad, arrivalMs) => {
            const copy = frame.slice(); // the chain reuses its frame buffer
            post({ op: 'frame', id, frame: copy, vad0: vad[0]!, vad1: vad[1]!, arrivalMs }, [copy.buffer as ArrayBuffer]);
          }),
        );
      } catch (err) {
        post({ op: 'error', id: msg.id, message: String(err) });
      }
      return;
    case 'push':
      chains.get(msg.id)?.push(msg.pcm, msg.arrivalMs);
      return;
    case 'close':
      chains.get(msg.id)?.close();
      chains.delete(msg.id);
      return;
  }
});
post({ op: 'ready' });
