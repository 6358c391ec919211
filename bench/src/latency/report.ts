import { writeFileSync } from 'node:fs';
import type { LevelResult, Stats } from './main.js';

/** A self-contained HTML report: per level, histograms and CDFs of each hop, inline SVG, no scripts. */
export function writeHtmlReport(
  path: string,
  doc: {
    machine: string;
    date: string;
    transport: string;
    seconds: number;
    results: LevelResult[];
    comparison: { calls: number; uws: LevelResult; ws: LevelResult }[];
  },
): void {
  const esc = (s: string) => s.replace(/[<>&]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[c]!);
  const bars = (s: Stats, title: string) => {
    const w = 420;
    const h = 120;
    const max = Math.max(1, ...s.buckets.map((b) => b[1]));
    const bw = w / s.buckets.length;
    const rects = s.buckets
      .map(
        ([edge, n], i) =>
          `<rect x="${i * bw}" y="${h - (h * n) / max}" width="${bw - 2}" height="${(h * n) / max}" fill="#4a7"><title>≤ ${edge} ms: ${n}</title></rect><text x="${i * bw + 2}" y="${h + 12}" font-size="8">${edge === Infinity ? '∞' : edge}</text>`,
      )
      .join('');
    let cum = 0;
    const pts = s.buckets.map(([, n], i) => {
      cum += n;
      return `${(i + 1) * bw},${h - (h * cum) / Math.max(1, s.count)}`;
    });
    return `<figure><figcaption>${esc(title)}: p50 ${s.p50.toFixed(2)}, p99 ${s.p99.toFixed(2)}, max ${s.max.toFixed(2)} ms (n=${s.count})</figcaption><svg width="${w}" height="${h + 16}">${rects}<polyline points="0,${h} ${pts.join(' ')}" fill="none" stroke="#c33"/></svg></figure>`;
  };
  const sections = doc.results
    .map(
      (r) => `<section><h2>${r.calls} calls (${r.transport})</h2>
<p>CPU ${r.cpuPercentPerCall.toFixed(2)} % of a core per call; gateway-side inbound p99 ≤ ${r.gatewayInboundP99Ms.toFixed(0)} ms; event-loop lag p99 ${r.eventLoopLagP99Ms.toFixed(2)} ms; drops ${r.drops}; underruns ${r.underruns};
inbound audio delay ${r.inboundAudioDelayMs.toFixed(2)} ms (algorithmic floor ${r.inboundFloorMs.toFixed(2)} ms); outbound floor ${r.outboundFloorMs.toFixed(2)} ms.</p>
${bars(r.inbound, 'inbound: RTP packet sent → agent frame received')}${bars(r.outbound, 'outbound: agent chunk sent → RTP packet received')}${bars(r.clearToSilence, 'clear → last old-audio packet')}</section>`,
    )
    .join('\n');
  const ratio = (a: number, b: number) => `${a.toFixed(2)} / ${b.toFixed(2)} (×${(b / Math.max(a, 1e-9)).toFixed(2)})`;
  const comparison =
    doc.comparison.length === 0
      ? ''
      : `<section><h2>Edge WebSocket server: uWS vs ws (same process, same pipeline)</h2><table border="1" cellpadding="4"><tr><th>calls</th><th>inbound p50 uWS / ws (ws÷uWS)</th><th>inbound p99</th><th>outbound p50</th><th>outbound p99</th><th>CPU % per call</th></tr>${doc.comparison
          .map(
            ({ calls, uws, ws }) =>
              `<tr><td>${calls}</td><td>${ratio(uws.inbound.p50, ws.inbound.p50)}</td><td>${ratio(uws.inbound.p99, ws.inbound.p99)}</td><td>${ratio(uws.outbound.p50, ws.outbound.p50)}</td><td>${ratio(uws.outbound.p99, ws.outbound.p99)}</td><td>${ratio(uws.cpuPercentPerCall, ws.cpuPercentPerCall)}</td></tr>`,
          )
          .join('')}</table></section>`;
  writeFileSync(
    path,
    `<!doctype html><meta charset="utf-8"><title>gateway latency</title><style>body{font:14px system-ui;margin:2em}figure{display:inline-block;margin:0 1em 1em 0}</style>
<h1>Gateway latency</h1><p>${esc(doc.machine)} — ${esc(doc.date)} — ${doc.transport}, ${doc.seconds} s per level. Bars: histogram (ms buckets); red line: CDF.</p>${sections}${comparison}`,
  );
}
