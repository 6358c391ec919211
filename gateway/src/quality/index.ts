/** Per-call quality: RFC 3550 reception statistics, RTCP round trip, E-model scores, latency histograms. */
export * from './ReceiverStats.js';
export * from './roundTrip.js';
export * from './eModel.js';
export * from './LatencyHistogram.js';
