import { XML_DECL, xmlAttr } from './wire.js';

/** Telnyx's call answer: TeXML that connects the call to a bidirectional media stream. */

export type TelnyxBidirectionalCodec = 'PCMU' | 'PCMA' | 'L16';

/**
 * The TeXML answer: a bidirectional RTP-mode stream (the default mode, mp3, cannot carry live
 * audio) to `url`. L16 runs at 16 kHz. https://developers.telnyx.com/docs/voice/programmable-voice/texml-verbs/stream
 */
export function buildTexmlConnectStream(url: string, codec: TelnyxBidirectionalCodec = 'PCMU'): string {
  const rate = codec === 'L16' ? ' bidirectionalSamplingRate="16000"' : '';
  return `${XML_DECL}<Response><Connect><Stream url="${xmlAttr(url)}" bidirectionalMode="rtp" bidirectionalCodec="${codec}"${rate}/></Connect></Response>`;
}
