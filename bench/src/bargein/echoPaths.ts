/**
 * Echo paths of the barge-in evaluation, at 8 kHz: what the caller's line does to the agent's
 * audio before it comes back in the caller's microphone signal.
 *
 * - `flat`: a pure delay and gain (the easy case, what the set used before).
 * - `g168`: the network hybrid models of ITU-T G.168 (04/2015) Annex D, sections D.2–D.9: eight
 *   measured hybrid impulse responses, 64–128 taps at 8 kHz (8–16 ms of dispersion), band-limited
 *   by the line. The coefficients are those tabulated in the Annex.
 * - `handset`: band-limited, dispersive acoustic-or-hybrid echo of the kind the independent
 *   evaluation used: a 200–400 Hz high-pass, a 2.8–3.4 kHz low-pass, an exponentially decaying
 *   cluster of reflections over 4–12 ms and a second reflection 8–40 ms after the first.
 *
 * Each path is scaled per trial to the wanted echo return loss (ERL), measured on the very
 * signal that goes through it, and put after a bulk delay.
 */

/** ITU-T G.168 Annex D hybrid models D.2 … D.9 (raw integer coefficients, 8 kHz). */
export const G168_MODELS: Record<string, readonly number[]> = {
  D2: [
    -436, -829, -2797, -4208, -17968, -11215, 46150, 34480, -10427, 9049, -1309, -6320, 390, -8191, -1751, -6051, -3796, -4055, -3948,
    -2557, -3372, -1808, -2259, -1300, -1098, -618, -340, -61, 323, 419, 745, 716, 946, 880, 1014, 976, 1033, 1091, 1053, 1042, 794, 831,
    899, 716, 390, 313, 304, 304, 73, -119, -109, -176, -359, -407, -512, -580, -704, -618, -685, -791, -772, -820, -839, -724,
  ],
  D3: [
    -381, 658, 1730, -51, -3511, -1418, 7660, 8861, -8106, -21370, -5307, 23064, 24020, 1020, -12374, -16296, -19524, -7480, 13509, 17115,
    13952, 13952, 97, -9326, -9046, -15208, -9853, -3858, -1979, 6029, 5616, 7214, 6820, 3935, 3919, 921, 1316, -693, -759, -1517, -2176,
    -2028, -2654, -1814, -2077, -1468, -1221, -842, -463, -298, -68, 64, 493, 723, 789, 954, 756, 839, 872, 1020, 789, 822, 558, 658, 476,
    377, 377, 262, 97, -68, -183, -232, -331, -347, -430, -314, -430, -463, -463, -414, -381, -479, -479, -512, -479, -397, -430, -397,
    -298, -265, -249, -216, -249, -265, -166, -232,
  ],
  D4: [
    -448, -436, 2230, 2448, -4178, -7050, 5846, 18581, 2322, -26261, -16249, 21637, 25649, -2267, -10311, -4693, -12690, -7428, 14164,
    13467, 4438, 8627, 456, -11879, -6352, -5104, -7496, 3271, 6566, 4277, 11131, 7562, 1475, 3728, -3525, -7301, -3101, -9269, -6146,
    -2553, -6272, 811, 124, 788, 5147, 2172, 5387, 4598, 3535, 4004, 2311, 2150, 1017, 330, -139, -573, -1100, -1157, -1180, -1455, -1123,
    -1386, -1123, -1066, -1020, -1100, -1008, -1077, -1088, -917, -917, -963, -814, -871, -734, -642, -562, -356, -379, -345, -230, -233,
    -333, -356, -390, -310, -265, -368, -310, -310, -390, -482, -459, -482, -551, -573,
  ],
  D5: [
    160, 312, -241, -415, 897, 908, -1326, -1499, 2405, 3347, -3624, -7733, 4041, 14484, -1477, -21739, -4470, 25356, 11458, -19696, -11800,
    5766, 789, 6633, 14624, -6975, -17156, -187, 149, 1515, 14907, 4345, -7128, -2757, -10185, -7083, 6850, 3944, 6969, 8694, -4068, -3852,
    -5793, -9371, 453, 1060, 3965, 9463, 2393, 2784, -892, -7366, -3376, -5847, -2399, 3011, 1537, 6623, 4205, 1602, 1592, -4752, -3646,
    -5207, -5577, -501, -1174, 4041, 5647, 4628, 7252, 2123, 2654, -881, -4113, -3244, -7289, -3830, -4600, -2508, 431, -144, 4184, 2372,
    4617, 3576, 2382, 2839, -404, 539, -1803, -1401, -1705, -2269, -783, -1608, -220, -306, 257, 615, 225, 561, 8, 344, 127, -57, 182, 41,
    203, -111, 95, -79, 30, 84, -13, -68, -241, -68, -24, 19, -57, -24, 30, -68, 84, -155, -68, 19,
  ],
  D6: [
    293, 268, 475, 460, 517, 704, 581, 879, 573, 896, 604, 787, 561, 538, 440, 97, 265, -385, 20, -938, -523, -1438, -1134, -1887, -1727,
    -1698, -4266, -22548, -43424, 2743, 25897, 7380, 21499, 11983, 10400, 11667, 3889, 7241, 925, 2018, -821, -2068, -2236, -4283, -3406,
    -5022, -4039, -4842, -4104, -4089, -3582, -2978, -2734, -1805, -1608, -645, -495, 279, 471, 947, 1186, 1438, 1669, 1640, 1901, 1687,
    1803, 1543, 1566, 1342, 1163, 963, 733, 665, 323, 221, -14, -107, -279, -379, -468, -513, -473, -588, -612, -652, -616, -566, -515,
    -485, -404, -344, -290, -202, -180, -123,
  ],
  D7: [
    29, 109, -83, 198, -294, -135, -415, -202, -444, -337, -313, -450, -105, -503, 145, -490, 267, -231, 340, 77, 343, 783, 158, 1341, 195,
    1798, 344, 1845, 629, 1604, 1182, 940, 5163, 19522, 8421, -50953, -9043, 18046, -13553, 13336, -3471, -107, 1788, -7409, 2469, -7994,
    490, -3860, -837, 490, -636, 3682, 1141, 5019, 2635, 5025, 3946, 4414, 4026, 3005, 3380, 1616, 2007, 158, 388, -1198, -1117, -2134,
    -2547, -2589, -3310, -2778, -3427, -2779, -3116, -2502, -2399, -1956, -1539, -1239, -570, -377, 251, 331, 964, 1177, 1449, 1564, 1724,
    1871, 1767, 1802, 1630, 1632, 1379, 1271, 1063, 856, 711, 482, 289, 54, -137, -321, -490, -638, -764, -836, -800, -859, -838, -837,
    -834, -740, -673, -581, -493, -436, -327, -201,
  ],
  D8: [
    258, -111, 337, -319, 347, -434, 192, -450, -108, -343, -596, -177, -1187, -52, -1781, -147, -1959, -326, -1601, -1389, -13620, -720,
    33818, -10683, -6742, 12489, -9862, 8950, -1574, 758, 3526, -3118, 2421, -8966, -4901, 11385, 18072, -14410, -7473, 19836, -16854,
    -3115, 9483, -17799, 7399, -4342, -7415, 7929, -10726, 6239, -2526, -1317, 5345, -4565, 6868, -2195, 3425, 1969, -109, 3963, -1275,
    3087, -892, 1239, 2, -427, 596, -1184, 551, -1244, 141, -743, -415, -372, -769, -183, -785, -270, -659, -377, -523, -325, -245, -255,
    -60, 35, 218, 149, 340, 233, 365, 303, 251, 230, 209, 179,
  ],
  D9: [
    80, 31, 4, 42, 42, -61, -81, -64, 121, -102, -26, 1002, -9250, -22562, 39321, 35681, -35289, 25312, -1457, -229, 15659, -6786, 16791,
    3860, 2239, -28730, -11885, 33871, -176, -16421, 18173, -9669, -10163, 9941, -19365, 3592, -5907, -10257, 5336, -12933, 4348, -4802,
    -1791, 3035, -4433, 5553, -2596, 3992, 1255, 1450, 4079, 324, 4340, 1059, 3083, 1917, 1756, 2478, 1027, 1871, 845, 1284, 813, 806, 869,
    471, 646, 438, 449, 432, 473, 394, 452, 538, 717, 723, 850, 756, 753, 899, 555, 669, 619, 500, 650, 615, 516, 492, 427, 291, 356, 147,
    107, -50, -88, -59, -238, -165, -183,
  ],
};

