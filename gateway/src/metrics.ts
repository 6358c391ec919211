import client from 'prom-client';

/**
 * Every metric of the gateway, in one registry. Labels are bounded (direction, transport,
 * reason, codec); never a call id.
 */
export class Metrics {
  readonly registry = new client.Registry();
  readonly callsActive = new client.Gauge({ name: 'gateway_calls_active', help: 'Calls in progress', registers: [this.registry] });
  readonly callsTotal = new client.Counter({
    name: 'gateway_calls_total',
    help: 'Calls started',
    labelNames: ['transport'] as const,
    registers: [this.registry],
  });
  readonly packets = new client.Counter({
    name: 'gateway_rtp_packets_total',
    help: 'RTP packets by direction (in from the edge, out to the edge)',
    labelNames: ['direction'] as const,
    registers: [this.registry],
  });
  readonly agentFrames = new client.Counter({
    name: 'gateway_agent_frames_total',
    help: 'Audio frames to (out) and audio messages from (in) agents',
    labelNames: ['direction'] as const,
    registers: [this.registry],
  });
  readonly drops = new client.Counter({
    name: 'gateway_drops_total',
    help: 'Packets, frames or messages dropped, by reason (the stable error code)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly rejected = new client.Counter({
    name: 'gateway_requests_rejected_total',
    help: 'Requests refused before a call existed, by error code (UNAUTHORIZED, AT_CAPACITY, RATE_LIMITED, DRAINING, BAD_REQUEST, …)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly agentFailovers = new client.Counter({
    name: 'gateway_agent_failovers_total',
    help: 'Agents dialled again (retry) or replaced (fallback) after failing, by the failure code',
    labelNames: ['reason', 'to'] as const,
    registers: [this.registry],
  });
  readonly bargeIns = new client.Counter({
    name: 'gateway_barge_ins_total',
    help: 'Barge-ins decided (caller talking over the agent), by whether the gateway cleared the agent audio itself',
    labelNames: ['cleared'] as const,
    registers: [this.registry],
  });
  readonly bargeInDucks = new client.Counter({
    name: 'gateway_bargein_ducks_total',
    help: 'Agent playout ducked on early evidence of an interruption, by outcome: resumed (a backchannel, cough or noise: full volume again, nothing dropped) or barge_in (confirmed)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly concealed = new client.Counter({
    name: 'gateway_concealed_frames_total',
    help: 'Inbound 20 ms frames synthesised by loss concealment',
    registers: [this.registry],
  });
  readonly underruns = new client.Counter({
    name: 'gateway_playout_underruns_total',
    help: 'Ticks where agent audio was playing but the queue ran dry before the frame was full',
    registers: [this.registry],
  });
  readonly queueDepth = new client.Histogram({
    name: 'gateway_playout_queue_seconds',
    help: 'Playout queue depth (seconds of agent audio) sampled once per second per call',
    buckets: [0, 0.02, 0.06, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly inboundLatency = new client.Histogram({
    name: 'gateway_inbound_processing_seconds',
    help: 'RTP packet received → its 20 ms frame written to the agent socket (gateway-added, excluding algorithmic delay)',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly outboundLatency = new client.Histogram({
    name: 'gateway_outbound_queue_seconds',
    help: 'Agent audio received → first RTP packet carrying it sent (queueing plus pacing)',
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [this.registry],
  });
  readonly tickLateness = new client.Histogram({
    name: 'gateway_playout_tick_lateness_seconds',
    help: 'How late the shared 20 ms playout tick fired relative to its schedule (the event-loop lag that matters for media)',
    buckets: [0.00025, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.05, 0.1],
    registers: [this.registry],
  });
  readonly slotsSkipped = new client.Counter({
    name: 'gateway_playout_slots_skipped_total',
    help: "20 ms playout slots skipped after a stall of the event loop too long to catch up: every call's RTP timestamps jump by as many",
    registers: [this.registry],
  });

  readonly callMos = new client.Histogram({
    name: 'gateway_call_mos',
    help: 'Per-call MOS at call end, by direction (in: caller to gateway; out: gateway to caller, from RTCP) and model (g107, rtpengine)',
    labelNames: ['direction', 'model'] as const,
    buckets: [1, 1.5, 2, 2.5, 3, 3.25, 3.5, 3.75, 4, 4.1, 4.2, 4.3, 4.4, 4.5],
    registers: [this.registry],
  });
  readonly callLoss = new client.Histogram({
    name: 'gateway_call_loss_ratio',
    help: 'Per-call RTP packet loss at call end (RFC 3550 A.3), by direction',
    labelNames: ['direction'] as const,
    buckets: [0, 0.001, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.5],
    registers: [this.registry],
  });
  readonly callJitter = new client.Histogram({
    name: 'gateway_call_jitter_seconds',
    help: 'Per-call mean interarrival jitter at call end (RFC 3550 A.8), by direction',
    labelNames: ['direction'] as const,
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.5],
    registers: [this.registry],
  });
  readonly recordingBytes = new client.Counter({
    name: 'gateway_recording_bytes_total',
    help: 'Bytes of call recordings written (failures are drops RECORDING_FAILED / RECORDING_BACKLOG)',
    registers: [this.registry],
  });
  readonly reports = new client.Counter({
    name: 'gateway_call_reports_total',
    help: 'End-of-call reports by outcome: delivered, retried (one per retry), failed (given up; drops by WEBHOOK_* code)',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly rtcpPackets = new client.Counter({
    name: 'gateway_rtcp_packets_total',
    help: 'RTCP compound packets received on RTP edges (RFC 5761: told apart from RTP on the same port)',
    registers: [this.registry],
  });
  readonly dspWorkerRestarts = new client.Counter({
    name: 'gateway_dsp_worker_restarts_total',
    help: 'DSP worker threads that died and were replaced (their calls re-attached; see drops DSP_WORKER_RESTARTED)',
    registers: [this.registry],
  });

  readonly dspShed = new client.Counter({
    name: 'gateway_dsp_shed_frames_total',
    help: 'Frames sent to agents with RNNoise bypassed (resampling only, same delay) because their DSP fell behind',
    registers: [this.registry],
  });
  readonly load = new client.Gauge({
    name: 'gateway_load_ratio',
    help: 'Measured busy fraction over the last second (main event loop, least busy DSP worker, all threads over the cores), which admission compares with ADMIT_MAX_LOAD',
    labelNames: ['thread'] as const,
    registers: [this.registry],
  });
  readonly denoiseSwitches = new client.Counter({
    name: 'gateway_denoise_switches_total',
    help: 'denoise "auto" decisions taking effect (RNNoise turned on or off for a call), by the new state',
    labelNames: ['enabled'] as const,
    registers: [this.registry],
  });

  /**
   * The speech model's inferences and the 32 ms chunks they carried (SileroModel.batches: the
   * process's model, which every gateway in it shares), read at each scrape.
   */
  vadBatches: () => { runs: number; rows: number } = () => ({ runs: 0, rows: 0 });
  readonly vadInferences = this.#fromVadBatches(
    'gateway_vad_inferences_total',
    'Silero VAD inferences run; each carries the 32 ms chunks then waiting, one per call, up to 32 (gateway_vad_chunks_total over this: the mean batch)',
    'runs',
  );
  readonly vadChunks = this.#fromVadBatches(
    'gateway_vad_chunks_total',
    "Calls' 32 ms chunks of audio judged by Silero VAD (a chunk skipped because inference fell behind is a drop VAD_OVERLOAD)",
    'rows',
  );
  #fromVadBatches(name: string, help: string, key: 'runs' | 'rows'): client.Counter {
    const read = () => this.vadBatches()[key];
    return new client.Counter({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  }

  /** where worker memory comes from (the DSP pool, once started) */
  workerStats: () => Promise<{ heapUsed: number; external: number; wasm: number }[]> = () => Promise.resolve([]);
  readonly workerMemory = new client.Gauge({
    name: 'gateway_dsp_worker_memory_bytes',
    help: 'Memory of each DSP worker thread: V8 heap used, external (ArrayBuffer) and WASM linear memory',
    labelNames: ['worker', 'kind'] as const,
    registers: [this.registry],
    collect: async () => {
      const stats = await this.workerStats();
      stats.forEach((st, i) => {
        for (const kind of ['heapUsed', 'external', 'wasm'] as const) this.workerMemory.set({ worker: String(i), kind }, st[kind]);
      });
    },
  });

  constructor() {
    client.collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 10 });
  }
}
