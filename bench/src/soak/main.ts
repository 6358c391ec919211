import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { readWav } from '../../../codecs/src/index.js';
import { GatewayProcess, scrape } from '../../../testkit/GatewayProcess.js';
import { RtpCaller, sleep } from '../../../testkit/RtpCaller.js';
import { TestAgent } from '../../../testkit/TestAgent.js';

/**
 * The soak: N concurrent real-time calls for M minutes with churn (each call lives 20–60 s and
 * is replaced when it ends), against a gateway process on loopback. The agent answers each call
 * with a few seconds of speech every 10 s, so playout, marks and clear run too. Reports the
 * gateway's RSS and V8 heap after warm-up and at the end, memory per call, and fails (exit 1)
 * when growth exceeds the stated bound. Stops by itself.
 */
const HELP = `usage: npm run bench:soak -- [options]
  --calls 50        concurrent calls
  --minutes 10      duration
  --bound-mib 32    allowed RSS growth from warm-up to the end, MiB
  --life 20-60      each call's lifetime, seconds (min-max)
  --workers N       DSP_WORKERS of the gateway (default: one per core)
  --denoise MODE    the calls' route denoise: on, off or auto (default: the gateway's default, auto)
  --out DIR         where soak.json goes (default bench/results)`;

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      calls: { type: 'string', default: '50' },
      minutes: { type: 'string', default: '10' },
      'bound-mib': { type: 'string', default: '32' },
      life: { type: 'string', default: '20-60' },
      workers: { type: 'string' },
      denoise: { type: 'string' },
      out: { type: 'string', default: 'bench/results' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }
  const n = Number(values.calls);
  const durationMs = Number(values.minutes) * 60_000;
  const bound = Number(values['bound-mib']);
  const speech = readWav(new URL('../../../test/fixtures/audio/caller-en-us-8k.wav', import.meta.url).pathname).samples;
  const reply = readWav(new URL('../../../test/fixtures/audio/agent-reply-24k.wav', import.meta.url).pathname).samples;

  const denoise = values.denoise === undefined ? {} : { denoise: values.denoise === 'auto' ? 'auto' : values.denoise === 'on' };
  const [lifeMin, lifeMax] = values.life.split('-').map((x) => Number(x) * 1000) as [number, number];
  const gw = await GatewayProcess.start(values.workers !== undefined ? { DSP_WORKERS: values.workers } : {}, { built: true });
  const agent = await TestAgent.listen();
  agent.onSession = (s) => {
    // the agent talks every 10 s, marks its reply, and now and then clears it midway
    let k = 0;
    const timer = setInterval(() => {
      if (s.closed) return clearInterval(timer);
      s.sendAudio(reply);
      s.send({ type: 'mark', name: `r${k}` });
      if (k++ % 3 === 2) setTimeout(() => !s.closed && s.send({ type: 'clear' }), 1000);
    }, 10_000);
  };
  const idleRss = rssMiB(gw.pid);
  const t0 = performance.now();
  let placed = 0;
  let failed = 0;
  let ended = 0;

  /** One call slot: place, stream for 20–60 s, end; repeat until the soak ends. */
  const slot = async (i: number): Promise<void> => {
    await sleep((i * 1000) / n); // stagger the first calls over a second
    while (performance.now() - t0 < durationMs) {
      const life = Math.min(lifeMin + Math.random() * (lifeMax - lifeMin), durationMs - (performance.now() - t0));
      if (life < 1000) break;
      let c: RtpCaller;
      try {
        c = await RtpCaller.place({ gateway: gw.url, transport: i % 2 ? 'ws' : 'udp', route: { agent: { url: agent.url }, ...denoise } });
        placed++;
      } catch {
        failed++;
        await sleep(1000);
        continue;
      }
      const frames = Math.floor(life / 20);
      const pcm = new Int16Array(frames * 160).map((_, j) => speech[j % speech.length]!);
      await c.stream(pcm, { phaseMs: Math.random() * 20 });
      await c.end();
      ended++;
    }
  };

  const samples: {
    atS: number;
    rssMiB: number;
    heapMiB: number;
    workerHeapMiB: number;
    workerExternalMiB: number;
    workerWasmMiB: number;
    calls: number;
  }[] = [];
  const sample = async () => {
    samples.push({
      atS: Math.round((performance.now() - t0) / 1000),
      rssMiB: rssMiB(gw.pid),
      heapMiB: (await scrape(gw.url, 'nodejs_heap_size_used_bytes')) / 1048576,
      workerHeapMiB: (await scrape(gw.url, 'gateway_dsp_worker_memory_bytes', (l) => l.includes('heapUsed'))) / 1048576,
      workerExternalMiB: (await scrape(gw.url, 'gateway_dsp_worker_memory_bytes', (l) => l.includes('external'))) / 1048576,
      workerWasmMiB: (await scrape(gw.url, 'gateway_dsp_worker_memory_bytes', (l) => l.includes('wasm'))) / 1048576,
      calls: await scrape(gw.url, 'gateway_calls_active'),
    });
    const s = samples[samples.length - 1]!;
    console.log(
      `t=${s.atS}s calls=${s.calls} rss=${s.rssMiB.toFixed(1)} MiB heap=${s.heapMiB.toFixed(1)} MiB workers: heap ${s.workerHeapMiB.toFixed(1)} ext ${s.workerExternalMiB.toFixed(1)} wasm ${s.workerWasmMiB.toFixed(1)} MiB placed=${placed} ended=${ended} failed=${failed}`,
    );
  };
  const sampler = setInterval(() => void sample(), 30_000);
  const slots = Array.from({ length: n }, (_, i) => slot(i));
  await sleep(Math.min(60_000, durationMs / 4)); // warm-up: all calls up, JIT and pools settled
  await sample();
  const warm = samples[samples.length - 1]!;
  await Promise.all(slots);
  clearInterval(sampler);
  // the last calls are ending: measure with the same load as at warm-up is no longer possible,
  // so compare the last sample taken under full load with the warm-up one.
  const full = samples.filter((s) => s.calls >= n * 0.9);
  const last = full[full.length - 1] ?? samples[samples.length - 1]!;
  const drops = await scrape(gw.url, 'gateway_drops_total');
  const dropLines = (await (await fetch(`${gw.url}/metrics`)).text()).split('\n').filter((l) => l.startsWith('gateway_drops_total{'));
  const underruns = await scrape(gw.url, 'gateway_playout_underruns_total');
  const shedFrames = await scrape(gw.url, 'gateway_dsp_shed_frames_total');
  const packetsIn = await scrape(gw.url, 'gateway_rtp_packets_total', (l) => l.includes('"in"'));
  await sleep(2000);
  await sample();
  const after = samples[samples.length - 1]!;
  await gw.stop();
  await agent.close();

  const growth = last.rssMiB - warm.rssMiB;
  const result = {
    machine: `${os.cpus()[0]?.model ?? 'unknown'} × ${os.availableParallelism()}, Node ${process.version}`,
    calls: n,
    minutes: Number(values.minutes),
    placed,
    failed,
    idleRssMiB: idleRss,
    warmUp: warm,
    lastUnderFullLoad: last,
    afterAllEnded: after,
    rssGrowthMiB: growth,
    heapGrowthMiB: last.heapMiB - warm.heapMiB,
    rssPerCallMiB: (warm.rssMiB - idleRss) / Math.max(1, warm.calls),
    boundMiB: bound,
    drops,
    dropsByReason: dropLines,
    underruns,
    shedFrames,
    packetsIn,
    samples,
  };
  mkdirSync(values.out, { recursive: true });
  writeFileSync(`${values.out}/soak.json`, JSON.stringify(result, null, 2));
  console.log(
    [
      '',
      `| soak: ${n} calls, ${values.minutes} min, ${placed} calls placed (${failed} refused) | MiB |`,
      '|---|---|',
      `| RSS idle | ${idleRss.toFixed(1)} |`,
      `| RSS after warm-up (${warm.calls} calls) | ${warm.rssMiB.toFixed(1)} |`,
      `| RSS at the end under full load (${last.calls} calls, t=${last.atS}s) | ${last.rssMiB.toFixed(1)} |`,
      `| RSS after all calls ended | ${after.rssMiB.toFixed(1)} |`,
      `| V8 heap used: warm-up → end | ${warm.heapMiB.toFixed(1)} → ${last.heapMiB.toFixed(1)} |`,
      `| memory per call (RSS above idle / calls) | ${result.rssPerCallMiB.toFixed(2)} |`,
      `| RSS growth warm-up → end (bound ${bound}) | ${growth.toFixed(1)} |`,
      '',
      `packets in ${packetsIn}, RNNoise shed frames ${shedFrames}, drops ${drops} (${dropLines.map((l) => l.replace(/^gateway_drops_total\{reason="([^"]+)"\} /, '$1 ')).join(', ')}), underruns ${underruns}`,
    ].join('\n'),
  );
  if (growth > bound) {
    console.error(`RSS grew ${growth.toFixed(1)} MiB, more than the ${bound} MiB bound`);
    process.exitCode = 1;
  }
}

void main();