/** Models used to tune, and the ones held out for the reported figures. */
export const G168_TUNE = ['D2', 'D4', 'D6', 'D8'] as const;
export const G168_HELDOUT = ['D3', 'D5', 'D7', 'D9'] as const;

/** `none`: no echo at all (a mobile or softphone that cancels its own, a 4-wire trunk). */
export type EchoKind = 'flat' | 'g168' | 'handset' | 'none';

export interface EchoPath {
  kind: EchoKind;
  /** e.g. "D5" or "hp300/lp3100/disp8ms/2nd@22ms−9dB" */
  name: string;
  /** impulse response after the bulk delay, unit scale (scaled to the ERL per trial) */
  h: Float32Array;
  delayMs: number;
  erlDb: number;
}

const RATE = 8000;

/** Second-order section (RBJ cookbook biquad), run in place. */
function biquad(x: Float32Array, type: 'hp' | 'lp', f0: number, q: number): void {
  const w = (2 * Math.PI * f0) / RATE;
  const a = Math.sin(w) / (2 * q);
  const c = Math.cos(w);
  const b0 = type === 'lp' ? (1 - c) / 2 : (1 + c) / 2;
  const b1 = type === 'lp' ? 1 - c : -(1 + c);
  const a0 = 1 + a;
  const [n0, n1, n2, d1, d2] = [b0 / a0, b1 / a0, b0 / a0, (-2 * c) / a0, (1 - a) / a0];
  let x1 = 0;
  let x2 = 0;
  let y1 = 0;
  let y2 = 0;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    const y = n0 * v + n1 * x1 + n2 * x2 - d1 * y1 - d2 * y2;
    x2 = x1;
    x1 = v;
    y2 = y1;
    y1 = y;
    x[i] = y;
  }
}

