import type { Call } from './Call.js';

/** A call's live stats, as the API shows them (GET /v1/calls/{id}). */
export function callSnapshot(call: Call): Record<string, unknown> {
  const s = call.inbound.stats;
  return {
    callId: call.id,
    state: call.state,
    from: call.from,
    to: call.to,
    codec: call.codec,
    transport: call.edge.kind,
    params: call.route.params,
    agent: {
      url: call.route.agent.url,
      dialect: call.route.agent.dialect,
      sampleRate: call.route.sampleRate,
      ...(call.route.outputRate !== undefined ? { outputRate: call.route.outputRate } : {}),
      // why the last agent failed (a service's own error text; keys masked), if one did
      ...(call.stats.agentError !== null ? { lastError: call.stats.agentError } : {}),
    },
    startedAt: new Date(call.createdAt).toISOString(),
    packets: {
      in: s.packetsIn,
      out: call.stats.packetsOut,
      lost: s.lost,
      late: s.late,
      duplicate: s.duplicate,
      dropped: call.stats.dropped,
    },
    lossRate: s.packetsIn + s.lost > 0 ? s.lost / (s.packetsIn + s.lost) : 0,
    jitterMs: Math.round(100 * call.inbound.jitterMs) / 100,
    framesToAgent: call.stats.framesToAgent,
    concealedFrames: s.concealed,
    dspRestarts: call.stats.dspRestarts,
    denoise: call.inbound.denoise.snapshot(),
    playout: { queuedMs: Math.round(call.playout.queuedMs), playing: call.playout.playing, packetsSent: call.playout.framesSent },
    speaking: call.monitor.speaking,
    bargeIn: { ducks: call.monitor.ducks, vadChunksSkipped: call.monitor.vadChunksSkipped },
    delayMs: { inbound: Math.round(call.inbound.delayMs * 100) / 100, outbound: Math.round(call.playout.delayMs * 100) / 100 },
    quality: call.record.quality.report(),
    recording:
      call.record.recorder === null
        ? null
        : (call.record.recording ?? { url: `/v1/calls/${call.id}/recording`, state: call.state === 'active' ? 'recording' : 'finishing' }),
  };
}
