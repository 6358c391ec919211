import { SileroModel } from './media/SileroModel.js';
import { performance } from 'node:perf_hooks';
import os from 'node:os';
import uWS from 'uWebSockets.js';
import { loadDenoiserModule, loadResamplerModule } from '../../codecs/src/index.js';
import { AgentSupervisor } from './agent/AgentSupervisor.js';
import { dialInRoute } from './agent/dialInRoute.js';
import { DialGuard } from './agent/dialGuard.js';
import { EventsWebhook } from './api/eventsWebhook.js';
import { Guard } from './api/Guard.js';
import { recordingRoutes } from './api/recordingRoute.js';
import { apiRoutes } from './api/routes.js';
import type { Call } from './call/Call.js';
import { CallRegistry } from './call/CallRegistry.js';
import { Headroom, SAMPLE_MS } from './call/Headroom.js';
import { RecordingStore } from './call/RecordingStore.js';
import type { Settings } from './settings.js';
import { rtpEdgeRoutes } from './edge/edgeRoutes.js';
import { SipService } from './edge/sip/SipService.js';
import { startWsEdgeServer, type WsEdgeServer } from './edge/wsEdgeServer.js';
import { startAudioSocketServer, type AudioSocketServer } from './edge/streams/audioSocketServer.js';
import { platformRoutes } from './edge/streams/platformRoutes.js';
import { loadPlatformSettings } from './edge/streams/platformSettings.js';
import { log } from './log.js';
import { DspPool } from './media/DspPool.js';
import { PlayoutClock } from './media/PlayoutClock.js';
import { Metrics } from './metrics.js';
import { LiveFeed } from './ui/liveFeed.js';

/**
 * The composition root of a running gateway: builds the parts and ties them together, starts and
 * stops them. One uWS app (API, edges, dial-in agents), the call registry, the agent supervisor,
 * one playout clock for every call, the DSP worker pool, metrics. `close()` ends everything.
 */
export class Gateway {
  readonly settings: Settings;
  readonly metrics = new Metrics();
  readonly calls: CallRegistry;
  /** call recordings (RECORDINGS_DIR) and their retention */
  readonly recordings: RecordingStore;
  /** end-of-call reports to routes' `events.url` */
  readonly reports: EventsWebhook;
  readonly #live: LiveFeed;
  /** calls' records still finishing (recordings being closed, reports not yet queued) */
  readonly #finishing = new Set<Promise<void>>();
  readonly #guard: Guard;
  /** Where dial-outs may go (DIAL_ALLOW): agent and fallback URLs, report webhooks, SIP dial-outs, RTP remotes. */
  readonly #dialGuard: DialGuard;
  readonly #clock: PlayoutClock<Call>;
  readonly #agents: AgentSupervisor;
  #pool: DspPool | null = null;
  #listen: uWS.us_listen_socket | null = null;
  #wsEdge: WsEdgeServer | null = null;
  /** the SIP endpoint (trunks), when SIP is on */
  sip: SipService | null = null;
  #housekeeping: NodeJS.Timeout | null = null;
  #loadSampling: NodeJS.Timeout | null = null;
  /** the AudioSocket server (AUDIOSOCKET_PORT), when on */
  audioSocket: AudioSocketServer | null = null;
  /** port of the `ws` edge server when EDGE_WS_SERVER=ws (bench comparison), else 0 */
  wsEdgePort = 0;
  port = 0;

