import { describe, expect, it } from 'vitest';
import { MAX_TEXT_CHARS, b64Bytes, parseJsonText, safeEqual, xmlAttr, xmlText } from '../../../gateway/src/platforms/wire.js';

describe('wire helpers', () => {
  it('parseJsonText bounds size and never throws', () => {
    expect(parseJsonText('{"a":1}')).toEqual({ ok: true, msg: { a: 1 } });
    expect(parseJsonText('{"a":')).toMatchObject({ ok: false, code: 'CONTROL_INVALID' });
    expect(parseJsonText(' '.repeat(MAX_TEXT_CHARS + 1))).toMatchObject({ ok: false, code: 'FRAME_TOO_LARGE' });
  });

  it('b64Bytes counts decoded bytes', () => {
    for (const n of [0, 1, 2, 3, 4, 160, 161]) expect(b64Bytes(Buffer.alloc(n).toString('base64'))).toBe(n);
  });

  it('XML escaping', () => {
    expect(xmlAttr(`a&b<c>"d'\te\r\n`)).toBe('a&amp;b&lt;c&gt;&quot;d&apos;&#9;e&#13;&#10;');
    expect(xmlText('a&b<c>"d\'')).toBe('a&amp;b&lt;c&gt;"d\'');
    expect(xmlText('emoji 😀 ok')).toBe('emoji 😀 ok');
    for (const s of ['\u0000', '\u001b', '\uFFFE', '\uD800', 'x\uDC00']) {
      expect(() => xmlAttr(s)).toThrow(RangeError);
      expect(() => xmlText(s)).toThrow(RangeError);
    }
  });

  it('safeEqual', () => {
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abd')).toBe(false);
    expect(safeEqual('abc', 'abcd')).toBe(false);
  });
});
