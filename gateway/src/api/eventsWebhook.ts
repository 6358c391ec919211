import http from 'node:http';
import https from 'node:https';
import type { DialGuard } from '../agent/dialGuard.js';
import { SIGNATURE_HEADER, signReport } from '../auth.js';
import { GatewayError, type GatewayErrorCode } from '../errors.js';
import { log } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { EventsSettings } from '../settings.js';

/** POSTs in flight at once, over all reports. */
const MAX_IN_FLIGHT = 8;

interface Job {
  url: string;
  callId: string;
  body: string;
  /** POSTs made so far */
  attempts: number;
}

/** What one POST came to. */
type Outcome = { ok: true } | { ok: false; retry: boolean; code: GatewayErrorCode; why: string };

/**
 * End-of-call reports to each route's `events.url`, off the call path: `send` only queues (a
 * bounded queue: EVENTS_QUEUE), a few POSTs run at once, each answer within EVENTS_TIMEOUT_MS.
 * A network error, a timeout, 408, 429 or 5xx is retried after EVENTS_RETRY_MS, then twice that,
 * and so on, up to EVENTS_MAX_ATTEMPTS POSTs; then the report is given up and counted. Other
 * answers are final: 2xx delivered; 3xx and other 4xx refused (WEBHOOK_REJECTED: redirects are not
 * followed, so a report goes only where the dial guard allowed). Every failure is counted in
 * /metrics (`gateway_drops_total{reason}`: WEBHOOK_FAILED, WEBHOOK_REJECTED, WEBHOOK_FORBIDDEN,
 * WEBHOOK_QUEUE_FULL) and logged.
 *
 * Each POST is signed like the dial-outs (auth.ts signReport: X-Gateway-Signature over the body,
 * with GATEWAY_AUTH_SECRET) and goes through the dial guard: loopback, private and metadata
 * addresses are refused unless DIAL_ALLOW opens them.
 */
export class EventsWebhook {
  readonly #s: EventsSettings;
  readonly #secret: string | null;
  readonly #guard: DialGuard;
  readonly #m: Metrics;
  readonly #ready: Job[] = [];
  /** reports waiting for their retry, by timer */
  readonly #waiting = new Map<NodeJS.Timeout, Job>();
  /** reports alive: ready, in flight or waiting to retry */
  #size = 0;
  #inFlight = 0;
  #closed = false;
  #idle: (() => void)[] = [];

  constructor(settings: EventsSettings, secret: string | null, guard: DialGuard, metrics: Metrics) {
    this.#s = settings;
    this.#secret = secret;
    this.#guard = guard;
    this.#m = metrics;
  }

  /** Reports not yet delivered or given up. */
  get pending(): number {
    return this.#size;
  }

  /** Queues a report for `url`. Never throws and never waits. */
  send(url: string, callId: string, report: unknown): void {
    if (this.#closed) return this.#giveUp({ url, callId, body: '', attempts: 0 }, 'WEBHOOK_FAILED', 'the gateway is shutting down');
    const job: Job = { url, callId, body: JSON.stringify(report), attempts: 0 };
    if (this.#size >= this.#s.queueLimit) return this.#giveUp(job, 'WEBHOOK_QUEUE_FULL', `${this.#size} reports queued (EVENTS_QUEUE)`);
    try {
      this.#guard.checkUrl(url);
    } catch (err) {
      return this.#giveUp(job, 'WEBHOOK_FORBIDDEN', (err as Error).message);
    }
    this.#size++;
    this.#ready.push(job);
    this.#pump();
  }

  /** Resolves once every report is delivered or given up, or after `timeoutMs` (a drain waits this long). */
  async settle(timeoutMs: number): Promise<void> {
    if (this.#size === 0) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      this.#idle.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  /** Stops: retries waiting are given up (counted as WEBHOOK_FAILED); POSTs in flight finish on their own. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const [t, job] of this.#waiting) {
      clearTimeout(t);
      this.#ready.push(job);
    }
    this.#waiting.clear();
    for (const job of this.#ready.splice(0)) this.#done(job, 'WEBHOOK_FAILED', 'the gateway shut down before it was delivered');
  }

  #pump(): void {
    while (this.#inFlight < MAX_IN_FLIGHT && this.#ready.length > 0) {
      const job = this.#ready.shift()!;
      this.#inFlight++;
      job.attempts++;
      void this.#post(job).then((outcome) => {
        this.#inFlight--;
        this.#settled(job, outcome);
        this.#pump();
      });
    }
  }

  #settled(job: Job, o: Outcome): void {
    if (o.ok) {
      this.#m.reports.inc({ result: 'delivered' });
      return this.#done(job, null, '');
    }
    if (!o.retry || job.attempts >= this.#s.maxAttempts || this.#closed) return this.#done(job, o.code, o.why);
    this.#m.reports.inc({ result: 'retried' });
    // Exponential backoff with ±10 % jitter, so reports failed together do not retry together.
    const wait = this.#s.retryMs * 2 ** (job.attempts - 1) * (0.9 + 0.2 * Math.random());
    log('info', 'report_retry', { callId: job.callId, attempt: job.attempts, inMs: Math.round(wait), why: o.why });
    const t = setTimeout(() => {
      this.#waiting.delete(t);
      this.#ready.push(job);
      this.#pump();
    }, wait);
    this.#waiting.set(t, job);
  }

  /** A report leaves the queue: delivered (code null) or given up. */
  #done(job: Job, code: GatewayErrorCode | null, why: string): void {
    this.#size--;
    if (code !== null) this.#giveUp(job, code, why);
    if (this.#size === 0) for (const w of this.#idle.splice(0)) w();
  }

  /** A report given up, by stable code: counted and logged. */
  #giveUp(job: Job, code: GatewayErrorCode, why: string): void {
    this.#m.reports.inc({ result: 'failed' });
    this.#m.drops.inc({ reason: code });
    log('warn', 'report_failed', { code, callId: job.callId, url: job.url, attempts: job.attempts, why });
  }

  /** One signed POST of the report. */
  #post(job: Job): Promise<Outcome> {
    const u = new URL(job.url);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'voice-gateway',
      'x-gateway-event': 'call.ended',
      'x-gateway-call-id': job.callId,
      'x-gateway-attempt': String(job.attempts),
    };
    if (this.#secret !== null) headers[SIGNATURE_HEADER] = signReport(this.#secret, job.url, job.body);
    return new Promise<Outcome>((resolve) => {
      const req = (u.protocol === 'https:' ? https : http).request(
        u,
        { method: 'POST', headers, lookup: this.#guard.lookup, signal: AbortSignal.timeout(this.#s.timeoutMs) },
        (res) => {
          res.resume(); // the answer's body is not needed; reading it frees the socket
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve({ ok: true });
          const retry = status === 408 || status === 429 || status >= 500;
          resolve({ ok: false, retry, code: retry ? 'WEBHOOK_FAILED' : 'WEBHOOK_REJECTED', why: `HTTP ${status}` });
        },
      );
      req.on('error', (err) => {
        if (err instanceof GatewayError && err.code === 'AGENT_URL_FORBIDDEN')
          return resolve({ ok: false, retry: false, code: 'WEBHOOK_FORBIDDEN', why: err.message });
        const why = err.name === 'TimeoutError' || err.name === 'AbortError' ? `no answer within ${this.#s.timeoutMs} ms` : err.message;
        resolve({ ok: false, retry: true, code: 'WEBHOOK_FAILED', why });
      });
      req.end(job.body);
    });
  }
}
