import { loadSettings } from './settings.js';
import { Gateway } from './Gateway.js';
import { log } from './log.js';

/**
 * `npm start`: runs the gateway until SIGTERM/SIGINT, then drains (no new calls; live calls
 * finish, bounded by DRAIN_TIMEOUT_MS) and exits.
 */
async function main(): Promise<void> {
  let settings;
  try {
    settings = loadSettings();
  } catch (err) {
    process.stderr.write(`gateway: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const gw = new Gateway(settings);
  const port = await gw.start();
  const echo = settings.routing.lookup(undefined).agent.url === 'builtin:echo';
  process.stdout.write(
    [
      '',
      `voice gateway listening on http://127.0.0.1:${port}  (health: /healthz, metrics: /metrics)`,
      ...(gw.sip ? [`SIP trunks: ${gw.sip.addresses.map((a) => `${a.protocol} ${a.host}:${a.port}`).join(', ')}`] : []),
      ...(gw.wsEdgePort ? [`edge WebSocket also served by ws (comparison): ws://127.0.0.1:${gw.wsEdgePort}/v1/edge`] : []),
      echo
        ? 'default route: built-in echo agent (plays your denoised voice back after you stop talking)'
        : `routing from ${process.env['GATEWAY_CONFIG']}`,
      'place a test call with a WAV and record the reply:',
      `  npm run call -- --gateway http://127.0.0.1:${port} --in test/fixtures/audio/caller-en-us-8k.wav --out reply.wav`,
      '',
    ].join('\n') + '\n',
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log('info', 'signal', { signal });
    void gw.drain().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

void main();
