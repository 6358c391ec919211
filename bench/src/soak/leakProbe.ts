import { Denoiser, loadDenoiserModule, loadResamplerModule, Resampler } from '../../../codecs/src/index.js';

/**
 * Creates and frees the per-call WASM objects (RNNoise + 3 resamplers) many times and prints the
 * WASM linear memory and process RSS: a leak or allocator fragmentation shows as growth.
 * `node --import tsx bench/src/soak/leakProbe.ts [rounds]`.
 */
const rounds = Number(process.argv[2] ?? 3000);
const speex = await loadResamplerModule();
const rnnoise = await loadDenoiserModule();
const buf = (m: unknown) => (m as { HEAPU8: Uint8Array }).HEAPU8.byteLength / 1048576;
const x = new Float32Array(960).map((_, i) => Math.sin(i / 5) * 3000);
const out48 = new Float32Array(2000);
for (let r = 0; r <= rounds; r++) {
  const d = new Denoiser(rnnoise);
  const up = new Resampler(speex, { inRate: 8000, outRate: 48000, quality: 3 });
  const down = new Resampler(speex, { inRate: 48000, outRate: 24000, quality: 3 });
  const play = new Resampler(speex, { inRate: 24000, outRate: 8000, quality: 3 });
  up.process(x.subarray(0, 160), out48);
  d.process(out48.subarray(0, 960), out48.subarray(0, 960));
  down.process(out48.subarray(0, 960), out48);
  play.process(x.subarray(0, 480), out48);
  d.close();
  up.close();
  down.close();
  play.close();
  if (r % 500 === 0)
    console.log(
      `round ${r}: speex WASM ${buf(speex).toFixed(1)} MiB, rnnoise WASM ${buf(rnnoise).toFixed(1)} MiB, RSS ${(process.memoryUsage().rss / 1048576).toFixed(1)} MiB, heap ${(process.memoryUsage().heapUsed / 1048576).toFixed(1)} MiB`,
    );
}
