import { parseArgs } from 'node:util';
import { readWav, Resampler, writeWav } from '../codecs/src/index.js';
import { RtpCaller, type CallerCodec, type Transport } from '../testkit/RtpCaller.js';

/**
 * Places one call through a running gateway: sends a WAV as real-time RTP, records what comes
 * back, writes it as a WAV. With the default (echo) route you hear your own denoised voice.
 *
 *   npm run call -- --in speech.wav --out reply.wav [--gateway http://127.0.0.1:8080]
 *                   [--transport udp|ws] [--codec PCMU|PCMA|opus] [--to +14155550100] [--tail 4]
 */
const USAGE = `usage: npm run call -- --in <speech.wav> --out <reply.wav> [--gateway URL] [--transport udp|ws] [--codec PCMU|PCMA|opus] [--from E164] [--to E164] [--tail seconds]`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      gateway: { type: 'string', default: `http://127.0.0.1:${process.env['PORT'] ?? 8080}` },
      in: { type: 'string' },
      out: { type: 'string' },
      transport: { type: 'string', default: 'udp' },
      codec: { type: 'string', default: 'PCMU' },
      from: { type: 'string' },
      to: { type: 'string' },
      tail: { type: 'string', default: '4' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help || !values.in || !values.out) {
    console.log(USAGE);
    process.exit(values.help ? 0 : 2);
  }
  if (values.transport !== 'udp' && values.transport !== 'ws') throw new Error(`--transport must be udp or ws`);
  const transport: Transport = values.transport;
  const codec = values.codec as CallerCodec;
  if (!['PCMU', 'PCMA', 'opus'].includes(codec)) throw new Error('--codec must be PCMU, PCMA or opus');

  const wav = readWav(values.in);
  const rate = codec === 'opus' ? 48000 : 8000;
  let pcm = wav.samples;
  if (wav.sampleRate !== rate) {
    const r = await Resampler.create({ inRate: wav.sampleRate, outRate: rate, quality: 5 });
    const out = new Float32Array(r.maxOutput(pcm.length));
    const n = r.process(Float32Array.from(pcm), out);
    r.close();
    pcm = Int16Array.from(out.subarray(0, n), (v) => Math.max(-32768, Math.min(32767, Math.round(v))));
  }

  const caller = await RtpCaller.place({
    gateway: values.gateway,
    transport,
    codec,
    ...(values.from !== undefined ? { from: values.from } : {}),
    ...(values.to !== undefined ? { to: values.to } : {}),
  });
  console.log(`call ${caller.callId}: sending ${(pcm.length / rate).toFixed(1)} s of ${values.in} as ${codec} over ${transport}`);
  await caller.stream(pcm);
  const tail = Number(values.tail);
  console.log(`sent; listening ${tail} s more for the reply`);
  // Like a phone, keep sending (silence) while listening.
  await caller.stream(new Int16Array(Math.round(tail * rate)));
  if (transport === 'udp') await caller.end();
  else await caller.hangup();
  const rec = caller.recording();
  writeWav(values.out, { sampleRate: rate, samples: rec });
  console.log(`received ${caller.received.length} RTP packets; wrote ${(rec.length / rate).toFixed(1)} s to ${values.out}`);
}

main().catch((err: unknown) => {
  console.error(`call: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
