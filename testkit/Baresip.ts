import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readWav, writeWav } from '../codecs/src/index.js';
import { freeRun, onPath } from './host.js';

/**
 * baresip (Debian `baresip-core` 1.0.0) as a real SIP softphone for tests: headless, on loopback
 * only, its audio source a WAV file and its received audio recorded by the sndfile module.
 *
 * Facts this relies on (checked with 1.0.0):
 * - `sip_listen 127.0.0.1:P` also binds TCP/TLS on P+1: instances need ports spaced by 2.
 * - without `net_interface 127.0.0.1` it advertises the machine's other address in its SDP while
 *   sending from 127.0.0.1 (a strict RTP edge then drops everything as a foreign source).
 * - `aufile` hangs up at the end of its WAV: the source is padded with silence.
 * - `snd_path DIR` makes sndfile write `dump-<time>-enc.wav` (what baresip sent, before encoding)
 *   and `dump-<time>-dec.wav` (what it received, after decoding), 8 kHz for G.711.
 * - `ctrl_tcp` takes netstring-framed JSON commands (`{"command":"hangup","params":"","token":"1"}`)
 *   using the menu module's command names (hangup, dial, sndcode, hold, resume, ...).
 */
export interface BaresipOptions {
  /** 8 kHz mono audio baresip sends (padded with silence to `seconds`) */
  source: Int16Array;
  /** how long baresip runs at most (-t), s */
  seconds: number;
  /** call this URI right away (caller); otherwise it answers calls automatically (callee) */
  dial?: string;
  /** SIP user of its account (callee: the Request-URI user it answers to) */
  user?: string;
  codecs?: string;
  /** print every SIP message (-s) into `log` */
  trace?: boolean;
}

export class Baresip {
  readonly dir: string;
  readonly sipPort: number;
  readonly ctrlPort: number;
  readonly #child: ChildProcess;
  #log = '';
  #exited: Promise<number | null>;
  exitCode: number | null | undefined = undefined;

