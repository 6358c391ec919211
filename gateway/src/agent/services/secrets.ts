import { GatewayError } from '../../errors.js';
import { PLACEHOLDER } from './options.js';

/**
 * `${NAME}` placeholders in a route's agent URL and headers (and its tool webhook's headers),
 * filled from the gateway's own environment at dial time: API keys stay in the gateway's
 * environment, never pass through the call API, and never appear in logs or in the route as the
 * API shows it (the route keeps the placeholder; only the dial sees the value).
 *
 * Which variables a route may name: those in AGENT_ENV_ALLOW (comma-separated), or without it
 * any name ending in `_API_KEY`. A route comes from whoever may create calls; the gateway's own
 * secrets (GATEWAY_AUTH_SECRET, SIP_DIGEST_SECRET…) are never sent, whatever the list says.
 */
const NEVER = new Set(['GATEWAY_AUTH_SECRET', 'SIP_DIGEST_SECRET', 'TLS_KEY_FILE']);

function allowed(name: string, env: NodeJS.ProcessEnv): boolean {
  if (NEVER.has(name)) return false;
  const list = env['AGENT_ENV_ALLOW'];
  if (list === undefined || list.trim() === '') return name.endsWith('_API_KEY');
  return list.split(',').some((n) => n.trim() === name);
}

/** What filling placeholders produced: the values, and every secret put in (for `redact`). */
export class Secrets {
  readonly #values = new Set<string>();
  readonly #env: NodeJS.ProcessEnv;

  constructor(env: NodeJS.ProcessEnv = process.env) {
    this.#env = env;
  }

  /**
   * `text` with each placeholder replaced by its variable's value.
   * @throws {GatewayError} AGENT_UNREACHABLE naming the variable (never its value) when it is not allowed or not set
   */
  fill(text: string, where: string): string {
    return text.replace(PLACEHOLDER, (_m, name: string) => {
      if (!allowed(name, this.#env))
        throw new GatewayError('AGENT_UNREACHABLE', `${where} names \${${name}}, which AGENT_ENV_ALLOW does not allow`);
      const v = this.#env[name];
      if (v === undefined || v === '') throw new GatewayError('AGENT_UNREACHABLE', `${where} names \${${name}}, which is not set`);
      if (v.length >= 4) this.#values.add(v);
      return v;
    });
  }

  /** Every header value filled. */
  headers(h: Readonly<Record<string, string>>, where: string): Record<string, string> {
    return Object.fromEntries(Object.entries(h).map(([k, v]) => [k, this.fill(v, `${where} header ${k}`)]));
  }

  /** `text` with every secret filled so far masked, for anything logged or shown (a service may quote a header back). */
  redact(text: string): string {
    let out = text;
    for (const v of this.#values) out = out.split(v).join('***');
    return out;
  }
}