  constructor(settings: Settings) {
    this.settings = settings;
    this.#guard = new Guard(settings.authSecret, this.metrics, settings.maxTokenLifetimeS);
    this.#clock = new PlayoutClock<Call>(
      (ms, skipped) => {
        this.metrics.tickLateness.observe(Math.max(0, ms) / 1000);
        if (skipped > 0) this.metrics.slotsSkipped.inc(skipped);
      },
      (call, err) => {
        // A failing call must not stop the clock for the others.
        log('error', 'call_failed', { callId: call.id, error: String(err) });
        call.close('error');
      },
    );
    this.#dialGuard = new DialGuard(settings.dialAllow);
    this.#agents = new AgentSupervisor(settings, this.metrics, this.#dialGuard);
    this.calls = new CallRegistry(settings, this.metrics, this.#clock, this.#agents);
    this.recordings = new RecordingStore(settings.recordings, this.metrics);
    this.reports = new EventsWebhook(settings.events, settings.authSecret, this.#dialGuard, this.metrics);
    this.#live = new LiveFeed(this.calls);
  }

  /** The DSP worker pool (once started). */
  get dspPool(): DspPool | null {
    return this.#pool;
  }

  /** Loads the DSP modules and starts listening. Resolves with the bound port. */
  async start(): Promise<number> {
    const s = this.settings;
    const [speex, rnnoise, vad] = await Promise.all([loadResamplerModule(), loadDenoiserModule(), SileroModel.load()]);
    const pool = await DspPool.create(
      { speex, rnnoise },
      s.dspWorkers,
      {
        workerDied: (index, error, chains) => {
          this.metrics.dspWorkerRestarts.inc();
          log('error', 'dsp_worker_died', { worker: index, error, calls: chains });
        },
      },
      s.dspDeadlineMs,
    );
    this.#pool = pool;
    this.metrics.workerStats = () => pool.stats();
    if (vad !== null) this.metrics.vadBatches = () => vad.batches;
    // Admission by measured headroom; availableParallelism() honours the CPU affinity (taskset).
    const headroom = new Headroom(pool.workers > 0 ? pool : null, { maxLoad: s.admitMaxLoad, cores: os.availableParallelism() });
    this.calls.headroom = headroom;
    this.#loadSampling = setInterval(() => {
      headroom.sample();
      for (const [thread, v] of Object.entries(headroom.load)) this.metrics.load.set({ thread }, v);
    }, SAMPLE_MS);
    this.#loadSampling.unref();
    this.calls.callDeps = {
      metrics: this.metrics,
      dspPool: pool,
      speex,
      resampleQuality: s.resampleQuality,
      playoutMaxSeconds: s.playoutMaxSeconds,
      vad,
      record: { recordings: this.recordings, reports: this.reports, finishing: this.#finishing },
    };
    const app = s.tls === null ? uWS.App() : uWS.SSLApp({ cert_file_name: s.tls.certFile, key_file_name: s.tls.keyFile });
    const edges = { registry: this.calls, routing: s.routing, metrics: this.metrics, rtpPacketsPerSecond: s.rtpPacketsPerSecond };
    const dialGuard = this.#dialGuard;
    rtpEdgeRoutes(app, {
      ...edges,
      guard: this.#guard,
      rtpBindHost: s.rtpBindHost,
      rtpPublicHost: s.rtpPublicHost,
      sip: () => this.sip,
      dialGuard,
    });
    dialInRoute(app, this.#agents, this.#guard, this.metrics);
    const platforms = { ...edges, guard: this.#guard, settings: loadPlatformSettings(process.env), tls: s.tls !== null };
    platformRoutes(app, platforms);
    recordingRoutes(app, this.calls, this.recordings, this.#guard, s);
    this.#live.routes(app, this.#guard);
    apiRoutes(app, this.calls, this.#guard, this.metrics, s);
    this.port = await new Promise<number>((resolve, reject) => {
      app.listen(s.host, s.port, (token) => {
        if (!token) return reject(new Error(`cannot listen on ${s.host}:${s.port}`));
        this.#listen = token;
        resolve(uWS.us_socket_local_port(token));
      });
    });
    if (s.edgeWsServer === 'ws') {
      this.#wsEdge = await startWsEdgeServer(s.host, 0, this.#guard, edges);
      this.wsEdgePort = this.#wsEdge.port;
    }
    if (s.sip !== null) this.sip = await SipService.start({ ...edges, rtpBindHost: s.rtpBindHost, sip: s.sip, tls: s.tls, dialGuard });
    this.audioSocket = await startAudioSocketServer(platforms);
    this.#housekeeping = setInterval(() => {
      this.calls.housekeep();
      this.recordings.maybeSweep(Date.now());
    }, 1000);
    log('info', 'gateway_started', {
      port: this.port,
      dspWorkers: pool.workers,
      wsEdgePort: this.wsEdgePort,
      sip: this.sip?.addresses ?? null,
    });
    return this.port;
  }

  /** Stops taking calls; live calls may finish for up to `timeoutMs`, then are ended. */
  async drain(timeoutMs = this.settings.drainTimeoutMs): Promise<void> {
    this.calls.stopAdmitting();
    log('info', 'drain_started', { calls: this.calls.size, timeoutMs });
    const deadline = performance.now() + timeoutMs;
    while (this.calls.size > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    // The last calls' recordings are finished and their reports get what is left of the drain
    // time (at least a second) to go out.
    this.calls.closeAll();
    const left = () => Math.max(1000, deadline - performance.now());
    await Promise.race([Promise.all(this.#finishing), new Promise((r) => setTimeout(r, left()))]);
    await this.reports.settle(left());
    await this.close();
  }

  /** Ends every call and stops listening. Idempotent. */
  async close(): Promise<void> {
    this.calls.closeAll();
    this.#live.close();
    this.reports.close();
    if (this.#listen !== null) {
      uWS.us_listen_socket_close(this.#listen);
      this.#listen = null;
    }
    await this.#wsEdge?.close();
    this.#wsEdge = null;
    await this.sip?.close();
    this.sip = null;
    await this.audioSocket?.close();
    this.audioSocket = null;
    if (this.#housekeeping !== null) clearInterval(this.#housekeeping);
    this.#housekeeping = null;
    if (this.#loadSampling !== null) clearInterval(this.#loadSampling);
    this.#loadSampling = null;
    this.#clock.stop();
    await this.#pool?.close();
    this.#pool = null;
    log('info', 'gateway_stopped');
  }
}