  private constructor(dir: string, sipPort: number, ctrlPort: number, child: ChildProcess) {
    this.dir = dir;
    this.sipPort = sipPort;
    this.ctrlPort = ctrlPort;
    this.#child = child;
    child.stdout?.on('data', (d: Buffer) => (this.#log += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.#log += d.toString()));
    this.#exited = new Promise((resolve) =>
      child.on('exit', (code) => {
        this.exitCode = code;
        resolve(code);
      }),
    );
  }

  static available(): boolean {
    return onPath('baresip') !== undefined && existsSync('/usr/lib/baresip/modules/sndfile.so');
  }

  static async start(o: BaresipOptions): Promise<Baresip> {
    const dir = mkdtempSync(join(tmpdir(), 'baresip-'));
    mkdirSync(join(dir, 'snd'));
    // SIP on P (and TCP/TLS on P+1), ctrl_tcp on P+2: a free run of three ports.
    const sipPort = await freeRun(3);
    const ctrlPort = sipPort + 2;
    const src = new Int16Array(Math.max(o.source.length, 8000 * (o.seconds + 2)));
    src.set(o.source);
    writeWav(join(dir, 'source.wav'), { sampleRate: 8000, samples: src });
    const config = [
      `sip_listen 127.0.0.1:${sipPort}`,
      'net_interface 127.0.0.1',
      `audio_source aufile,${join(dir, 'source.wav')}`,
      'audio_player aufile,/dev/null',
      'audio_alert aufile,/dev/null',
      'audio_srate 8000',
      'audio_channels 1',
      'module_path /usr/lib/baresip/modules',
      'module stdio.so',
      'module g711.so',
      'module aufile.so',
      'module sndfile.so',
      'module_app account.so',
      'module_app menu.so',
      'module_app ctrl_tcp.so',
      `ctrl_tcp_listen 127.0.0.1:${ctrlPort}`,
      `snd_path ${join(dir, 'snd')}`,
      'rtp_stats no',
      '',
    ].join('\n');
    writeFileSync(join(dir, 'config'), config);
    const user = o.user ?? 'baresip';
    writeFileSync(
      join(dir, 'accounts'),
      `<sip:${user}@127.0.0.1:${sipPort}>;regint=0;answermode=auto;audio_codecs=${o.codecs ?? 'pcmu,pcma'}\n`,
    );
    const args = ['-f', dir, '-t', String(o.seconds)];
    if (o.trace === true) args.push('-s');
    if (o.dial !== undefined) args.push('-e', `/dial ${o.dial}`);
    const child = spawn('baresip', args, { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
    const b = new Baresip(dir, sipPort, ctrlPort, child);
    await b.#waitListening();
    return b;
  }

  /** Everything baresip printed. */
  get log(): string {
    return this.#log;
  }

  /** sip:user@127.0.0.1:port, for dialling it. */
  uri(user = 'baresip'): string {
    return `sip:${user}@127.0.0.1:${this.sipPort}`;
  }

  async #waitListening(): Promise<void> {
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      if (this.exitCode !== undefined) throw new Error(`baresip exited early (${this.exitCode}):\n${this.#log}`);
      const ok = await new Promise<boolean>((resolve) => {
        const s = net.connect(this.ctrlPort, '127.0.0.1', () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      });
      if (ok) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`baresip did not open its control port:\n${this.#log}`);
  }

  /** One ctrl_tcp command (netstring JSON); resolves with its response, or rejects after 3 s. */
  command(command: string, params = ''): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const s = net.connect(this.ctrlPort, '127.0.0.1');
      const json = JSON.stringify({ command, params, token: '1' });
      let buf = '';
      const t = setTimeout(() => {
        s.destroy();
        reject(new Error(`baresip: no response to ${command}`));
      }, 3000);
      s.on('connect', () => s.write(`${Buffer.byteLength(json)}:${json},`));
      s.on('data', (d: Buffer) => {
        buf += d.toString();
        // A netstring: LEN:JSON, ; events may come first: keep the one with a token.
        for (;;) {
          const m = /^(\d+):/.exec(buf);
          if (m === null) return;
          const len = Number(m[1]);
          const start = m[0].length;
          if (buf.length < start + len + 1) return;
          const msg = JSON.parse(buf.slice(start, start + len)) as Record<string, unknown>;
          buf = buf.slice(start + len + 1);
          if (msg['response'] === true) {
            clearTimeout(t);
            s.destroy();
            resolve(msg);
            return;
          }
        }
      });
      s.on('error', (err) => {
        clearTimeout(t);
        reject(err);
      });
    });
  }

  /** Resolves with the exit code once baresip exits (or rejects after `ms`). */
  async exited(ms: number): Promise<number | null> {
    let t: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new Error(`baresip still running after ${ms} ms:\n${this.#log.slice(-2000)}`)), ms);
    });
    try {
      return await Promise.race([this.#exited, timeout]);
    } finally {
      clearTimeout(t);
    }
  }

  /** True once baresip has logged `text` (e.g. 'Call established', 'terminated'). */
  saw(re: RegExp): boolean {
    return re.test(this.#log);
  }

  /** The sndfile recordings: what baresip sent (enc) and received (dec), 8 kHz. */
  recordings(): { sent: Int16Array; received: Int16Array } {
    const files = readdirSync(join(this.dir, 'snd'));
    const pick = (suffix: string): Int16Array => {
      const f = files.find((n) => n.endsWith(`-${suffix}.wav`));
      if (f === undefined) throw new Error(`baresip wrote no *-${suffix}.wav (files: ${files.join(', ')})\n${this.#log.slice(-2000)}`);
      return readWav(join(this.dir, 'snd', f)).samples;
    };
    return { sent: pick('enc'), received: pick('dec') };
  }

  /** Stops baresip (SIGTERM, then SIGKILL) and removes its directory. Idempotent. */
  async stop(): Promise<void> {
    if (this.exitCode === undefined) {
      this.#child.kill('SIGTERM');
      const t = setTimeout(() => this.#child.kill('SIGKILL'), 2000);
      await this.#exited;
      clearTimeout(t);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
