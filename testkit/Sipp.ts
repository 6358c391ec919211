import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeRun, onPath } from './host.js';

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

/** SIPp's exit code -2, "fatal error binding a socket", as the unsigned byte the OS reports. */
const BIND_FAILED = 254;

/** Where Debian's sip-tester ships its RTP captures (g711a.pcap, dtmf_2833_*.pcap). */
export const PCAP_DIR = '/usr/share/sip-tester';

export interface SippOptions {
  /** -m: calls to place or answer before exiting */
  calls: number;
  /** -timeout: SIPp's own global timeout, s */
  timeoutS: number;
  /** -p: SIP port (default: a free one) */
  port?: number;
  /** -mp: media port; SIPp binds it and it + 2, audio and video (default: free ones) */
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
    // media on P and P + 2, SIP on P + 1: a free run of three ports
    const run = o.port === undefined || o.mediaPort === undefined ? await freeRun(3) : 0;
    const port = o.port ?? run + 1;
    const mediaPort = o.mediaPort ?? run;
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

  /**
   * Runs SIPp to the end and returns its statistics. A port taken between our check and SIPp's
   * bind (it exits -2 then, before sending anything) is retried on other free ports, at most twice.
   */
  static async run(args: readonly string[], o: SippOptions): Promise<SippResult> {
    for (let attempt = 1; ; attempt++) {
      const r = await (await Sipp.start(args, o)).result();
      const portTaken = r.code === BIND_FAILED && /Unable to bind/.test(r.stderr);
      if (!portTaken || attempt === 3 || (o.port !== undefined && o.mediaPort !== undefined)) return r;
    }
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
