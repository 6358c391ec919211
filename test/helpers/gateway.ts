import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll } from 'vitest';
import { join } from 'node:path';
import { RoutingTable } from '../../gateway/src/routing.js';
import { DEFAULT_LIMITS, type Settings } from '../../gateway/src/settings.js';
import { Gateway } from '../../gateway/src/Gateway.js';
import { setLogLevel } from '../../gateway/src/log.js';
import { TestAgent } from '../../testkit/TestAgent.js';
import { Resampler, g711DecodeInto, g711EncodeInto, tsDiff } from '../../codecs/src/index.js';

setLogLevel((process.env['TEST_LOG_LEVEL'] as 'debug' | 'info' | 'warn' | 'error' | 'silent' | undefined) ?? 'silent');

/** The recordings directories of this test file's gateways, removed once its tests are done. */
const recordingDirs: string[] = [];
// Imported by a test file as it is collected, so this is that file's own afterAll (vitest runs
// each file in a fresh module graph), after the file's own hooks have closed its gateways.
afterAll(async () => {
  await Promise.all(recordingDirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** A gateway on an ephemeral loopback port with test-friendly settings. */
export async function startGateway(overrides: Partial<Settings> = {}): Promise<{ gw: Gateway; url: string }> {
  const recordingDir = join(tmpdir(), `vg-recordings-${process.pid}-${Math.random().toString(36).slice(2)}`);
  recordingDirs.push(recordingDir);
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
      dir: recordingDir,
    },
    ...overrides,
  });
  const port = await gw.start();
  return { gw, url: `http://127.0.0.1:${port}` };
}

/**
 * For one describe block: a gateway (`overrides` on the test defaults) and a test agent, started
 * before its tests and closed after them; `use` receives them once they run.
 */
export function withGatewayAndAgent(
  overrides: Partial<Settings>,
  use: (started: { gw: Gateway; url: string; agent: TestAgent }) => void,
): void {
  let started: { gw: Gateway; url: string; agent: TestAgent } | null = null;
  beforeAll(async () => {
    const { gw, url } = await startGateway(overrides);
    started = { gw, url, agent: await TestAgent.listen() };
    use(started);
  });
  afterAll(async () => {
    await started?.agent.close();
    await started?.gw.close();
  });
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
export async function counter(gw: Pick<Gateway, 'metrics'>, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = await gw.metrics.registry.getSingleMetric(name)?.get();
  if (!m) return 0;
  return m.values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((a, v) => a + v.value, 0);
}

/** gateway_drops_total by reason, as a plain object (only the reasons with a count). */
export async function drops(gw: Pick<Gateway, 'metrics'>): Promise<Record<string, number>> {
  const m = await gw.metrics.registry.getSingleMetric('gateway_drops_total')?.get();
  const out: Record<string, number> = {};
  for (const v of m?.values ?? []) if (v.value > 0) out[String(v.labels['reason'])] = v.value;
  return out;
}

/** The drops counted since `before` (a `drops` snapshot), by reason: only the reasons that grew. */
export async function dropsSince(gw: Pick<Gateway, 'metrics'>, before: Record<string, number>): Promise<Record<string, number>> {
  const now = await drops(gw);
  return Object.fromEntries(Object.entries(now).flatMap(([r, n]) => (n > (before[r] ?? 0) ? [[r, n - (before[r] ?? 0)]] : [])));
}

/**
 * The phone's received packets on the gateway's 20 ms send grid, in media time: packet `i` belongs
 * to slot `tsDiff(ts0, ts_i) / samplesPerPacket` (RTP timestamps, so skipped slots keep their
 * place), and the least-delayed packet anchors the grid. A stalled event loop (a loaded CI
 * machine; the gateway runs in the test's process) can only make packets late, never early: so
 * bounds are stated as "by this slot's time" plus the stall measured on the same packets, which
 * stay one tick tight on a quiet machine and hold on a busy one.
 */
export class PacketGrid {
  readonly #rx: readonly { ts: number; arrivalMs: number }[];
  readonly #spp: number;
  readonly #t0: number;

  constructor(rx: readonly { ts: number; arrivalMs: number }[], samplesPerPacket = 160) {
    if (rx.length === 0) throw new Error('PacketGrid: no packets');
    this.#rx = rx;
    this.#spp = samplesPerPacket;
    let t0 = Infinity;
    for (let i = 0; i < rx.length; i++) t0 = Math.min(t0, rx[i]!.arrivalMs - 20 * this.slot(i));
    this.#t0 = t0;
  }

  /** Packet `i`'s slot (20 ms units after the first packet's). */
  slot(i: number): number {
    return tsDiff(this.#rx[0]!.ts, this.#rx[i]!.ts) / this.#spp;
  }

  /** When packet `i` was due on the grid (performance.now ms). */
  at(i: number): number {
    return this.#t0 + 20 * this.slot(i);
  }

  /** How late packet `i` arrived against its slot, ms. */
  lateness(i: number): number {
    return this.#rx[i]!.arrivalMs - this.at(i);
  }

  /** The worst lateness among packets due in [fromMs, toMs]: how long the loop stalled then. */
  stallMs(fromMs: number, toMs: number): number {
    let worst = 0;
    for (let i = 0; i < this.#rx.length; i++) {
      const due = this.at(i);
      if (due >= fromMs && due <= toMs) worst = Math.max(worst, this.lateness(i));
    }
    return worst;
  }
}

/**
 * How long the loop stalled in [fromMs, toMs]: the worse of the lateness of `grid`'s packets due then
 * and the gaps (less 20 ms) between `arrivals` then, a stream that arrives 50 a second on another
 * socket (the agent's, which marks and clears travel on).
 */
export function loopStallMs(grid: PacketGrid, arrivals: readonly number[], fromMs: number, toMs: number): number {
  const t = arrivals.filter((at) => at >= fromMs && at <= toMs);
  return Math.max(grid.stallMs(fromMs, toMs), ...t.slice(1).map((at, i) => at - t[i]! - 20));
}

/** Polls `pred` every 10 ms until it holds; throws naming `what` after `ms`. */
export async function until(pred: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const t0 = performance.now();
  while (!pred()) {
    if (performance.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
