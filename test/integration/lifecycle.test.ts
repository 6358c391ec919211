import { describe, expect, it } from 'vitest';
import { GatewayProcess } from '../../testkit/GatewayProcess.js';
import { RtpCaller, sleep } from '../../testkit/RtpCaller.js';
import { fixture } from '../helpers/audio.js';

/** The real process (dist/gateway/src/main.js, as `make run` starts it) under SIGTERM. */
describe('SIGTERM on the gateway process', () => {
  it('drains: readyz 503 and new calls refused at once, the live call keeps its audio until the deadline, then exit 0', async () => {
    const gw = await GatewayProcess.start({ DRAIN_TIMEOUT_MS: '2500', DSP_WORKERS: '1', ADMIT_MAX_LOAD: '1' });
    const c = await RtpCaller.place({ gateway: gw.url, transport: 'ws', route: { agent: { url: 'builtin:echo' } } });
    const speech = fixture('caller-en-us-8k.wav').samples;
    const streaming = c.stream(speech.subarray(0, 8000 * 4));
    await sleep(500);
    const t0 = performance.now();
    const exit = gw.stop();
    await sleep(200);
    expect((await fetch(`${gw.url}/readyz`)).status).toBe(503);
    const refused = await fetch(`${gw.url}/v1/calls`, { method: 'POST', body: JSON.stringify({ codec: 'PCMU' }) });
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('DRAINING');
    const code = await exit;
    await streaming;
    expect(code).toBe(0);
    expect(c.stopReason).toBe('shutdown');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(2400);
    // the echo agent kept playing to the draining call: it was never cut short before the deadline
    expect(c.received.length).toBeGreaterThan(100);
  }, 20_000);
});
