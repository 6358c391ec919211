/**
 * The live call page (GET /ui): one static HTML document with its style and script inline, no
 * build step, no dependency. It opens /ui/feed (carrying its own `?token=`), and once a second
 * redraws each call: level meters both ways, a timeline of the last minute (caller and agent speech,
 * barge-ins, marks, DTMF) and the quality figures. Everything from the feed goes in as text
 * (textContent, canvas), never as markup.
 */
export const LIVE_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>voice-gateway · live calls</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #0f1419; color: #d7dde4; }
  header { display: flex; gap: 1em; align-items: baseline; padding: 12px 20px; background: #161d25; border-bottom: 1px solid #26313d; }
  h1 { font-size: 17px; margin: 0; } #status { color: #8da2b5; } #count { margin-left: auto; color: #8da2b5; }
  main { padding: 16px 20px; display: grid; gap: 14px; }
  .call { background: #161d25; border: 1px solid #26313d; border-radius: 8px; padding: 12px 16px; }
  .call h2 { font-size: 15px; margin: 0 0 2px; } .meta { color: #8da2b5; font-size: 12px; margin-bottom: 8px; }
  .row { display: grid; grid-template-columns: 56px 1fr 84px; gap: 8px; align-items: center; margin: 3px 0; }
  .meter { height: 10px; background: #26313d; border-radius: 5px; overflow: hidden; }
  .bar { height: 100%; width: 0; } .caller .bar { background: #4fb3ff; } .agent .bar { background: #7ee08a; }
  .db { font-variant-numeric: tabular-nums; color: #8da2b5; font-size: 12px; }
  canvas { width: 100%; height: 64px; background: #0f1419; border-radius: 4px; margin: 8px 0 4px; }
  .legend { font-size: 11px; color: #8da2b5; } .legend b { font-weight: normal; padding: 0 4px; border-radius: 3px; }
  table { border-collapse: collapse; font-size: 12px; font-variant-numeric: tabular-nums; margin-top: 6px; }
  td, th { padding: 2px 10px 2px 0; text-align: left; } th { color: #8da2b5; font-weight: normal; }
  .empty { color: #8da2b5; }
</style>
</head>
<body>
<header><h1>Live calls</h1><span id="status">connecting…</span><span id="count"></span></header>
<main id="calls"><p class="empty" id="empty">No live calls.</p></main>
<script>
"use strict";
const WINDOW_MS = 60000;
const COLORS = { caller: '#4fb3ff', agent: '#7ee08a', barge_in: '#ff6b6b', mark: '#e0c36b', dtmf: '#c49bff' };
const calls = new Map();
const $ = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; };
const fmt = (x, d) => (x === null || x === undefined || Number.isNaN(x) ? '–' : Number(x).toFixed(d === undefined ? 1 : d));
const pct = (db) => Math.max(0, Math.min(100, ((db + 60) / 60) * 100));

function card(c) {
  const el = $('section', 'call');
  el.dataset.callId = c.callId;
  const h = $('h2'); const meta = $('div', 'meta');
  el.append(h, meta);
  const meters = {};
  for (const side of ['caller', 'agent']) {
    const row = $('div', 'row ' + side); const m = $('div', 'meter'); const bar = $('div', 'bar'); const db = $('span', 'db');
    bar.dataset.testid = 'meter-' + side; m.append(bar); row.append($('span', '', side), m, db); el.append(row);
    meters[side] = { bar, db };
  }
  const canvas = $('canvas'); canvas.width = 900; canvas.height = 64;
  const legend = $('div', 'legend');
  for (const [k, label] of [['caller', 'caller speech'], ['agent', 'agent speech'], ['barge_in', 'barge-in'], ['mark', 'mark'], ['dtmf', 'DTMF']]) {
    const b = $('b', '', label); b.style.background = COLORS[k]; b.style.color = '#0f1419'; legend.append(b, ' ');
  }
  const table = $('table');
  el.append(canvas, legend, table);
  document.getElementById('calls').append(el);
  return { el, h, meta, meters, canvas, table, events: [], lastSeq: 0, data: c };
}

function row(table, cells, head) {
  const tr = $('tr');
  cells.forEach((t, i) => tr.append($(head || i === 0 ? 'th' : 'td', '', t)));
  table.append(tr);
}

function mos(s) {
  if (!s) return '–';
  return (s.g107 ? 'G.107 ' + fmt(s.g107.mos, 2) + ' (' + s.g107.category + ') · ' : '') + 'rtpengine ' + fmt(s.rtpengine.mos, 2);
}

function lat(l) { return l ? fmt(l.p50) + ' / ' + fmt(l.p95) + ' / ' + fmt(l.p99) + ' ms' : '–'; }

function render(st) {
  const c = st.data; const q = c.quality;
  st.h.textContent = (c.from || 'unknown') + ' → ' + (c.to || 'unknown');
  st.meta.textContent = c.codec + ' · ' + c.edge + ' · ' + Math.round(c.durationMs / 1000) + ' s · ' + c.callId;
  for (const side of ['caller', 'agent']) {
    const db = c.levels[side];
    st.meters[side].bar.style.width = pct(db) + '%';
    st.meters[side].bar.dataset.db = String(db);
    st.meters[side].db.textContent = (db <= -99 ? 'silent' : fmt(db) + ' dBFS');
  }
  const t = st.table; t.replaceChildren();
  row(t, ['', 'loss', 'jitter (mean/max)', 'MOS', 'added latency p50/p95/p99'], true);
  row(t, ['caller → agent', fmt(q.inbound.lossPercent, 2) + ' %', fmt(q.inbound.jitterMs.mean) + ' / ' + fmt(q.inbound.jitterMs.max) + ' ms',
    mos(q.inbound.score), lat(q.inbound.latencyMs)]);
  const o = q.outbound;
  row(t, ['agent → caller', o.lossPercent === undefined ? 'no RTCP' : fmt(o.lossPercent, 2) + ' %',
    o.jitterMs ? fmt(o.jitterMs.last) + ' ms' : '–', mos(o.score), lat(o.latencyMs)]);
  row(t, ['line', 'RTT ' + (q.rttMs ? fmt(q.rttMs.mean) + ' ms' : '–'), 'concealed ' + q.inbound.concealedFrames + ' · underruns ' + o.underruns,
    'barge-ins ' + q.bargeIns.count, q.bargeIns.playedMs.length ? 'played ' + q.bargeIns.playedMs.slice(-5).join(', ') + ' ms' : '']);
  draw(st);
}

function draw(st) {
  const cv = st.canvas; const g = cv.getContext('2d'); const W = cv.width; const H = cv.height;
  // The last minute; a younger call fills the width (at least 10 s shown).
  const now = st.data.durationMs; const span = Math.min(WINDOW_MS, Math.max(10000, now * 1.05));
  const t0 = now - span; const x = (t) => ((t - t0) / span) * W;
  g.clearRect(0, 0, W, H);
  const open = { caller: null, agent: null };
  const lanes = { caller: 6, agent: 26 };
  const seg = (who, a, b) => { if (b < t0) return; g.fillStyle = COLORS[who]; g.fillRect(x(Math.max(a, t0)), lanes[who], Math.max(1, x(b) - x(Math.max(a, t0))), 14); };
  for (const e of st.events) {
    const who = e.type.startsWith('caller') ? 'caller' : e.type.startsWith('agent') ? 'agent' : null;
    if (who && e.type.endsWith('started')) open[who] = e.atMs;
    else if (who && open[who] !== null) { seg(who, open[who], e.atMs); open[who] = null; }
    else if (!who && e.atMs >= t0) {
      // Barge-ins across both lanes; marks and digits as ticks in the third.
      g.fillStyle = COLORS[e.type];
      if (e.type === 'barge_in') g.fillRect(x(e.atMs) - 1, 0, 3, H); else g.fillRect(x(e.atMs), 44, 2, H - 44);
      if (e.type === 'dtmf') { g.font = '11px sans-serif'; g.fillText(e.digit, x(e.atMs) + 4, H - 4); }
    }
  }
  for (const who of ['caller', 'agent']) if (open[who] !== null) seg(who, open[who], now);
  st.events = st.events.filter((e) => e.atMs >= t0 - WINDOW_MS);
}

function update(msg) {
  const seen = new Set();
  for (const c of msg.calls) {
    seen.add(c.callId);
    let st = calls.get(c.callId);
    if (!st) { st = card(c); calls.set(c.callId, st); }
    for (const e of c.events) if (e.seq > st.lastSeq) { st.events.push(e); st.lastSeq = e.seq; }
    st.data = c;
    render(st);
  }
  for (const [id, st] of calls) if (!seen.has(id)) { st.el.remove(); calls.delete(id); }
  document.getElementById('count').textContent = calls.size + ' call' + (calls.size === 1 ? '' : 's');
  document.getElementById('empty').hidden = calls.size > 0;
}

function connect() {
  const token = new URLSearchParams(location.search).get('token');
  const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ui/feed' + (token ? '?token=' + encodeURIComponent(token) : '');
  const status = document.getElementById('status');
  const ws = new WebSocket(url);
  let opened = false;
  ws.onopen = () => { opened = true; status.textContent = 'live'; };
  ws.onmessage = (m) => update(JSON.parse(m.data));
  ws.onclose = () => {
    status.textContent = opened ? 'disconnected: retrying' : 'refused: open this page with ?token=<JWT> (GATEWAY_AUTH_SECRET)';
    setTimeout(connect, opened ? 1000 : 5000);
  };
}
connect();
</script>
</body>
</html>
`;
