import WebSocket from 'ws';
import { Rows, type ProbeResult } from './report.js';
import { mintToken, Target, type Checkout } from './target.js';

const LIFETIME_S = 3600;

/** Opens a WebSocket; resolves 101 when it upgraded (then closes it), else the HTTP status that refused it. */
function upgrade(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
    });
    ws.once('error', () => resolve(0));
  });
}

const statusOf = async (url: string, init: RequestInit) => (await fetch(url, init)).status;

/** The tokens finding 7 is about, and two controls. */
async function tokens(): Promise<[string, string][]> {
  return [
    ['exp 5 min (control)', await mintToken({ expSeconds: 300 })],
    ['no exp', await mintToken({ expSeconds: null })],
    ['no exp, no iat', await mintToken({ expSeconds: null, noIat: true })],
    [`exp 2 days (> ${LIFETIME_S} s)`, await mintToken({ expSeconds: 2 * 86_400 })],
    ['expired 1 h ago (control)', await mintToken({ expSeconds: 3600, iatOffsetS: -7200 })],
  ];
}

/**
 * Finding 7: which JWTs open the API, with AUTH_MAX_TOKEN_LIFETIME_S set and without; and where a
 * valid JWT is taken as the Basic password (only the Twilio-compatible hang-up should take it).
 */
export async function authProbes(co: Checkout): Promise<ProbeResult[]> {
  const lifetime = new Rows();
  const supported = co.knows('AUTH_MAX_TOKEN_LIFETIME_S');
  for (const max of [String(LIFETIME_S), '']) {
    const t = await Target.start(co, { AUTH_MAX_TOKEN_LIFETIME_S: max });
    try {
      const setting = max === '' ? 'no maximum lifetime' : `AUTH_MAX_TOKEN_LIFETIME_S=${max}`;
      for (const [name, tok] of await tokens()) {
        const status = await statusOf(`${t.url}/v1/calls`, { headers: { authorization: `Bearer ${tok}` } });
        const note = max !== '' && !supported ? ' (setting not supported: ignored)' : '';
        lifetime.add(`${setting}, token ${name}: GET /v1/calls`, `${status}${note}`);
      }
    } finally {
      await t.stop();
    }
  }

  const basic = new Rows();
  const t = await Target.start(co);
  try {
    const tok = await mintToken();
    const account = 'AC00000000000000000000000000000000';
    const h = { authorization: `Basic ${Buffer.from(`${account}:${tok}`).toString('base64')}` };
    const json = { ...h, 'content-type': 'application/json' };
    const call = async () => {
      const r = await t.api('POST', '/v1/calls', { codec: 'PCMU', route: { agent: { url: 'builtin:echo' } } });
      return r.json['callId'] as string;
    };
    const ws = t.url.replace(/^http/, 'ws');
    basic.add('POST /v1/calls (create)', await statusOf(`${t.url}/v1/calls`, { method: 'POST', headers: json, body: '{"codec":"PCMU"}' }));
    basic.add('GET /v1/calls (list)', await statusOf(`${t.url}/v1/calls`, { headers: h }));
    const id = await call();
    basic.add('GET /v1/calls/{id}', await statusOf(`${t.url}/v1/calls/${id}`, { headers: h }));
    basic.add('DELETE /v1/calls/{id}', await statusOf(`${t.url}/v1/calls/${id}`, { method: 'DELETE', headers: h }));
    basic.add('WebSocket /v1/edge (upgrade)', await upgrade(`${ws}/v1/edge`, h));
    const dialIn = await t.api('POST', '/v1/calls', { codec: 'PCMU', route: { agent: { url: 'dial-in' } } });
    basic.add('WebSocket /v1/calls/{id}/agent (dial-in)', await upgrade(`${ws}/v1/calls/${String(dialIn.json['callId'])}/agent`, h));
    // The Twilio-compatible hang-up: CallSid = 'CA' + the call id's 32 hex digits (the Twilio dialect's rule).
    const sid = `CA${(await call()).replace(/-/g, '')}`;
    const hangup = `${t.url}/2010-04-01/Accounts/${account}/Calls/${sid}.json`;
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    basic.add(
      'Twilio hang-up, no credentials (control)',
      await statusOf(hangup, { method: 'POST', headers: form, body: 'Status=completed' }),
    );
    basic.add(
      'Twilio hang-up POST …/Calls/{CallSid}.json',
      await statusOf(hangup, { method: 'POST', headers: { ...form, ...h }, body: 'Status=completed' }),
    );
  } finally {
    await t.stop();
  }
  return [
    lifetime.result('7', 'JWT lifetime: which tokens open GET /v1/calls (HTTP status)'),
    basic.result('7-basic', 'a valid JWT as the Basic password (Twilio-style AccountSid:AuthToken): HTTP status per route'),
  ];
}
