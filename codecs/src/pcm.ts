/** Conversions between Int16 PCM and float samples kept in the 16-bit range (as RNNoise wants). */

export function int16ToFloat(src: Int16Array, dst: Float32Array): number {
  const n = Math.min(src.length, dst.length);
  for (let i = 0; i < n; i++) dst[i] = src[i]!;
  return n;
}

/** Rounds and clamps to Int16. */
export function floatToInt16(src: Float32Array, dst: Int16Array): number {
  const n = Math.min(src.length, dst.length);
  for (let i = 0; i < n; i++) {
    const v = Math.round(src[i]!);
    dst[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
  }
  return n;
}

/** An Int16 view over little-endian PCM bytes (no copy); `bytes` must be 2-byte aligned. */
export function pcm16View(bytes: Uint8Array): Int16Array {
  return new Int16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 1);
}

/** Root-mean-square level of samples in the 16-bit range, in dBFS (−∞ for silence). */
export function rmsDbfs(x: Int16Array | Float32Array, from = 0, to = x.length): number {
  let acc = 0;
  for (let i = from; i < to; i++) acc += x[i]! * x[i]!;
  const rms = Math.sqrt(acc / Math.max(1, to - from));
  return 20 * Math.log10(rms / 32768);
}
