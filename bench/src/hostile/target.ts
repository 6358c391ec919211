import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { GatewayProcess, scrape, scrapeBuckets } from '../../../testkit/GatewayProcess.js';

/** The HS256 secret every probed gateway is started with (GATEWAY_AUTH_SECRET: the API wants JWTs). */
export const SECRET = 'hostile-probe-secret-0123456789';

/** A JWT for this gateway: HS256 with `iat`, and `exp` after `expSeconds` unless null (a token that never expires). */
export function mintToken(o: { expSeconds?: number | null; iatOffsetS?: number; noIat?: boolean; secret?: string } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000) + (o.iatOffsetS ?? 0);
  let jwt = new SignJWT({ sub: 'hostile-probe' }).setProtectedHeader({ alg: 'HS256' });
  if (o.noIat !== true) jwt = jwt.setIssuedAt(now);
  const exp = o.expSeconds === undefined ? 600 : o.expSeconds;
  if (exp !== null) jwt = jwt.setExpirationTime(now + exp);
  return jwt.sign(new TextEncoder().encode(o.secret ?? SECRET));
}

/** The checkout under test: where its build is, and what its build knows about (older ones lack some settings). */
export class Checkout {
  readonly label: string;
  readonly dir: string;
  readonly commit: string;
  readonly #dist: string;

  constructor(label: string, dir: string) {
    this.label = label;
    this.dir = dir;
    this.#dist = join(dir, 'dist/gateway/src');
    if (!existsSync(join(this.#dist, 'main.js'))) throw new Error(`${dir}: no dist/gateway/src/main.js (run npm run build there)`);
    this.commit = execFileSync('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  }

  /**
   * Whether the build reads an environment setting or names an error code (a static look at its
   * compiled JS): a probe of a feature the build lacks says "not supported" rather than guessing.
   */
  knows(name: string): boolean {
    const walk = (d: string): boolean =>
      readdirSync(d, { withFileTypes: true }).some((e) =>
        e.isDirectory() ? walk(join(d, e.name)) : e.name.endsWith('.js') && readFileSync(join(d, e.name), 'utf8').includes(name),
      );
    return walk(this.#dist);
  }
}

/** Every gateway this process started, killed on exit if a probe fails half-way (by PID, nothing else). */
const live = new Set<number>();
process.on('exit', () => {
  for (const pid of live) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/**
 * A real gateway process from a checkout, on loopback and ephemeral ports, with auth on, reached
 * only through its public interfaces: HTTP API, edge WebSockets, UDP RTP, /metrics.
 */
export class Target {
  readonly url: string;
  readonly sip: string | null;
  readonly checkout: Checkout;
  readonly token: string;
  readonly #gw: GatewayProcess;

  private constructor(gw: GatewayProcess, checkout: Checkout, token: string) {
    this.#gw = gw;
    this.url = gw.url;
    this.sip = gw.sip;
    this.checkout = checkout;
    this.token = token;
  }

  /** Starts the checkout's build with the probe's defaults overridden by `env`. */
  static async start(checkout: Checkout, env: Record<string, string> = {}): Promise<Target> {
    const gw = await GatewayProcess.start(
      {
        GATEWAY_AUTH_SECRET: SECRET,
        SIP_PORT: 'off',
        DIAL_ALLOW: '127.0.0.1',
        DRAIN_TIMEOUT_MS: '500',
        LOG_LEVEL: 'error',
        ...env,
      },
      { built: true, root: checkout.dir },
    );
    live.add(gw.pid);
    return new Target(gw, checkout, await mintToken());
  }

  get auth(): Record<string, string> {
    return { authorization: `Bearer ${this.token}` };
  }

  /** An API request with the probe's token; resolves with the status and the parsed JSON body (or text). */
  async api(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: { ...this.auth, 'content-type': 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let json: Record<string, unknown>;
    try {
      json = JSON.parse(text) as Record<string, unknown>;
    } catch {
      json = { text };
    }
    return { status: res.status, json };
  }

  /** A counter or gauge from /metrics, summed over label sets containing `label` (e.g. `reason="AGENT_FLOOD"`). */
  metric(name: string, label = ''): Promise<number> {
    return scrape(this.url, name, (l) => l.includes(label));
  }

  /**
   * Waits until /readyz answers 200 (a build with admission by measured load sheds new calls for a
   * moment after handling a flood), at most `maxMs`; resolves with the ms waited.
   */
  async ready(maxMs = 5000): Promise<number> {
    const t0 = performance.now();
    while (performance.now() - t0 < maxMs) {
      const res = await fetch(`${this.url}/readyz`);
      await res.arrayBuffer();
      if (res.status === 200 || res.status === 404) break; // 404: a build without /readyz
      await new Promise((r) => setTimeout(r, 100));
    }
    return performance.now() - t0;
  }

  /** Every `gateway_drops_total` reason with its count. */
  async drops(): Promise<Map<string, number>> {
    const text = await (await fetch(`${this.url}/metrics`)).text();
    const out = new Map<string, number>();
    for (const m of text.matchAll(/^gateway_drops_total\{reason="([^"]+)"\} (\S+)$/gm)) out.set(m[1]!, Number(m[2]));
    return out;
  }

  /** Whether /metrics has this metric at all (older builds lack some). */
  async hasMetric(name: string): Promise<boolean> {
    const text = await (await fetch(`${this.url}/metrics`)).text();
    return text.includes(`# TYPE ${name} `);
  }

  buckets(name: string): Promise<Map<number, number>> {
    return scrapeBuckets(this.url, name);
  }

  /** SIGTERM (the gateway drains for DRAIN_TIMEOUT_MS), then SIGKILL by PID if it has not exited within 5 s. */
  async stop(): Promise<void> {
    const pid = this.#gw.pid;
    const timer = setTimeout(() => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // exited meanwhile
      }
    }, 5000);
    await this.#gw.stop();
    clearTimeout(timer);
    live.delete(pid);
  }
}

/** Reasons whose count changed between two `drops()` reads, as "REASON n" (largest first). */
export function dropDelta(before: Map<string, number>, after: Map<string, number>): string {
  const d = [...after].map(([k, v]) => [k, v - (before.get(k) ?? 0)] as const).filter(([, v]) => v > 0);
  d.sort((a, b) => b[1] - a[1]);
  return d.length === 0 ? 'none' : d.map(([k, v]) => `${k} ${v}`).join(', ');
}
