import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../gateway/src/Gateway.js';
import { RtpCaller, sleep } from '../../testkit/RtpCaller.js';
import { TestAgent } from '../../testkit/TestAgent.js';
import { fixture } from '../helpers/audio.js';
import { startGateway } from '../helpers/gateway.js';

/**
 * The live call page in a real browser: Debian's Chromium driven by playwright-core (never a
 * downloaded browser). A call talks both ways; the page, opened with the API's token, must list
 * it and move both meters as the audio comes and goes, draw its timeline and show its quality.
 * UI_SCREENSHOT=<path> saves what the page looked like (docs/live-page.png was made so).
 */
const CHROMIUM = '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_CHROMIUM) console.warn(`SKIPPING the live page test: ${CHROMIUM} is missing (apt-get install -y chromium)`);

const SECRET = 'ui-test-secret-0123456789abcdef';
const caller8k = fixture('caller-en-us-8k.wav').samples;
const reply24k = fixture('agent-reply-24k.wav').samples;

describe.skipIf(!HAVE_CHROMIUM)('the live call page (/ui) in Chromium', () => {
  let gw: Gateway;
  let url: string;
  let agent: TestAgent;
  let profile: string;
  let browser: BrowserContext;
  let token: string;

  beforeAll(async () => {
    ({ gw, url } = await startGateway({ authSecret: SECRET, dspWorkers: 1 }));
    agent = await TestAgent.listen();
    token = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('10m').sign(new TextEncoder().encode(SECRET));
    profile = await mkdtemp(join(tmpdir(), 'vg-chromium-'));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1100, height: 640 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await browser.close();
    await rm(profile, { recursive: true, force: true });
    await gw.close();
    await agent.close();
  });

  it('is refused without the token, and with it shows a live call whose meters move with the audio both ways', async () => {
    const denied = await browser.newPage();
    await denied.goto(`${url}/ui`);
    // (Browser-side code is given as strings: the project's types are Node's, not the DOM's.)
    await denied.waitForFunction("document.getElementById('status').textContent.startsWith('refused')", undefined, { timeout: 10_000 });
    await denied.close();

    const caller = await RtpCaller.place({
      gateway: url,
      transport: 'ws',
      edgeUrl: `${url.replace(/^http/, 'ws')}/v1/edge?token=${token}`,
      from: '+14155550123',
      to: '+14155550100',
      route: { agent: { url: agent.url }, bargeIn: { enabled: false } },
    });
    const s = await agent.session(caller.callId);
    const page = await browser.newPage();
    await page.goto(`${url}/ui?token=${encodeURIComponent(token)}`);
    await page.waitForSelector(`section.call[data-call-id="${caller.callId}"]`, { timeout: 10_000 }); // the call's card
    expect(await page.textContent('#status')).toBe('live');

    // Turns: the caller talks for 3 s, the agent answers for 3 s from 2 s on (with a mark); the caller presses 5.
    const card = `section.call[data-call-id="${caller.callId}"]`;
    const meter = async (side: string) => Number(await page.locator(`${card} [data-testid="meter-${side}"]`).getAttribute('data-db'));
    const readMeters = async () => ({ caller: await meter('caller'), agent: await meter('agent') });
    const samples: { caller: number; agent: number }[] = [];
    const sampling = (async () => {
      for (let i = 0; i < 16; i++) {
        await sleep(500);
        samples.push(await readMeters());
      }
    })();
    const shot = process.env['UI_SCREENSHOT'];
    await Promise.all([
      caller.stream(caller8k.subarray(0, 8000 * 3)),
      (async () => {
        // The agent starts answering a second before the caller is done (barge-in is off here).
        await sleep(2000);
        s.sendAudio(reply24k.subarray(0, 24000 * 3));
        s.send({ type: 'mark', name: 'answer-end' });
        await sleep(1000);
        if (shot !== undefined && shot !== '') await page.screenshot({ path: shot });
      })(),
    ]);
    await caller.sendDtmf('5');
    await sleep(2200);
    await sampling;
    console.log(`meters over 8 s (dBFS, caller/agent): ${samples.map((m) => `${m.caller}/${m.agent}`).join(' ')}`);

    // Both meters moved: several distinct readings each, loud at some point, silent at another.
    const callerDb = samples.map((m) => m.caller);
    const agentDb = samples.map((m) => m.agent);
    expect(new Set(callerDb).size).toBeGreaterThanOrEqual(3);
    expect(new Set(agentDb).size).toBeGreaterThanOrEqual(3);
    expect(Math.max(...callerDb)).toBeGreaterThan(-40);
    expect(Math.max(...agentDb)).toBeGreaterThan(-40);
    expect(Math.min(...agentDb)).toBeLessThan(-90); // the agent was silent while the caller talked
    expect(await page.locator(`${card} [data-testid="meter-agent"]`).getAttribute('style')).toMatch(/width: [\d.]+%/);

    // The quality figures and the number and the timeline are there.
    const text = await page.textContent(card);
    expect(text).toContain('+14155550123 → +14155550100');
    expect(text).toContain('caller → agent');
    expect(text).toMatch(/rtpengine \d\.\d\d/);
    const painted = await page.evaluate<number>(
      `(() => { const c = document.querySelector('${card} canvas'); const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < px.length; i += 4) if (px[i] > 0) n++; return n; })()`,
    );
    expect(painted).toBeGreaterThan(500); // speech segments, the mark and the digit drawn

    // The call ends: the page drops it within the next update.
    await caller.hangup();
    await page.waitForSelector(card, { state: 'detached', timeout: 5000 });
    await page.close();
  }, 60_000);
});
