/**
 * Asterisk's two streaming media interfaces, both directions:
 * - AudioSocket, a TCP TLV protocol: https://docs.asterisk.org/Configuration/Channel-Drivers/AudioSocket/
 * - chan_websocket, binary media plus text control (plain text, or JSON since 20.18/22.8/23.2):
 *   https://docs.asterisk.org/Configuration/Channel-Drivers/WebSocket/
 * Each lives in its own module (audioSocket.ts, chanWebsocket.ts), re-exported here.
 */

export * from './audioSocket.js';
export * from './chanWebsocket.js';
