import { performance } from 'node:perf_hooks';
import type uWS from 'uWebSockets.js';
import type { Guard } from '../api/Guard.js';
import type { Call } from '../call/Call.js';
import type { CallRegistry } from '../call/CallRegistry.js';
import type { TimelineEvent } from '../call/CallTimeline.js';
import { reply, upgrader } from '../http.js';
import { LIVE_PAGE } from './page.js';

/** The feed's pub/sub topic (uWS): one message a second to every page, built once. */
const TOPIC = 'live';
/** How often the feed is published, ms. */
export const FEED_INTERVAL_MS = 1000;

/** One call as the live page shows it. */
export interface LiveCall {
  callId: string;
  from: string;
  to: string;
  codec: string;
  edge: string;
  startedAt: string;
  durationMs: number;
  /** peak levels over the last second, dBFS (−100: silence): caller as received, agent as played */
  levels: { caller: number; agent: number };
  /** timeline events not sent before (all of them in a page's first message); `atMs` on the call clock */
  events: TimelineEvent[];
  quality: ReturnType<Call['record']['quality']['report']>;
}

export interface LiveMessage {
  type: 'calls';
  /** true: the page's first message (every call with its whole timeline) */
  full: boolean;
  /** every live call (a call missing from a message has ended) */
  calls: LiveCall[];
}

/**
 * The live call page (`GET /ui`) and its feed (`/ui/feed`, a WebSocket). The feed samples what
 * each call already keeps (its timeline, the meters' peaks, its quality figures) once a second and
 * publishes one message to every page: nothing is done per packet, and nothing at all while no
 * page is open. The page is static and holds no data; the feed is authorised like the API (with
 * GATEWAY_AUTH_SECRET, the page carries its `?token=` to the WebSocket).
 */
export class LiveFeed {
  readonly #registry: CallRegistry;
  readonly #now: () => number;
  #app: uWS.TemplatedApp | null = null;
  #timer: NodeJS.Timeout | null = null;
  /** per call, the last timeline event published */
  readonly #sent = new Map<string, number>();

  constructor(registry: CallRegistry, now: () => number = () => performance.now()) {
    this.#registry = registry;
    this.#now = now;
  }

  /** Serves the page and the feed on `app`, and starts publishing. */
  routes(app: uWS.TemplatedApp, guard: Guard): void {
    this.#app = app;
    app.get('/ui', (res) => {
      const r = reply(res);
      res.cork(() => {
        if (r.aborted) return;
        res
          .writeStatus('200 OK')
          .writeHeader('content-type', 'text/html; charset=utf-8')
          .writeHeader('cache-control', 'no-store')
          // The page runs its own inline script and talks only to this origin.
          .writeHeader(
            'content-security-policy',
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:",
          )
          .end(LIVE_PAGE);
      });
    });
    app.ws<{ open: boolean }>('/ui/feed', {
      idleTimeout: 60,
      maxPayloadLength: 1024,
      maxBackpressure: 1024 * 1024,
      upgrade: (res, req, context) => {
        const upgrade = upgrader(res, req, context);
        guard.authorized(reply(res), req, () => upgrade({ open: true }));
      },
      open: (ws) => {
        ws.subscribe(TOPIC);
        ws.send(JSON.stringify(this.message(true)), false);
      },
      // The page sends nothing; whatever it sends is ignored.
      message: () => {},
      close: (ws) => {
        ws.getUserData().open = false;
      },
    });
    this.#timer = setInterval(() => {
      this.publish();
    }, FEED_INTERVAL_MS);
    this.#timer.unref();
  }

  /** Publishes the second's message to every page (skipped while none is open). */
  publish(): void {
    const app = this.#app;
    if (app === null || app.numSubscribers(TOPIC) === 0) return;
    app.publish(TOPIC, JSON.stringify(this.message(false)), false);
  }

  /** The feed message now: every call's changes since the last one, or (`full`) everything. */
  message(full: boolean): LiveMessage {
    const now = this.#now();
    const calls: LiveCall[] = [];
    const live = new Set<string>();
    for (const call of this.#registry.all()) {
      live.add(call.id);
      const rec = call.record;
      const since = full ? 0 : (this.#sent.get(call.id) ?? 0);
      if (!full) this.#sent.set(call.id, rec.timeline.seq);
      calls.push({
        callId: call.id,
        from: call.from,
        to: call.to,
        codec: call.codec,
        edge: call.edge.kind,
        startedAt: new Date(call.createdAt).toISOString(),
        durationMs: Math.round(now - rec.t0),
        // A page's first message must not take the peak the next shared one shows.
        levels: {
          caller: round1(full ? -100 : rec.timeline.takeCallerPeakDb()),
          agent: round1(call.monitor.agentPeakDb(now, FEED_INTERVAL_MS)),
        },
        events: rec.timeline.since(since),
        quality: rec.quality.report(),
      });
    }
    if (!full) for (const id of this.#sent.keys()) if (!live.has(id)) this.#sent.delete(id);
    return { type: 'calls', full, calls };
  }

  close(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#app = null;
  }
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
