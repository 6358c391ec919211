import type uWS from 'uWebSockets.js';
import { Auth } from '../auth.js';
import { GatewayError } from '../errors.js';
import { sendError, type Reply } from '../http.js';
import type { Metrics } from '../metrics.js';

/**
 * Who may use the API and the edges: with a secret set, a JWT on every request that creates,
 * inspects or attaches to a call. Refusals are answered with their stable code and counted.
 */
export class Guard {
  readonly #auth: Auth | null;
  readonly #m: Metrics;

  constructor(secret: string | null, metrics: Metrics, maxTokenLifetimeS: number | null = null) {
    this.#auth = secret === null ? null : new Auth(secret, maxTokenLifetimeS);
    this.#m = metrics;
  }

  /** Resolves when a request with these credentials may proceed; rejects with UNAUTHORIZED. `basic`: the token may come as a Basic password. */
  verify(authorization: string, query: string, basic = false): Promise<void> {
    return this.#auth === null ? Promise.resolve() : this.#auth.verify(Auth.tokenOf(authorization, query, basic));
  }

  /**
   * Runs `then` once the request is authorised: at once when no secret is set, else after its JWT
   * verified (the token is read now: uWS request objects die when the handler returns). A refusal
   * answers 401 and is counted.
   */
  authorized(r: Reply, req: uWS.HttpRequest, then: (r: Reply) => void, opts: { basic?: boolean } = {}): void {
    if (this.#auth === null) return then(r);
    this.verify(req.getHeader('authorization'), req.getQuery(), opts.basic === true).then(
      () => {
        if (!r.aborted) r.res.cork(() => then(r));
      },
      (err: unknown) => {
        this.refuse(r, err);
      },
    );
  }

  /** Answers an error, counting refusals (401, 429, 503) by code. */
  refuse(r: Reply, err: unknown): void {
    if (err instanceof GatewayError) this.#m.rejected.inc({ reason: err.code });
    sendError(r, err);
  }

  /** Counts a refusal answered some other way (a WebSocket close). */
  count(err: GatewayError): void {
    this.#m.rejected.inc({ reason: err.code });
  }
}
