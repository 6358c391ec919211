import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/**
 * SIPp (Debian `sip-tester` 3.6) as a SIP peer for tests: runs a scenario (built-in `-sn` or an
 * XML file) on loopback, with `-m` calls, a global timeout and its statistics in a CSV file that
 * is read back when it exits. A SIGKILL backstop keeps a wedged SIPp from outliving the test.
 */
export interface SippResult {
  /** 0: every call succeeded; 1: some failed; 97/99/-1/-2: aborted or fatal (SIPp's man page). */
  code: number | null;
  successful: number;
  failed: number;
  /** SIPp's stderr and its error file (unexpected messages, timeouts) */
  stderr: string;
  errors: string;
  /** the -trace_msg log, when `traceMessages` was asked */
  messages: string;
}

/** Where Debian's sip-tester ships its RTP captures (g711a.pcap, dtmf_2833_*.pcap). */
export const PCAP_DIR = '/usr/share/sip-tester';

export interface SippOptions {
  /** -m: calls to place or answer before exiting */
  calls: number;
  /** -timeout: SIPp's own global timeout, s */
  timeoutS: number;
  /** -p: SIP port (default: a free one) */
  port?: number;
  /** -mp: media port (default: a free one) */
  mediaPort?: number;
  /** log every message (-trace_msg) into `messages` */
  traceMessages?: boolean;
}

export class Sipp {
  readonly port: number;
  readonly #child: ChildProcess;
  readonly #dir: string;
  readonly #done: Promise<SippResult>;
  #stderr = '';

  private constructor(port: number, child: ChildProcess, dir: string, timeoutS: number) {
    this.port = port;
    this.#child = child;
    this.#dir = dir;
    child.stderr?.on('data', (d: Buffer) => (this.#stderr += d.toString()));
    const backstop = setTimeout(() => child.kill('SIGKILL'), (timeoutS + 10) * 1000);
    this.#done = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c))).then((code) => {
      clearTimeout(backstop);
      return this.#collect(code);
    });
  }

  static available(): boolean {
    return onPath('sipp') !== undefined;
  }

  /** Starts SIPp in the background (a UAS waiting for calls, or a UAC already dialling). */
  static async start(args: readonly string[], o: SippOptions): Promise<Sipp> {
    const dir = mkdtempSync(join(tmpdir(), 'sipp-'));
    // The built-in uac_pcap scenario plays pcap/g711a.pcap and pcap/dtmf_2833_1.pcap from its cwd.
    if (existsSync(PCAP_DIR)) symlinkSync(PCAP_DIR, join(dir, 'pcap'));
    const port = o.port ?? (await freeUdpPort());
    const mediaPort = o.mediaPort ?? (await freeUdpPort());
    const child = spawn(
      'sipp',
      [
        ...args,
        '-i',
        '127.0.0.1',
        '-p',
        String(port),
        '-mi',
        '127.0.0.1',
        '-mp',
        String(mediaPort),
        '-nostdin',
        '-m',
        String(o.calls),
        '-timeout',
        `${o.timeoutS}s`,
        '-timeout_error',
        '-trace_stat',
        '-stf',
        join(dir, 'stats.csv'),
        '-fd',
        '1',
        '-trace_err',
        '-error_file',
        join(dir, 'errors.log'),
        ...(o.traceMessages === true ? ['-trace_msg', '-message_file', join(dir, 'messages.log')] : []),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir },
    );
    return new Sipp(port, child, dir, o.timeoutS);
  }

  /** Runs SIPp to the end and returns its statistics. */
  static async run(args: readonly string[], o: SippOptions): Promise<SippResult> {
    return (await Sipp.start(args, o)).result();
  }

  /** Resolves once SIPp exited, with its statistics. */
  result(): Promise<SippResult> {
    return this.#done;
  }

  /** Ends SIPp now (SIGTERM, SIGKILL after 2 s) and waits for it. Idempotent. */
  async stop(): Promise<SippResult> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      this.#child.kill('SIGTERM');
      const t = setTimeout(() => this.#child.kill('SIGKILL'), 2000);
      const r = await this.#done;
      clearTimeout(t);
      return r;
    }
    return this.#done;
  }

  #collect(code: number | null): SippResult {
    const read = (f: string): string => (existsSync(join(this.#dir, f)) ? readFileSync(join(this.#dir, f), 'utf8') : '');
    const rows = read('stats.csv')
      .trim()
      .split('\n')
      .map((l) => l.split(';'));
    const header = rows[0] ?? [];
    const last = rows[rows.length - 1] ?? [];
    const col = (name: string): number => Number(last[header.indexOf(name)] ?? NaN);
    const r: SippResult = {
      code,
      successful: col('SuccessfulCall(C)'),
      failed: col('FailedCall(C)'),
      stderr: this.#stderr,
      errors: read('errors.log'),
      messages: read('messages.log'),
    };
    rmSync(this.#dir, { recursive: true, force: true });
    return r;
  }
}

/** Absolute path of `name` on PATH, or undefined. */
export function onPath(name: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    const p = join(dir, name);
    if (dir !== '' && existsSync(p)) return p;
  }
  return undefined;
}

/** A free UDP port on 127.0.0.1 (bound, read, released). */
export async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
