import { describe, expect, it } from 'vitest';
import { PlayedItems } from '../../gateway/src/agent/services/PlayedItems.js';
import { Secrets } from '../../gateway/src/agent/services/secrets.js';
import { GatewayError } from '../../gateway/src/errors.js';
import { parseRoute } from '../../gateway/src/route.js';

/** The AI-service dialects' pure parts: truncation accounting, placeholders, route options. */

describe('PlayedItems: where each item lies in what the caller heard', () => {
  it('truncates the item being heard at what was heard of it, later items at 0, and forgets wholly heard ones', () => {
    const p = new PlayedItems();
    p.add('a', 1000, 0);
    p.done('a');
    p.add('b', 600, 0);
    p.add('b', 600, 0); // b is 1200 ms, from 1000 ms
    p.add('c', 500, 0); // c never reached
    expect(p.cut(1450.7)).toEqual([
      { itemId: 'b', audioEndMs: 450 },
      { itemId: 'c', audioEndMs: 0 },
    ]);
    expect(p.wasCut('b')).toBe(true);
    expect(p.wasCut('a')).toBe(false);
    expect(p.any).toBe(false); // the playout was cleared: counts start again
    p.add('d', 400, 0);
    expect(p.cut(100)).toEqual([{ itemId: 'd', audioEndMs: 100 }]);
  });

  it('truncates a still-streaming item heard whole at its delivered length (the service may hold more), never beyond', () => {
    const p = new PlayedItems();
    p.add('a', 800, 0);
    expect(p.cut(5000)).toEqual([{ itemId: 'a', audioEndMs: 800 }]);
  });

  it('forgets items heard whole and complete when the next begins, so a long call keeps a short list', () => {
    const p = new PlayedItems();
    p.add('a', 1000, 0);
    p.done('a');
    p.add('b', 1000, 1200); // a ended at 1000 and was heard: dropped
    expect(p.cut(1500)).toEqual([{ itemId: 'b', audioEndMs: 500 }]);
  });
});

describe('Secrets: ${NAME} from the environment', () => {
  const env = { OPENAI_API_KEY: 'sk-live-123456', OTHER: 'x', GATEWAY_AUTH_SECRET: 'gateway-secret-123456' };

  it('fills allowed placeholders and masks what it filled', () => {
    const s = new Secrets(env);
    expect(s.headers({ Authorization: 'Bearer ${OPENAI_API_KEY}', 'X-Id': 'fixed' }, 'the agent')).toEqual({
      Authorization: 'Bearer sk-live-123456',
      'X-Id': 'fixed',
    });
    expect(s.redact('401: Incorrect API key provided: sk-live-123456.')).toBe('401: Incorrect API key provided: ***.');
  });

  it('refuses names the allow list does not name, the gateway own secrets always, and unset ones, naming them only', () => {
    const s = new Secrets(env);
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return [(e as GatewayError).code, (e as GatewayError).message];
      }
      return null;
    };
    expect(code(() => s.fill('${OTHER}', 'the agent URL'))).toEqual([
      'AGENT_UNREACHABLE',
      'the agent URL names ${OTHER}, which AGENT_ENV_ALLOW does not allow',
    ]);
    expect(code(() => s.fill('${NOPE_API_KEY}', 'x'))).toEqual(['AGENT_UNREACHABLE', 'x names ${NOPE_API_KEY}, which is not set']);
    const listed = new Secrets({ ...env, AGENT_ENV_ALLOW: 'OTHER, GATEWAY_AUTH_SECRET' });
    expect(listed.fill('${OTHER}', 'x')).toBe('x');
    expect(code(() => listed.fill('${GATEWAY_AUTH_SECRET}', 'x'))?.[0]).toBe('AGENT_UNREACHABLE');
    expect(code(() => listed.fill('${OPENAI_API_KEY}', 'x'))?.[0]).toBe('AGENT_UNREACHABLE'); // the list replaces the default
  });
});

describe('routes of the AI services', () => {
  const err = (v: unknown) => {
    try {
      parseRoute(v);
    } catch (e) {
      return (e as GatewayError).message;
    }
    return null;
  };

  it('takes session, tools and outputRate where they apply, with defaults per service', () => {
    const r = parseRoute({
      agent: {
        dialect: 'openai-realtime',
        url: 'wss://api.openai.com/v1/realtime?model=gpt-realtime',
        headers: { Authorization: 'Bearer ${OPENAI_API_KEY}' },
        session: { instructions: 'Be brief.' },
        tools: { url: 'https://hooks.example/tools', hangup: true, transfer: { sales: 'sip:sales@pbx.example' } },
      },
    });
    // audio/pcmu straight through: 8 kHz, no RNNoise (bench/README.md, AI services)
    expect([r.sampleRate, r.denoise]).toEqual([8000, false]);
    expect(r.outputRate).toBeUndefined();
    expect(parseRoute({ agent: { dialect: 'openai-realtime', url: 'wss://a' }, sampleRate: 24000 }).denoise).toBe('auto');
    expect(r.agent.session).toEqual({ instructions: 'Be brief.' });
    expect(r.agent.tools).toEqual({
      url: 'https://hooks.example/tools',
      headers: {},
      hangup: true,
      transfer: { sales: 'sip:sales@pbx.example' },
      timeoutMs: 10000,
    });
    const g = parseRoute({ agent: { dialect: 'gemini-live', url: 'wss://g.example/ws', session: { model: 'models/m' } } });
    expect([g.sampleRate, g.outputRate]).toEqual([16000, 24000]);
    const u = parseRoute({ agent: { dialect: 'ultravox', url: 'https://api.ultravox.ai/api/calls' }, outputRate: 24000 });
    expect([u.sampleRate, u.outputRate]).toEqual([16000, 24000]);
  });

  it('refuses what a service cannot do, naming the field', () => {
    expect(err({ agent: { url: 'wss://a', session: {} } })).toBe(
      'route.agent.session: applies to the AI service dialects (openai-realtime, gemini-live, elevenlabs, deepgram, ultravox)',
    );
    expect(err({ agent: { dialect: 'gemini-live', url: 'wss://a' } })).toMatch(
      /^route\.agent\.session\.model: Gemini Live needs the model/,
    );
    expect(err({ agent: { dialect: 'gemini-live', url: 'wss://a', session: { model: 'm' } }, outputRate: 16000 })).toBe(
      'route.outputRate: must be one of 24000 for the gemini-live dialect',
    );
    expect(err({ agent: { dialect: 'gemini-live', url: 'wss://a', session: { model: 'm' } }, fallback: { url: 'wss://b' } })).toBe(
      "route.fallback.dialect: native cannot speak the route's 24000 Hz",
    );
    expect(err({ agent: { url: 'wss://a', headers: { A: 'Bearer ${OPENAI API KEY}' } } })).toBe(
      'route.agent.headers.A: a placeholder must read ${NAME} (letters, digits, _)',
    );
    expect(err({ agent: { dialect: 'openai-realtime', url: 'https://a' } })).toBe(
      'route.agent.url: must be ws://, wss://, builtin:echo or dial-in, got https:',
    );
    expect(err({ agent: { dialect: 'deepgram', url: 'wss://a', tools: { transfer: { x: 'tel:+1' } } } })).toBe(
      'route.agent.tools.transfer.x: must be a sip: URI',
    );
    expect(err({ agent: { dialect: 'deepgram', url: 'wss://a', tools: { url: 'ftp://x' } } })).toBe(
      'route.agent.tools.url: must be an http:// or https:// URL',
    );
  });
});
