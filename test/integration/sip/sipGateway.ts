import { parseTrunks } from '../../../gateway/src/edge/sip/trunks.js';
import type { Gateway } from '../../../gateway/src/Gateway.js';
import { RoutingTable } from '../../../gateway/src/routing.js';
import type { Settings } from '../../../gateway/src/settings.js';
import { xcorrPeak } from '../../helpers/audio.js';
import { counter, drops, startGateway } from '../../helpers/gateway.js';

/** The number every test calls. */
export const NUMBER = '+14155550100';

/**
 * A gateway with SIP on an ephemeral loopback port, `routes` as its routing config (`numbers`
 * keyed by E.164) and `trunks` as the config's `sip` section (default: loopback only).
 */
export async function startSipGateway(
  routing: Record<string, unknown>,
  trunks?: unknown,
  overrides: Partial<Settings> = {},
): Promise<{ gw: Gateway; url: string; sipPort: number; target: string }> {
  const { gw, url } = await startGateway({
    routing: new RoutingTable(routing),
    sip: {
      host: '127.0.0.1',
      port: 0,
      tlsPort: null,
      publicHost: '127.0.0.1',
      trunks: parseTrunks(trunks),
      digestSecret: null,
      digestAlgorithms: ['SHA-256', 'MD5'],
    },
    ...overrides,
  });
  const sipPort = gw.sip!.addresses.find((a) => a.protocol === 'udp')!.port;
  return { gw, url, sipPort, target: `127.0.0.1:${sipPort}` };
}

/** A route to the test agent: 8 kHz PCM, no denoise (the audio checks compare samples), no barge-in. */
export function agentRoute(url: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { agent: { url }, sampleRate: 8000, denoise: false, bargeIn: { enabled: false }, ...extra };
}

export { counter, drops };

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `pred` every 20 ms until it holds; throws naming `what` after `ms`. */
export async function waitFor(pred: () => boolean, ms: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

/**
 * How well `rec` (a recording) carries `ref` (what was sent), robust to a timing gap in between:
 * `ref` is cut in `segLen`-sample segments; the first is searched for over the whole recording,
 * each next one ±`slack` samples around where it should follow. Returns every segment's
 * normalised cross-correlation peak and their median.
 */
export function segmentXcorr(
  ref: Int16Array,
  rec: Int16Array,
  segLen = 4000,
  slack = 1600,
): { peaks: number[]; median: number; min: number } {
  const first = xcorrPeak(ref.subarray(0, segLen), rec, Math.max(0, rec.length - segLen));
  const peaks = [first.peak];
  let expected = first.lag + segLen;
  for (let off = segLen; off + segLen <= ref.length; off += segLen) {
    const from = Math.max(0, expected - slack);
    const r = xcorrPeak(ref.subarray(off, off + segLen), rec.subarray(from), 2 * slack);
    peaks.push(r.peak);
    expected = from + r.lag + segLen;
  }
  const sorted = [...peaks].sort((a, b) => a - b);
  return { peaks, median: sorted[Math.floor(sorted.length / 2)]!, min: sorted[0]! };
}
