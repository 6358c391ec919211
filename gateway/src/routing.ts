import { readFileSync } from 'node:fs';
import { ECHO_ROUTE, fail, isObject, parseRoute, type Route } from './route.js';
import { toE164 } from './e164.js';

/**
 * Routing config (file named by GATEWAY_CONFIG):
 *   { "numbers": { "+14155550100": Route, "+4420*": Route }, "default": Route }
 * A key ending in '*' is a prefix; the longest matching prefix wins, exact numbers first.
 */
export class RoutingTable {
  readonly #exact = new Map<string, Route>();
  readonly #prefixes: [string, Route][] = [];
  readonly #default: Route;
  /** a default was configured, or nothing was (then every call gets the built-in echo agent) */
  readonly #catchAll: boolean;

  constructor(raw: unknown) {
    if (!isObject(raw)) fail('config', 'must be a JSON object');
    const numbers = raw['numbers'] ?? {};
    if (!isObject(numbers)) fail('config.numbers', 'must map E.164 numbers (or prefixes ending in *) to routes');
    for (const [key, route] of Object.entries(numbers)) {
      const field = `config.numbers[${JSON.stringify(key)}]`;
      const prefix = key.endsWith('*');
      const digits = prefix ? key.slice(0, -1) : key;
      let norm: string;
      if (prefix) {
        if (!/^\+?[0-9]{1,15}$/.test(digits.replace(/[\s-]/g, ''))) fail(field, 'prefix must be + and digits, then *');
        norm = digits.startsWith('+') ? digits : '+' + digits;
      } else {
        try {
          norm = toE164(digits);
        } catch (err) {
          fail(field, (err as Error).message);
        }
      }
      const r = parseRoute(route, field);
      if (prefix) this.#prefixes.push([norm, r]);
      else this.#exact.set(norm, r);
    }
    this.#prefixes.sort((a, b) => b[0].length - a[0].length);
    this.#default = raw['default'] === undefined ? ECHO_ROUTE : parseRoute(raw['default'], 'config.default');
    this.#catchAll = raw['default'] !== undefined || (this.#exact.size === 0 && this.#prefixes.length === 0);
  }

  /** The route for a called number (already E.164), or the default. */
  lookup(to: string | undefined): Route {
    if (to === undefined) return this.#default;
    const exact = this.#exact.get(to);
    if (exact) return exact;
    for (const [p, r] of this.#prefixes) if (to.startsWith(p)) return r;
    return this.#default;
  }

  /**
   * The route for a called number, or null when no number or prefix matches and no default is
   * configured (a SIP INVITE is then answered 404).
   */
  find(to: string): Route | null {
    const r = this.lookup(to);
    return r !== this.#default || this.#catchAll ? r : null;
  }

  static fromFile(path: string): RoutingTable {
    return new RoutingTable(readConfigFile(path));
  }
}

/** The JSON of the config file named by GATEWAY_CONFIG (routing, and optionally `auth.secret`). */
export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    fail('GATEWAY_CONFIG', `cannot read ${path}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    fail('GATEWAY_CONFIG', `${path} is not JSON: ${(err as Error).message}`);
  }
  if (!isObject(json)) fail('config', 'must be a JSON object');
  return json;
}
