import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { disturbed, MODES, runGateway, type CallResult, type Mode, type ModeRun } from './gateway.js';
import { mixture, NOISES, speechSet, type Noise } from './mixtures.js';
import { OFFLINE_HELP, offlineMain } from './offline.js';
import { gatewayTables } from './report.js';

/**
 * `npm run bench:denoise`: denoise off vs on vs auto through a running gateway, for noise types ×
 * input SNRs, on held-out voices; or (`--offline`) candidate suppressors without a gateway.
 */
const HELP = `usage: npm run bench:denoise -- [options]   (timing: run under flock -x /tmp/cpu.lock)
  --modes off,on,auto       route denoise values to compare (auto is reported as unsupported
                            when the gateway refuses it)
  --noises ${NOISES.join(',')}
  --snrs 0,5,10,20          input SNRs, dB (speech at -24 dBFS active level)
  --set heldout             speech: heldout (reported; nothing is tuned on it) or tune
  --seed N                  noise seed (default 2 for heldout, 1 for tune)
  --voices N                speech clips per cell, gateway runs (default: all of the set)
  --parallel 20             calls per batch (real time; check DSP_OVERLOAD in the output)
  --retries 2               run a batch again when a call lost frames (DSP_OVERLOAD), at most N times
  --workers N               DSP worker threads of the gateway (default: one per core)
  --out DIR                 where the JSON goes (default bench/results)
  --from A.json[,B.json]    no calls: print the tables of earlier runs' JSON (same set and seed);
                            per mode and mixture the first undisturbed call of the files, the CPU
                            figures of the first file
${OFFLINE_HELP}`;

const { values: v } = parseArgs({
  options: {
    modes: { type: 'string', default: MODES.join(',') },
    noises: { type: 'string', default: NOISES.join(',') },
    snrs: { type: 'string', default: '0,5,10,20' },
    set: { type: 'string', default: 'heldout' },
    seed: { type: 'string' },
    voices: { type: 'string' },
    parallel: { type: 'string', default: '20' },
    retries: { type: 'string', default: '2' },
    workers: { type: 'string' },
    out: { type: 'string', default: 'bench/results' },
    offline: { type: 'boolean', default: false },
    chains: { type: 'string', default: 'off,rnnoise,speex-15,speex-30,gtcrn' },
    suppressors: { type: 'string' },
    from: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

async function main(): Promise<void> {
  if (v.help) {
    console.log(HELP);
    return;
  }
  if (v.set !== 'heldout' && v.set !== 'tune') throw new Error('--set must be heldout or tune');
  const seed = v.seed ?? (v.set === 'tune' ? '1' : '2');
  const noises = v.noises.split(',') as Noise[];
  for (const n of noises)
    if (!(NOISES as readonly string[]).includes(n)) throw new Error(`unknown noise ${n}: one of ${NOISES.join(', ')}`);
  if (v.from !== undefined) {
    console.log(fromFiles(v.from.split(',')));
    return;
  }
  if (v.offline) {
    await offlineMain({ ...v, seed, suppressors: v.suppressors });
    return;
  }
  const modes = v.modes.split(',') as Mode[];
  for (const m of modes) if (!(MODES as readonly string[]).includes(m)) throw new Error(`unknown mode ${m}: one of ${MODES.join(', ')}`);
  if (!existsSync(new URL('../../../dist/gateway/src/main.js', import.meta.url))) throw new Error('no dist/: run `npm run build` first');
  const snrs = v.snrs.split(',').map(Number);
  const voices = speechSet(v.set).slice(0, v.voices === undefined ? undefined : Number(v.voices));
  const mixtures = noises.flatMap((noise) =>
    (noise === 'none' ? [NaN] : snrs).flatMap((snr) => voices.map((s, i) => mixture(s, noise, snr, Number(seed) * 1000 + i))),
  );
  const { results, runs } = await runGateway({
    mixtures,
    parallel: Number(v.parallel),
    retries: Number(v.retries),
    modes,
    ...(v.workers !== undefined ? { workers: v.workers } : {}),
  });
  const machine = `${os.cpus()[0]?.model ?? 'CPU'}, ${os.cpus().length} cores, Node ${process.version}`;
  console.log(
    `\nThrough the gateway: ${results.length} real-time PCMU calls over UDP, ${v.set} speech (${voices.map((s) => s.name).join(', ')}), noise seed ${seed}, ${v.parallel} calls per batch; ${machine}\n` +
      'Medians over the voices of each cell; SI-SDR and segmental SNR at the agent against the clean speech, resampled to 8 kHz and aligned by cross-correlation.\n',
  );
  console.log(gatewayTables(results, runs));
  mkdirSync(v.out, { recursive: true });
  const file = `${v.out}/denoise-${v.set}.json`;
  writeFileSync(
    file,
    JSON.stringify({ machine, date: new Date().toISOString(), set: v.set, seed, parallel: Number(v.parallel), runs, results }, null, 1),
  );
  console.log(`\nwrote ${file}`);
}

/** The tables of earlier runs, merged: a mixture a run heard disturbed is taken from the next. */
function fromFiles(files: string[]): string {
  type Saved = { machine: string; date: string; set: string; seed: string; parallel: number; runs: ModeRun[]; results: CallResult[] };
  const saved = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as Saved);
  const picked = new Map<string, CallResult>();
  for (const s of saved)
    for (const r of s.results) {
      // JSON has no NaN: the clean cell's SNR was written as null
      const call = { ...r, snrDb: (r.snrDb as number | null) ?? NaN };
      const key = `${call.mode}/${call.noise}/${call.snrDb}/${call.speech}`;
      const had = picked.get(key);
      if (had === undefined || (disturbed(had) && !disturbed(call))) picked.set(key, call);
    }
  const head = saved.map((s) => `${s.date} (${s.set}, seed ${s.seed}, ${s.parallel} per batch; ${s.machine})`).join(' + ');
  return `From ${files.join(' + ')}: ${head}\n\n${gatewayTables([...picked.values()], saved[0]!.runs)}`;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
