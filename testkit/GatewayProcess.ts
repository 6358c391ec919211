import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A gateway as its own process (so a load generator cannot share its event loop). */
export class GatewayProcess {
  readonly url: string;
  /** the `ws`-library edge server, when started with EDGE_WS_SERVER=ws */
  readonly wsEdgeUrl: string | null;
  /** host:port of its SIP endpoint (UDP and TCP), when SIP is on */
  readonly sip: string | null;
  readonly #child: ChildProcess;
  readonly #captured: { text: string };

  private constructor(url: string, wsEdgeUrl: string | null, sip: string | null, child: ChildProcess, captured: { text: string }) {
    this.url = url;
    this.wsEdgeUrl = wsEdgeUrl;
    this.sip = sip;
    this.#child = child;
    this.#captured = captured;
  }

  /** With `capture`: everything the process wrote so far, stdout and stderr (its logs). */
  get output(): string {
    return this.#captured.text;
  }

  /**
   * Starts `gateway/src/main.ts`. By default from the TypeScript sources (through tsx, as the tests
   * run them); `built` runs the compiled `dist/` that `make run` serves, which the benchmarks measure.
   */
  static async start(
    env: Record<string, string>,
    opts: { built?: boolean; cpus?: string; root?: string; capture?: boolean } = {},
  ): Promise<GatewayProcess> {
    const entry = opts.built === true ? ['../dist/gateway/src/main.js'] : ['--import', 'tsx', '../gateway/src/main.ts'];
    // `root`: another checkout's build (the bench's before/after figures); `cpus`: pinned (taskset).
    const base = opts.root === undefined ? new URL('.', import.meta.url) : new URL(`file://${opts.root.replace(/\/?$/, '/')}testkit/`);
    const args = entry.map((a) => (a.startsWith('..') ? fileURLToPath(new URL(a, base)) : a));
    const nodeArgs = (process.env['GATEWAY_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
    const argv = [process.execPath, ...nodeArgs, ...args];
    if (opts.cpus !== undefined) argv.unshift('taskset', '-c', opts.cpus);
    const child = spawn(argv[0]!, argv.slice(1), {
      env: {
        ...process.env,
        PORT: '0',
        SIP_PORT: '0',
        DIAL_ALLOW: '127.0.0.0/8',
        HOST: '127.0.0.1',
        RTP_BIND_HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const captured = { text: '' };
    if (opts.capture === true) {
      child.stdout.on('data', (d: Buffer) => (captured.text += d.toString()));
      child.stderr.on('data', (d: Buffer) => (captured.text += d.toString()));
    } else child.stderr.pipe(process.stderr);
    const [url, wsEdgeUrl, sip] = await new Promise<[string, string | null, string | null]>((resolve, reject) => {
      let out = '';
      const onData = (d: Buffer) => {
        out += d.toString();
        const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(out);
        // the banner ends with the test-call hint
        if (m && out.includes('place a test call')) {
          child.stdout.off('data', onData);
          if (opts.capture !== true) child.stdout.resume();
          resolve([
            m[1]!,
            /\((?:comparison)\): (ws:\/\/\S+)/.exec(out)?.[1] ?? null,
            /SIP trunks: udp ([\d.]+:\d+)/.exec(out)?.[1] ?? null,
          ]);
        }
      };
      child.stdout.on('data', onData);
      child.once('exit', (code) => reject(new Error(`gateway exited with ${code} before listening`)));
    });
    return new GatewayProcess(url, wsEdgeUrl, sip, child, captured);
  }

  get pid(): number {
    return this.#child.pid!;
  }

  /** CPU time (user + system) of the gateway process so far, ms (Linux /proc). */
  cpuMs(): number {
    const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14, 15)
    return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
  }

  /** Sends SIGTERM (the gateway drains) and resolves with the exit code. */
  async stop(): Promise<number | null> {
    if (this.#child.exitCode !== null) return this.#child.exitCode;
    const exited = new Promise<number | null>((r) => this.#child.once('exit', (code) => r(code)));
    this.#child.kill('SIGTERM');
    return exited;
  }
}

/** Reads a Prometheus text metric (sum over label sets matching `match`). */
export async function scrape(url: string, name: string, match: (labels: string) => boolean = () => true): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_:]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m && m[1] === name && match(m[2] ?? '')) sum += Number(m[3]);
  }
  return sum;
}

/** Prometheus histogram buckets (cumulative counts by upper bound), for percentile estimates between scrapes. */
export async function scrapeBuckets(url: string, name: string): Promise<Map<number, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = new Map<number, number>();
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\S+)$`).exec(line);
    if (m) out.set(m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2]));
  }
  return out;
}

/** Upper bound of the bucket holding percentile p of the observations made between two scrapes. */
export function bucketPercentile(before: Map<number, number>, after: Map<number, number>, p: number): number {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
  if (total <= 0) return 0;
  for (const b of bounds) if ((after.get(b)! - (before.get(b) ?? 0)) / total >= p / 100) return b;
  return Infinity;
}
