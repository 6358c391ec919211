import { CodecError } from './errors.js';

/**
 * The part of an Emscripten module we use. Heap views are re-read on every use: they are
 * replaced when the WASM memory grows (ALLOW_MEMORY_GROWTH), so a cached view may go stale.
 */
export interface EmscriptenModule {
  HEAPF32: Float32Array;
  HEAPU32: Uint32Array;
  HEAP32: Int32Array;
  _malloc(size: number): number;
  _free(ptr: number): void;
}

type Factory<M> = (opts?: object) => Promise<M>;

/**
 * Loads an Emscripten factory once per thread and caches the instance: all handles of one
 * kind (every call's resamplers, say) share one module and allocate their state inside it.
 */
export function cachedModule<M>(load: () => Promise<{ default: Factory<M> }>, what: string): () => Promise<M> {
  let p: Promise<M> | undefined;
  return () => {
    p ??= load()
      .then((m) => m.default())
      .catch((cause: unknown) => {
        p = undefined;
        throw new CodecError('WASM_UNAVAILABLE', `cannot load ${what}`, { cause });
      });
    return p;
  };
}
