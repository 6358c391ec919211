/**
 * Settings of the platform edges (CPaaS media streams and the PBX sockets), from the environment.
 * Tokens unset: that platform's webhooks are not verified (fine on a private network, or behind a
 * proxy that checks them). Each stream still needs the one-time token its answer minted.
 */
export interface PlatformSettings {
  /**
   * Where platforms reach the gateway, as they see it: `https://gw.example.com`, `gw.example.com`
   * (https assumed) or `http://…` (plain ws, tests). Null: from each request's Host header, with
   * the scheme the listener serves. Signatures cover this URL, so behind a proxy it must be set.
   */
  publicUrl: string | null;
  twilioAuthToken: string | null;
  plivoAuthToken: string | null;
  vobizAuthToken: string | null;
  /** base64 of Telnyx's raw 32-byte Ed25519 public key (Mission Control portal → Keys & Credentials) */
  telnyxPublicKey: string | null;
  vonageSignatureSecret: string | null;
  /** TCP port of the AudioSocket server (0: ephemeral), null: not started */
  audioSocketPort: number | null;
  /** where the AudioSocket server binds */
  audioSocketHost: string;
}

export function loadPlatformSettings(env: NodeJS.ProcessEnv = process.env): PlatformSettings {
  const text = (name: string): string | null => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? null : v;
  };
  const port = text('AUDIOSOCKET_PORT');
  const n = port === null ? null : Number(port);
  if (n !== null && (!Number.isInteger(n) || n < 0 || n > 65535))
    throw new Error(`AUDIOSOCKET_PORT: must be an integer in 0..65535, got ${JSON.stringify(port)}`);
  const publicUrl = text('PUBLIC_URL');
  if (publicUrl !== null && !/^(?:(?:https?|wss?):\/\/)?[^/\s?#]+$/i.test(publicUrl.replace(/\/+$/, '')))
    throw new Error(`PUBLIC_URL: must be a host[:port] or scheme://host[:port] without a path, got ${JSON.stringify(publicUrl)}`);
  return {
    publicUrl: publicUrl?.replace(/\/+$/, '') ?? null,
    twilioAuthToken: text('TWILIO_AUTH_TOKEN'),
    plivoAuthToken: text('PLIVO_AUTH_TOKEN'),
    vobizAuthToken: text('VOBIZ_AUTH_TOKEN'),
    telnyxPublicKey: text('TELNYX_PUBLIC_KEY'),
    vonageSignatureSecret: text('VONAGE_SIGNATURE_SECRET'),
    audioSocketPort: n,
    audioSocketHost: text('AUDIOSOCKET_HOST') ?? env['HOST'] ?? '0.0.0.0',
  };
}

/** The public base URLs: https (webhook signatures) and wss (the stream URL put in answers). */
export function publicBase(s: PlatformSettings, hostHeader: string, tls: boolean): { http: string; ws: string } {
  const raw = s.publicUrl ?? `${tls ? 'https' : 'http'}://${hostHeader}`;
  const m = /^(?:(https?|wss?):\/\/)?(.*)$/i.exec(raw)!;
  const scheme = (m[1] ?? 'https').toLowerCase();
  const secure = scheme === 'https' || scheme === 'wss';
  return { http: `${secure ? 'https' : 'http'}://${m[2]!}`, ws: `${secure ? 'wss' : 'ws'}://${m[2]!}` };
}