/** A handset/hybrid-like path: reflections cluster + second reflection, then band-limited (4th-order each side). */
export function handsetPath(r: () => number): { h: Float32Array; name: string } {
  const hp = 200 + 200 * r();
  const lp = 2800 + 600 * r();
  const disp = 4 + 8 * r(); // ms
  const second = 8 + 32 * r(); // ms after the first
  const secondDb = -6 - 8 * r();
  const h = new Float32Array(Math.round(0.08 * RATE));
  const n = Math.round((disp * RATE) / 1000);
  for (let i = 0; i < n; i++) h[i] = (i === 0 ? 1 : (r() * 2 - 1) * 0.8) * Math.exp(-(3 * i) / n);
  const s = Math.round((second * RATE) / 1000);
  const g2 = 10 ** (secondDb / 20);
  for (let i = 0; i < n && s + i < h.length; i++) h[s + i] = h[s + i]! + g2 * h[i]! * (r() < 0.5 ? -1 : 1);
  for (const [t, f] of [
    ['hp', hp],
    ['hp', hp],
    ['lp', lp],
    ['lp', lp],
  ] as const)
    biquad(h, t, f, Math.SQRT1_2);
  return { h, name: `hp${hp.toFixed(0)}/lp${lp.toFixed(0)}/disp${disp.toFixed(0)}ms/2nd@${second.toFixed(0)}ms${secondDb.toFixed(0)}dB` };
}

/** A line with no echo at all (`delayMs` kept only for the record). */
export function noEchoPath(delayMs: number): EchoPath {
  return { kind: 'none', name: 'none', h: Float32Array.of(0), delayMs, erlDb: Infinity };
}

export function g168Path(model: string): Float32Array {
  return Float32Array.from(G168_MODELS[model]!, (v) => v / 32768);
}

/**
 * `path.h` scaled so that the power ratio of `x` (what the phone will play: the agent's
 * utterance) to its echo is exactly `path.erlDb`.
 */
export function scaledResponse(x: Float32Array, path: EchoPath): Float32Array {
  const h = path.h;
  let ex = 0;
  let ey = 0;
  for (let n = 0; n < x.length; n++) {
    let acc = 0;
    for (let k = 0; k < h.length && k <= n; k++) acc += h[k]! * x[n - k]!;
    ex += x[n]! * x[n]!;
    ey += acc * acc;
  }
  const g = ey > 0 ? Math.sqrt(ex / ey) * 10 ** (-path.erlDb / 20) : 0;
  return h.map((v) => v * g);
}
