import { describe, expect, it } from 'vitest';
import { DenoiseReport } from '../../gateway/src/call/DenoiseReport.js';
import { FrameFlags } from '../../gateway/src/media/dspProtocol.js';

const { denoised, shed, decided, wanted } = FrameFlags;

describe('DenoiseReport (what a call says about its denoising)', () => {
  it('auto: tells the agent each decision once it has taken effect, with the SNR and the caller-audio time', () => {
    const r = new DenoiseReport('auto');
    const told = [
      r.frame(0, NaN), // no decision yet
      r.frame(decided | wanted, 8.04), // wanted, still warming up: not yet
      r.frame(decided | wanted | denoised, 8.06), // on
      r.frame(decided | wanted | denoised, 8.1),
      r.frame(decided, 22.3), // decided off, already bypassed
    ];
    expect(told).toEqual([null, null, { enabled: true, snrDb: 8.1, atMs: 60 }, null, { enabled: false, snrDb: 22.3, atMs: 100 }]);
    expect(r.snapshot()).toEqual({ mode: 'auto', enabled: false, snrDb: 22.3, decidedAtMs: 40, switches: 1, shedFrames: 0 });
  });

  it('counts frames that shed RNNoise under overload, and a shed is not a decision', () => {
    const r = new DenoiseReport(true);
    for (let i = 0; i < 3; i++) expect(r.frame(decided | wanted | denoised, 30)).toBeNull();
    for (let i = 0; i < 5; i++) expect(r.frame(decided | wanted | shed, 30)).toBeNull();
    expect(r.frame(decided | wanted | denoised, 30)).toBeNull();
    expect(r.snapshot()).toMatchObject({ mode: 'on', enabled: true, switches: 0, shedFrames: 5 });
    const a = new DenoiseReport('auto');
    a.frame(decided | wanted | denoised, 5);
    expect(a.frame(decided | wanted | shed, 5)).toBeNull();
    expect(a.frame(decided | wanted | denoised, 5)).toBeNull();
    expect(a.snapshot()).toMatchObject({ enabled: true, switches: 0, shedFrames: 1 });
  });
});
