import { createSocket } from 'node:dgram';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';

/** What this test host offers the real peers (SIPp, baresip, Kamailio, gateways) run against. */

/** Absolute path of the program `name` on PATH or in one of `extraDirs` (e.g. /usr/sbin), or undefined. */
export function onPath(name: string, extraDirs: readonly string[] = []): string | undefined {
  for (const dir of [...(process.env['PATH'] ?? '').split(delimiter), ...extraDirs]) {
    const p = join(dir, name);
    if (dir !== '' && existsSync(p)) return p;
  }
  return undefined;
}

/**
 * The first of `n` consecutive ports free over UDP and TCP on 127.0.0.1 (even, random start,
 * bounded tries), for a peer we start on ports we name. Taken below the kernel's ephemeral range
 * (net.ipv4.ip_local_port_range): every socket bound to port 0 (the RTP sockets of the gateways
 * the other test files run at the same time) lands inside that range, so none can take these
 * between our check and the peer's bind, as it could a port a bind(0) had handed out.
 */
export async function freeRun(n: number): Promise<number> {
  const below = ephemeralLow();
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 2 * Math.floor((RUNS_FROM + Math.random() * (below - RUNS_FROM - n)) / 2);
    let ok = true;
    for (let i = 0; i < n && ok; i++) ok = await free(base + i);
    if (ok) return base;
  }
  throw new Error(`no run of ${n} free ports on 127.0.0.1 below ${below}`);
}

/** Runs start here: above the well-known and most registered service ports. */
const RUNS_FROM = 10_000;

/** The first port of the kernel's ephemeral range (Linux default 32768 when it cannot be read). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > RUNS_FROM + 1000 ? low : 32768;
  } catch {
    return 32768;
  }
}

async function free(port: number): Promise<boolean> {
  const tcp = await new Promise<boolean>((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
  if (!tcp) return false;
  return new Promise<boolean>((resolve) => {
    const u = createSocket('udp4');
    u.once('error', () => resolve(false));
    u.bind(port, '127.0.0.1', () => u.close(() => resolve(true)));
  });
}
