import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { parseMessage } from '../../../gateway/src/sip/message.js';
import type { SipMessage } from '../../../gateway/src/sip/message.js';

/** Absolute path of `name` on PATH, or undefined. */
export function onPath(name: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    const p = join(dir, name);
    if (dir !== '' && existsSync(p)) return p;
  }
  return undefined;
}

/** A free UDP port on 127.0.0.1 (bound, read, released: good enough for one test run). */
export async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

export interface SippResult {
  /** 0: every call succeeded; 1: some failed; 97/99/-1/-2: aborted or fatal (SIPp's man page). */
  code: number | null;
  successful: number;
  failed: number;
  stderr: string;
  errors: string;
}

/**
 * Runs SIPp in the foreground with `-m calls`, a global timeout and stats to a file; a SIGKILL
 * backstop keeps a wedged SIPp from outliving the test.
 */
export async function runSipp(args: readonly string[], opts: { calls: number; timeoutS: number }): Promise<SippResult> {
  const dir = mkdtempSync(join(tmpdir(), 'sipp-'));
  const stf = join(dir, 'stats.csv');
  const errFile = join(dir, 'errors.log');
  const mediaPort = await freeUdpPort();
  const child = spawn(
    'sipp',
    [
      ...args,
      '-nostdin',
      '-m',
      String(opts.calls),
      '-timeout',
      `${opts.timeoutS}s`,
      '-timeout_error',
      '-mp',
      String(mediaPort),
      '-trace_stat',
      '-stf',
      stf,
      '-fd',
      '1',
      '-trace_err',
      '-error_file',
      errFile,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const backstop = setTimeout(() => child.kill('SIGKILL'), (opts.timeoutS + 10) * 1000);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  clearTimeout(backstop);
  const read = (f: string): string => (existsSync(f) ? readFileSync(f, 'utf8') : '');
  const rows = read(stf)
    .trim()
    .split('\n')
    .map((l) => l.split(';'));
  const header = rows[0] ?? [];
  const last = rows[rows.length - 1] ?? [];
  const col = (name: string): number => Number(last[header.indexOf(name)] ?? NaN);
  const result = { code, successful: col('SuccessfulCall(C)'), failed: col('FailedCall(C)'), stderr, errors: read(errFile) };
  rmSync(dir, { recursive: true, force: true });
  return result;
}

/** A bare UDP SIP peer for probing the user agent with hand-written messages. */
export class RawPeer {
  readonly #socket: Socket;
  readonly #inbox: SipMessage[] = [];
  #waiters: (() => void)[] = [];

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('message', (buf) => {
      try {
        this.#inbox.push(parseMessage(buf));
      } catch {
        return;
      }
      for (const w of this.#waiters) w();
    });
  }

  static async open(): Promise<RawPeer> {
    const s = createSocket('udp4');
    await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
    return new RawPeer(s);
  }

  get port(): number {
    return this.#socket.address().port;
  }

  /** Everything received so far. */
  get received(): readonly SipMessage[] {
    return this.#inbox;
  }

  send(text: string, port: number): void {
    this.#socket.send(Buffer.from(text.replace(/\r?\n/g, '\r\n')), port, '127.0.0.1');
  }

  /** The first received message matching `pred` (already received or arriving within `ms`). */
  async next(pred: (m: SipMessage) => boolean, ms = 5000): Promise<SipMessage> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.#inbox.find(pred);
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('RawPeer: nothing matching arrived');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
      this.#waiters = [];
    }
  }

  close(): void {
    this.#socket.close();
  }
}
