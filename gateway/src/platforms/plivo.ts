/**
 * Plivo Audio Stream, bidirectional, and its clone Vobiz, in both directions (the Plivo/Vobiz
 * agent dialect builds events and parses commands; the edge does the reverse).
 *
 * Plivo: https://plivo.com/docs/voice/audio-streaming/audio-streaming ("Stream Event Protocol"),
 *   https://docs.plivo.com/docs/voice/xml/audiostream, …/play-audio-event, …/clear-audio-stream,
 *   …/checkpoint-event
 * Vobiz: "Stream Events Overview", https://www.vobiz.ai/docs — Plivo's shapes with these
 *   differences, which the event and command types allow: sequenceNumber from 0, numeric
 *   accountId, `playedStream` without streamId, no inbound stop (socket close ends the stream),
 *   and a customer-sent `stop`.
 * Unlike Twilio, sequenceNumber and chunk are JSON numbers; timestamp is a string.
 *
 * Events (plivoEvents.ts), commands (plivoCommands.ts), the answer XML (plivoAnswer.ts) and the
 * webhook signature (plivoSignature.ts) each live in their own module, re-exported here.
 */

export * from './plivoEvents.js';
export * from './plivoCommands.js';
export * from './plivoAnswer.js';
export * from './plivoSignature.js';
