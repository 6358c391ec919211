/** Public surface of the codecs library. It depends on nothing in gateway/. */
export * from './errors.js';
export * from './rtp.js';
export * from './rtcp.js';
export * from './seq.js';
export * from './telephoneEvent.js';
export * from './comfortNoise.js';
export * from './g711.js';
export * from './opus.js';
export * from './plc.js';
export * from './pcm.js';
export * from './resampler.js';
export * from './denoiser.js';
export * from './wav.js';
export * from './echoCanceller.js';
export * from './echoSuppressor.js';
export * from './fft.js';
export * from './bulkDelay.js';
