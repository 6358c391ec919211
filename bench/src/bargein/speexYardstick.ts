import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EchoCanceller, readWav } from '../../../codecs/src/index.js';
import { G168_MODELS, g168Path, scaledResponse } from './echoPaths.js';

/**
 * Our echo canceller beside SpeexDSP's MDF (Debian libspeexdsp1; a yardstick only, not shipped),
 * on every G.168 Annex D hybrid at 10 dB ERL and 100 ms bulk delay, the agent's speech as the far
 * end and a −70 dBFS floor. MDF has no bulk-delay search, so its tail covers delay + dispersion
 * (256 ms). Needs gcc and libspeexdsp-dev: `node --import tsx bench/src/bargein/speexYardstick.ts`
 */
const dir = mkdtempSync(join(tmpdir(), 'mdf-'));
const bin = join(dir, 'mdf');
try {
  execFileSync('gcc', ['-O2', '-o', bin, new URL('speexMdf.c', import.meta.url).pathname, '-lspeexdsp']);
} catch (err) {
  console.error(`cannot build the SpeexDSP yardstick (apt-get install gcc libspeexdsp-dev): ${String(err)}`);
  process.exit(1);
}
const far = Float32Array.from(readWav(new URL('../../../test/fixtures/audio/bargein/agent-1.wav', import.meta.url).pathname).samples);
const i16 = (x: Float32Array) => Int16Array.from(x, (v) => Math.max(-32768, Math.min(32767, Math.round(v))));
const rows: string[] = [];
for (const model of Object.keys(G168_MODELS)) {
  const delay = 800;
  const h = scaledResponse(far, { kind: 'g168', name: model, h: g168Path(model), delayMs: 100, erlDb: 10 });
  const mic = new Float32Array(far.length);
  let seed = 5;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  for (let n = 0; n < far.length; n++) {
    let a = 10 * rnd();
    for (let k = 0; k < h.length && k <= n - delay; k++) a += h[k]! * far[n - delay - k]!;
    mic[n] = a;
  }
  const ref = i16(far);
  const near = i16(mic);
  writeFileSync(join(dir, 'ref.raw'), ref);
  writeFileSync(join(dir, 'mic.raw'), near);
  execFileSync(bin, [join(dir, 'ref.raw'), join(dir, 'mic.raw'), join(dir, 'out.raw'), '2048']);
  const b = readFileSync(join(dir, 'out.raw'));
  const speex = new Int16Array(b.buffer, b.byteOffset, b.length / 2);
  const aec = new EchoCanceller({ rate: 8000 });
  const ours = new Int16Array(near.length);
  for (let k = 0; k + 160 <= near.length; k += 160) {
    aec.playRef(ref.subarray(k, k + 160), k);
    aec.process(near.subarray(k, k + 160), k, ours.subarray(k, k + 160));
  }
  const erle = (res: Int16Array, from: number, to: number) => {
    let e = 0;
    let r = 0;
    for (let i = from; i < Math.min(to, res.length); i++) {
      e += mic[i]! ** 2;
      r += res[i]! ** 2;
    }
    return (10 * Math.log10(e / r)).toFixed(1);
  };
  rows.push(
    `| ${model} | ${erle(ours, 4000, 12000)} / ${erle(ours, 16000, near.length)} | ${erle(speex, 4000, 12000)} / ${erle(speex, 16000, speex.length)} |`,
  );
}
console.log('| G.168 model | ours: ERLE 0.5–1.5 s / 2 s–end, dB | SpeexDSP MDF (256 ms tail) |\n|---|---|---|');
console.log(rows.join('\n'));
