/**
 * In-place radix-2 complex FFT of a fixed power-of-two size, twiddles and bit reversal computed
 * once. Small sizes (64–512) for block adaptive filters; allocates nothing per transform.
 */
export class Fft {
  readonly n: number;
  readonly #cos: Float64Array;
  readonly #sin: Float64Array;
  readonly #rev: Uint16Array;

  constructor(n: number) {
    if (n < 2 || (n & (n - 1)) !== 0) throw new RangeError(`FFT size must be a power of two, got ${n}`);
    this.n = n;
    this.#cos = new Float64Array(n / 2);
    this.#sin = new Float64Array(n / 2);
    for (let i = 0; i < n / 2; i++) {
      this.#cos[i] = Math.cos((2 * Math.PI * i) / n);
      this.#sin[i] = -Math.sin((2 * Math.PI * i) / n);
    }
    this.#rev = new Uint16Array(n);
    const bits = Math.log2(n);
    for (let i = 0; i < n; i++) {
      let r = 0;
      for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
      this.#rev[i] = r;
    }
  }

  /** Forward transform (e^{−j2πkn/N}); `inverse` conjugates the twiddles and scales by 1/N. */
  transform(re: Float64Array, im: Float64Array, inverse = false): void {
    const n = this.n;
    const rev = this.#rev;
    for (let i = 0; i < n; i++) {
      const j = rev[i]!;
      if (j > i) {
        const tr = re[i]!;
        re[i] = re[j]!;
        re[j] = tr;
        const ti = im[i]!;
        im[i] = im[j]!;
        im[j] = ti;
      }
    }
    const sgn = inverse ? -1 : 1;
    for (let size = 2; size <= n; size <<= 1) {
      const half = size >> 1;
      const step = n / size;
      for (let start = 0; start < n; start += size) {
        for (let k = 0; k < half; k++) {
          const wr = this.#cos[k * step]!;
          const wi = sgn * this.#sin[k * step]!;
          const a = start + k;
          const b = a + half;
          const xr = re[b]! * wr - im[b]! * wi;
          const xi = re[b]! * wi + im[b]! * wr;
          re[b] = re[a]! - xr;
          im[b] = im[a]! - xi;
          re[a] = re[a]! + xr;
          im[a] = im[a]! + xi;
        }
      }
    }
    if (inverse) {
      const s = 1 / n;
      for (let i = 0; i < n; i++) {
        re[i] = re[i]! * s;
        im[i] = im[i]! * s;
      }
    }
  }

  /**
   * After a forward transform of two real signals packed as one (re = a, im = b): A's spectrum
   * over bins 0..n/2, written in place, and the powers |A(k)|², |B(k)|² into `pa`, `pb` (n/2 + 1
   * bins each). A(k) = (Z(k) + conj Z(n−k)) / 2, B(k) = (Z(k) − conj Z(n−k)) / 2j; writing A(k)
   * over Z(k) is safe, as no later bin reads it (for 0 < k < n/2 the mirror n − k lies above n/2;
   * bins 0 and n/2 are their own mirror).
   */
  splitTwoReal(re: Float64Array, im: Float64Array, pa: Float64Array, pb: Float64Array): void {
    const n = this.n;
    for (let k = 0; k <= n / 2; k++) {
      const m = (n - k) % n;
      const ar = 0.5 * (re[k]! + re[m]!);
      const ai = 0.5 * (im[k]! - im[m]!);
      const br = 0.5 * (im[k]! + im[m]!);
      const bi = -0.5 * (re[k]! - re[m]!);
      re[k] = ar;
      im[k] = ai;
      pa[k] = ar * ar + ai * ai;
      pb[k] = br * br + bi * bi;
    }
  }
}
