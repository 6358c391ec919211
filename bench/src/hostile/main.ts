import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { basename, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { authProbes } from './auth.js';
import { dialProbes } from './dialOut.js';
import { floodProbes } from './floods.js';
import { markdown, type ProbeResult, type RunResult } from './report.js';
import { rtcpProbe } from './rtcp.js';
import { sourceProbe } from './source.js';
import { Checkout } from './target.js';

/**
 * `npm run bench:hostile -- --gateway-dir before=/path/a --gateway-dir after=. --runs 3`
 *
 * Black-box probes of issue 15's findings against real gateway processes, each started from a
 * checkout's build (`DIR/dist/gateway/src/main.js`) on loopback with ephemeral ports and auth on,
 * and attacked only through its public interfaces. Sides run interleaved (a, b, a, b, …) so slow
 * drift of the machine hits both alike. Prints a Markdown table per finding (one column per side,
 * numbers as median (min–max) over the runs) and writes the raw results as JSON.
 */
const PROBES: Record<string, { about: string; run: (co: Checkout, o: { count: number }) => Promise<ProbeResult[]> }> = {
  flood: { about: 'finding 1 (agent mark flood) and the per-edge control budgets', run: (co, o) => floodProbes(co, o.count) },
  source: { about: 'finding 2 (strict RTP source with remote set)', run: async (co) => [await sourceProbe(co)] },
  dial: { about: 'finding 3 (where dial-outs may go)', run: (co) => dialProbes(co) },
  rtcp: { about: 'finding 6 (RTCP on the RTP port)', run: async (co) => [await rtcpProbe(co)] },
  auth: { about: 'finding 7 (token lifetime, Basic password)', run: (co) => authProbes(co) },
};

const { values } = parseArgs({
  options: {
    'gateway-dir': { type: 'string', multiple: true },
    runs: { type: 'string', default: '1' },
    probes: { type: 'string', default: Object.keys(PROBES).join(',') },
    count: { type: 'string', default: '10000' },
    out: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help || values['gateway-dir'] === undefined) {
  process.stdout.write(
    [
      'usage: npm run bench:hostile -- --gateway-dir [LABEL=]DIR [--gateway-dir [LABEL=]DIR …] [--runs N] [--probes LIST] [--count N] [--out FILE]',
      '  DIR: a checkout with a build (npm run build); LABEL defaults to the directory name',
      `  --probes: comma-separated, of ${Object.keys(PROBES).join(', ')} (default all)`,
      ...Object.entries(PROBES).map(([k, p]) => `    ${k}: ${p.about}`),
      '  --count: messages per flood (default 10000)',
      '  timing figures: run under `flock -x /tmp/cpu.lock` (see HELPERS.md)',
      '',
    ].join('\n'),
  );
  process.exit(values.help ? 0 : 2);
}

const sides = values['gateway-dir'].map((arg) => {
  const eq = arg.indexOf('=');
  const dir = resolve(eq > 0 ? arg.slice(eq + 1) : arg);
  return new Checkout(eq > 0 ? arg.slice(0, eq) : basename(dir), dir);
});
const runs = Number(values.runs);
const count = Number(values.count);
const chosen = values.probes.split(',').map((p) => p.trim());
for (const p of chosen) if (!(p in PROBES)) throw new Error(`unknown probe ${p} (known: ${Object.keys(PROBES).join(', ')})`);
if (!(Number.isInteger(runs) && runs >= 1 && runs <= 10)) throw new Error('--runs must be 1..10');
if (!(Number.isInteger(count) && count >= 1 && count <= 100_000)) throw new Error('--count must be 1..100000');

const results: RunResult[] = [];
for (let run = 1; run <= runs; run++)
  for (const co of sides) {
    const probes: ProbeResult[] = [];
    const load0 = os.loadavg()[0]!;
    for (const p of chosen) {
      const t0 = Date.now();
      process.stderr.write(`run ${run}/${runs} ${co.label} (${co.commit}): ${p} … `);
      probes.push(...(await PROBES[p]!.run(co, { count })));
      process.stderr.write(`${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    }
    results.push({ label: co.label, run, load: [load0, os.loadavg()[0]!], probes });
  }

const command = `npm run bench:hostile -- ${process.argv.slice(2).join(' ')}`;
const table = markdown(
  results,
  sides.map((s) => ({ label: s.label, commit: s.commit })),
);
const loads = sides
  .map((s) => {
    const l = results.filter((r) => r.label === s.label).flatMap((r) => r.load);
    return `${s.label} ${Math.min(...l).toFixed(1)}–${Math.max(...l).toFixed(1)}`;
  })
  .join(', ');
process.stdout.write(
  `\n\`${command}\` — ${runs} run(s) per side, ${os.cpus().length} cores, Node ${process.versions.node}; ` +
    `1-min load average during the runs: ${loads}\n\n${table}\n`,
);
const out = values.out ?? `bench/results/hostile-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
mkdirSync('bench/results', { recursive: true });
writeFileSync(
  out,
  JSON.stringify(
    {
      command,
      at: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.versions.node },
      sides: sides.map((s) => ({ label: s.label, dir: s.dir, commit: s.commit })),
      runs: results,
    },
    null,
    2,
  ),
);
process.stdout.write(`raw results: ${out}\n`);
// Worker threads and sockets are closed by the probes; exit now rather than wait on stragglers.
process.exit(0);
