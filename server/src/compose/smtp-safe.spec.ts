import { describe, expect, it } from 'vitest';
import { smtpSafe } from './smtp-safe';

const crlf = (lines: string[]) => Buffer.from(lines.join('\r\n'), 'latin1');

describe('smtpSafe', () => {
  it('hands back the same buffer, uncopied, when no line is a lone dot', () => {
    const raw = crlf(['Subject: x', '', 'a line', '.. two dots', ' . spaced', 'end.', '']);
    expect(smtpSafe(raw)).toBe(raw);
  });

  it('writes a lone-dot line as quoted-printable =2E, also for dots on consecutive lines and at the end', () => {
    const raw = crlf(['Subject: x', '', 'a', '.', '.', 'b', '.', '']);
    expect(smtpSafe(raw).toString('latin1')).toBe(['Subject: x', '', 'a', '=2E', '=2E', 'b', '=2E', ''].join('\r\n'));
  });

  it('gives the same bytes as the regular expression it replaced, on a large message with many dot lines', () => {
    const lines = Array.from({ length: 20_000 }, (_, i) => (i % 7 === 0 ? '.' : i % 11 === 0 ? '.x' : `line ${i}`));
    const raw = crlf(['Subject: big', '', ...lines, '']);
    const expected = Buffer.from(raw.toString('latin1').replace(/\r\n\.(?=\r\n)/g, '\r\n=2E'), 'latin1');
    expect(smtpSafe(raw).equals(expected)).toBe(true);
  });

  it.each([
    ['a bare LF', 'Subject: x\r\n\r\nbody\nmore\r\n'],
    ['a bare CR', 'Subject: x\r\n\r\nbody\rmore\r\n'],
    ['a CR at the very end', 'Subject: x\r\n\r\nbody\r'],
    ['an LF at the very start', '\nSubject: x\r\n'],
  ])('refuses a message with %s', (_what, text) => {
    expect(() => smtpSafe(Buffer.from(text, 'latin1'))).toThrow(/bare CR or LF/);
  });
});
