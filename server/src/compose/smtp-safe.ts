/**
 * A line holding only "." ends the DATA phase (RFC 5321 section 4.1.1.4); a relay that mishandles it, or a bare CR
 * or LF, is what SMTP smuggling exploits. Headers are folded with leading whitespace and attachments are base64, so
 * such a line can only be a quoted-printable body line, where "=2E" decodes to the same ".".
 * Works on the Buffer and returns it as it is when there is nothing to change: a mail with a 20 MB attachment is not
 * copied twice more (the copies were most of the garbage a send made).
 */
export function smtpSafe(raw: Buffer): Buffer {
  for (let lf = raw.indexOf(LF); lf !== -1; lf = raw.indexOf(LF, lf + 1)) {
    if (lf === 0 || raw[lf - 1] !== CR) throw new Error('the composed mail has a bare CR or LF');
  }
  for (let cr = raw.indexOf(CR); cr !== -1; cr = raw.indexOf(CR, cr + 2)) {
    if (raw[cr + 1] !== LF) throw new Error('the composed mail has a bare CR or LF');
  }
  const dotLines: number[] = [];
  // Overlapping on purpose: in "\r\n.\r\n.\r\n" both dots are lone-dot lines.
  for (let at = raw.indexOf(DOT_LINE); at !== -1; at = raw.indexOf(DOT_LINE, at + 3)) dotLines.push(at + 2);
  if (!dotLines.length) return raw;
  const out = Buffer.allocUnsafe(raw.length + dotLines.length * 2);
  let from = 0;
  let to = 0;
  for (const dot of dotLines) {
    to += raw.copy(out, to, from, dot);
    to += out.write('=2E', to, 'latin1');
    from = dot + 1;
  }
  raw.copy(out, to, from);
  return out;
}

const CR = 0x0d;
const LF = 0x0a;
const DOT_LINE = Buffer.from('\r\n.\r\n', 'latin1');
