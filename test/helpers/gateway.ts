import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RoutingTable } from '../../gateway/src/routing.js';
import { DEFAULT_LIMITS, type Settings } from '../../gateway/src/settings.js';
import { Gateway } from '../../gateway/src/Gateway.js';
import { setLogLevel } from '../../gateway/src/log.js';
import { Resampler, g711DecodeInto, g711EncodeInto } from '../../codecs/src/index.js';

setLogLevel((process.env['TEST_LOG_LEVEL'] as 'debug' | 'info' | 'warn' | 'error' | 'silent' | undefined) ?? 'silent');

/** A gateway on an ephemeral loopback port with test-friendly settings. */
export async function startGateway(overrides: Partial<Settings> = {}): Promise<{ gw: Gateway; url: string }> {
  const gw = new Gateway({
    port: 0,
    host: '127.0.0.1',
    rtpBindHost: '127.0.0.1',
    rtpPublicHost: '127.0.0.1',
    resampleQuality: 3,
    agentAttachTimeoutMs: 3000,
    drainTimeoutMs: 2000,
    playoutMaxSeconds: 60,
    dspWorkers: 0,
    routing: new RoutingTable({}),
    ...DEFAULT_LIMITS,
    // The tests share the gateway's event loop and a machine running other suites: admission by
    // headroom is off, and audio may wait up to 1 s for the DSP, unless a test sets them.
    admitMaxLoad: 1,
    dspDeadlineMs: 1000,
    // Test agents and peers listen on loopback, which dial-outs may not reach unless allowed.
    dialAllow: ['127.0.0.0/8', '::1'],
    // Each gateway its own recordings directory (created only if a call is recorded).
    recordings: {
      ...DEFAULT_LIMITS.recordings,
      dir: join(tmpdir(), `vg-recordings-${process.pid}-${Math.random().toString(36).slice(2)}`),
    },
    ...overrides,
  });
  const port = await gw.start();
  return { gw, url: `http://127.0.0.1:${port}` };
}

/** What the gateway hears from a G.711 caller: the input after a µ-law round trip. */
export function ulawRoundTrip(pcm: Int16Array): Int16Array {
  const codes = new Uint8Array(pcm.length);
  g711EncodeInto('ulaw', pcm, codes);
  const out = new Int16Array(pcm.length);
  g711DecodeInto('ulaw', codes, out);
  return out;
}

/** Resamples whole signals for reference comparisons; returns the output and the resampler delay in output samples. */
export async function resampleAll(pcm: Int16Array, inRate: number, outRate: number): Promise<{ pcm: Float32Array; delay: number }> {
  const r = await Resampler.create({ inRate, outRate, quality: 3 });
  const out = new Float32Array(r.maxOutput(pcm.length));
  const n = r.process(Float32Array.from(pcm), out);
  const delay = r.delaySamples;
  r.close();
  return { pcm: out.subarray(0, n), delay };
}

/** Sum of a prom-client counter's values in the gateway's registry, optionally filtered by label. */
export async function counter(gw: Gateway, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = await gw.metrics.registry.getSingleMetric(name)?.get();
  if (!m) return 0;
  return m.values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((a, v) => a + v.value, 0);
}

/**
 * When packet `index` left the gateway, on its 20 ms grid: the least-delayed packet of the stream
 * anchors the grid, so the receive-side scheduling delay of one packet under load does not skew
 * timing checks (packets are sent every 20 ms, in sequence order).
 */
export function gridTime(rx: readonly { arrivalMs: number }[], index: number): number {
  let t = Infinity;
  for (let j = 0; j < rx.length; j++) t = Math.min(t, rx[j]!.arrivalMs - 20 * (j - index));
  return t;
}

/** Polls `pred` every 10 ms until it holds; throws naming `what` after `ms`. */
export async function until(pred: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const t0 = performance.now();
  while (!pred()) {
    if (performance.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
