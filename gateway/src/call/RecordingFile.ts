import { mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { GatewayErrorCode } from '../errors.js';

/** Bytes of a canonical WAV header (RIFF, fmt, data), before the samples. */
export const WAV_HEADER_BYTES = 44;
/** The largest data chunk a RIFF size field can describe. */
export const WAV_MAX_DATA = 0xffffffff - 36;
/** Bytes handed to the disk and not yet written, per file, beyond which new ones are dropped (a stalled disk must not eat memory). */
const MAX_BACKLOG = 8 * 2 ** 20;

/**
 * A canonical PCM WAV header (16-bit little-endian samples): RIFF/WAVE, a 16-byte fmt chunk, and
 * the data chunk's size. Written once as a placeholder with the largest sizes (a reader of a file
 * cut short by a crash reads to its end) and again with the true sizes when the file is finished.
 */
export function wavHeader(rate: number, channels: number, dataBytes: number): Buffer {
  const h = Buffer.alloc(WAV_HEADER_BYTES);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(Math.min(0xffffffff, 36 + dataBytes), 4);
  h.write('WAVEfmt ', 8, 'ascii');
  h.writeUInt32LE(16, 16); // fmt chunk size
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * channels * 2, 28); // byte rate
  h.writeUInt16LE(channels * 2, 32); // block align
  h.writeUInt16LE(16, 34); // bits per sample
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(dataBytes, 40);
  return h;
}

/**
 * One recording on disk: `<path>.part` while the call lasts, renamed to `<path>` once its header
 * holds the true sizes (so a finished name is always a whole file). Writes are positioned
 * (pwrite) and asynchronous, one at a time, off the media path: a write dropped under a stalled
 * disk leaves silence in its place, never shifts the audio after it.
 */
export class RecordingFile {
  readonly path: string;
  readonly #rate: number;
  readonly #channels: number;
  readonly #onError: (code: GatewayErrorCode, err: unknown) => void;
  readonly #onWritten: (bytes: number) => void;
  #fh: FileHandle | null = null;
  #failed = false;
  /** the chain of writes: each waits for the one before */
  #chain: Promise<void>;
  #backlog = 0;
  /** data bytes written (the highest end of any write) */
  #dataEnd = 0;

  /**
   * @param onError told once per problem, by stable code: RECORDING_FAILED (the disk refused),
   *   RECORDING_BACKLOG (audio dropped, the disk is too slow)
   * @param onWritten told of each write's bytes (for /metrics)
   */
  constructor(
    path: string,
    rate: number,
    channels: number,
    onError: (code: GatewayErrorCode, err: unknown) => void,
    onWritten: (bytes: number) => void,
  ) {
    this.path = path;
    this.#rate = rate;
    this.#channels = channels;
    this.#onError = onError;
    this.#onWritten = onWritten;
    this.#chain = (async () => {
      // Created with the first recording (and again if an operator removed it meanwhile).
      await mkdir(dirname(path), { recursive: true });
      this.#fh = await open(`${path}.part`, 'w');
      await this.#fh.write(wavHeader(rate, channels, WAV_MAX_DATA), 0, WAV_HEADER_BYTES, 0);
    })().catch((err: unknown) => {
      this.#fail(err);
    });
  }

  /** Data bytes the finished file holds. */
  get dataBytes(): number {
    return this.#dataEnd;
  }

  /** Queues `data` (samples, interleaved) at byte `offset` of the data chunk. Never throws; the buffer becomes the file's. */
  write(offset: number, data: Buffer): void {
    if (this.#failed || data.length === 0) return;
    if (offset + data.length > WAV_MAX_DATA) return this.#onError('RECORDING_FAILED', new Error('the WAV size limit (4 GiB) is reached'));
    if (this.#backlog + data.length > MAX_BACKLOG) return this.#onError('RECORDING_BACKLOG', new Error('the disk is not keeping up'));
    this.#backlog += data.length;
    this.#dataEnd = Math.max(this.#dataEnd, offset + data.length);
    this.#chain = this.#chain.then(async () => {
      this.#backlog -= data.length;
      if (this.#fh === null || this.#failed) return;
      try {
        await this.#fh.write(data, 0, data.length, WAV_HEADER_BYTES + offset);
        this.#onWritten(data.length);
      } catch (err) {
        this.#fail(err);
      }
    });
  }

  /**
   * Waits for every write, sets the header's sizes, closes and renames the file. Resolves with
   * its data bytes, or null when the recording failed (its partial file is removed).
   */
  async finish(): Promise<number | null> {
    await this.#chain;
    const fh = this.#fh;
    this.#fh = null;
    try {
      if (fh === null || this.#failed) throw new Error('the recording failed');
      await fh.write(wavHeader(this.#rate, this.#channels, this.#dataEnd), 0, WAV_HEADER_BYTES, 0);
      await fh.close();
      await rename(`${this.path}.part`, this.path);
      return this.#dataEnd;
    } catch (err) {
      if (!this.#failed) this.#fail(err);
      await fh?.close().catch(() => undefined);
      await rm(`${this.path}.part`, { force: true }).catch(() => undefined);
      return null;
    }
  }

  #fail(err: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#onError('RECORDING_FAILED', err);
  }
}
