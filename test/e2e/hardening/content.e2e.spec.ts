import { createServer, type Server } from 'node:http';
import PostalMime from 'postal-mime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useSmtpServer } from '../../support/reliability';
import { dataSections, multipart, postRaw, smugglingProblems, startRig, startWireTap, type Rig, type WireTap } from './support';

/**
 * Content that is sent, made safe rather than refused: active HTML, images that would make the server fetch something
 * (a file, the cloud metadata address, a host on the server's network), lines that would end the SMTP DATA phase, and
 * file names with a path. Each case is checked on what the SMTP server received, with a MIME parser we did not write
 * and on the bytes on the wire.
 */
describe('hardening: page content and file names', () => {
  let rig: Rig;
  let tap: WireTap;
  let decoy: Server;
  let decoyUrl: string;
  const fetched: string[] = [];

  beforeAll(async () => {
    rig = await startRig();
    tap = await startWireTap(rig.smtp.port);
    await useSmtpServer(rig.api, tap.port);
    // A web server on the service's own network: no image or style of a page may make the service ask it for anything.
    decoy = createServer((req, res) => {
      fetched.push(req.url ?? '');
      res.end('root:x:0:0:root:/root:/bin/bash');
    });
    const port = await new Promise<number>((r) => decoy.listen(0, '127.0.0.1', () => r((decoy.address() as { port: number }).port)));
    decoyUrl = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await rig?.stop();
    await tap?.close();
    await new Promise<void>((r) => (decoy ? decoy.close(() => r()) : r()));
  });

  /** Every DATA section the client sent so far, oldest first (connections are pooled: one carries several). */
  const dataOnWire = () => tap.sent.flatMap(dataSections);

  /** Sends, and answers the one message the SMTP server received for it, raw and parsed. */
  const sendOne = async (body: { form: ReturnType<typeof multipart> } | Record<string, unknown>) => {
    const before = rig.smtp.messagesReceived;
    const form = 'form' in body ? (body.form as ReturnType<typeof multipart>) : null;
    const r = form ? await postRaw(rig, '/api/mail/send', form.body, form.contentType) : await rig.api.post('/api/mail/send', { to: ['ann@example.com'], ...body });
    expect(r.status, r.text).toBe(200);
    expect(rig.smtp.messagesReceived).toBe(before + 1);
    const raw = rig.smtp.mails[rig.smtp.mails.length - 1].raw;
    return { raw, text: raw.toString('latin1'), mail: await PostalMime.parse(raw) };
  };

  it('sends a page with scripts, event handlers and active elements as inert HTML', async () => {
    const html = `<h1 onclick="steal()">Plan Kestrel-2231</h1>
      <script>fetch('/x')</script><script src="${decoyUrl}/s.js"></script>
      <p onmouseover="x()" style="color:red" data-x="1">Body Lynx-5510</p>
      <a href="javascript:alert(1)">js</a> <a href="JaVaScRiPt&colon;alert(2)">entity</a> <a href="vbscript:x">vb</a> <a href="data:text/html,<script>alert(3)</script>">data</a>
      <iframe src="${decoyUrl}/frame"></iframe><object data="${decoyUrl}/o"></object><embed src="${decoyUrl}/e">
      <form action="${decoyUrl}/f"><input name="q"><button formaction="${decoyUrl}/b">Go</button></form>
      <meta http-equiv="refresh" content="0;url=${decoyUrl}/m"><base href="${decoyUrl}/"><link rel="stylesheet" href="${decoyUrl}/l.css">
      <svg onload="alert(4)"><script>alert(5)</script></svg><math><mi xlink:href="javascript:alert(6)">x</mi></math>
      <img src=x onerror="alert(7)"><div style="background:url(javascript:alert(8))">styled</div>
      <template><script>alert(9)</script></template><noscript><p>ns</p></noscript>`;
    const { mail } = await sendOne({ title: 'Active content', html });
    expect(mail.html).toContain('Plan Kestrel-2231');
    expect(mail.html).toContain('Body Lynx-5510');
    const page = mail.html!.replace('<meta charset="utf-8">', '');
    expect(page).not.toMatch(/<(script|iframe|object|embed|form|input|button|meta|base|link|svg|math|template|noscript)\b/i);
    expect(page).not.toMatch(/\son\w+\s*=/i);
    expect(page).not.toMatch(/javascript|vbscript|data:text|alert\(/i);
    expect(mail.text).not.toMatch(/alert\(|fetch\(/);
    expect(fetched).toEqual([]);
  });

  it('never fetches an image or style from a file, the metadata address or the local network, and leaves the alt text', async () => {
    const html = `<p>Images Ibex-8841</p>
      <img src="file:///etc/passwd" alt="local file">
      <img src="http://169.254.169.254/latest/meta-data/iam/security-credentials/" alt="metadata v4">
      <img src="http://[fd00:ec2::254]/latest/meta-data/" alt="metadata v6">
      <img src="http://metadata.google.internal/computeMetadata/v1/" alt="gce">
      <img src="${decoyUrl}/pixel.png" alt="decoy"><img src="//127.0.0.1:${new URL(decoyUrl).port}/proto-relative.png" alt="protocol-relative">
      <img src="cid:../../etc/passwd" alt="cid traversal"><img src="/etc/passwd" alt="absolute path"><img src="..%2F..%2Fetc%2Fpasswd" alt="encoded traversal">
      <img srcset="${decoyUrl}/srcset.png 2x" alt="srcset"><picture><source srcset="${decoyUrl}/source.png"><img src="${decoyUrl}/picture.png" alt="picture"></picture>
      <video poster="${decoyUrl}/poster.png"></video><input type="image" src="${decoyUrl}/input.png">
      <div style="background-image:url(${decoyUrl}/bg.png)">bg</div>
      <style>@import url("${decoyUrl}/import.css"); p { background: url('${decoyUrl}/css.png') } @font-face { font-family: x; src: url(${decoyUrl}/font.woff) }</style>`;
    const { mail, text } = await sendOne({ title: 'Remote images', html });
    expect(mail.html).toContain('Images Ibex-8841');
    for (const alt of ['local file', 'metadata v4', 'metadata v6', 'gce', 'decoy', 'protocol-relative', 'cid traversal', 'absolute path', 'encoded traversal']) expect(mail.html).toContain(alt);
    expect(mail.attachments).toEqual([]);
    expect(text).not.toMatch(/169\.254\.169\.254|fd00:ec2|metadata\.google|127\.0\.0\.1|file:|etc\/passwd|etc%2Fpasswd|root:x:0:0/);
    // The decoy would have logged any request, including one a mail client made later from a URL left in the HTML.
    expect(fetched).toEqual([]);
  });

  it('cannot end the DATA phase early: lone dots and bare CR or LF in the page reach the wire only as CRLF text', async () => {
    const smuggle = (eol: string) => `before${eol}.${eol}MAIL FROM:<mallory@evil.example>${eol}RCPT TO:<victim@example.org>${eol}DATA${eol}Subject: smuggled${eol}${eol}second mail${eol}.${eol}after`;
    const html = ['\r\n', '\n', '\r', '\n\r', '\r\r\n'].map((eol) => `<pre>${smuggle(eol)}</pre><p>${smuggle(eol)}</p>`).join('') + '<pre>\r\n.\r\n.\n.\r.\r\n</pre>.\r\n.';
    const wireBefore = dataOnWire().length;
    const { text, mail } = await sendOne({ title: 'Dots', html });
    // The page's text is kept as text (sanitize-html drops "<mallory@evil.example>" as an unknown tag).
    expect(mail.html).toMatch(/MAIL FROM:[\s\S]*RCPT TO:[\s\S]*second mail/);
    expect(rig.smtp.mails.at(-1)!.envelope.to).toEqual(['ann@example.com']);
    expect(smugglingProblems(Buffer.from(`${text}\r\n.\r\n`, 'latin1')), 'as received').toEqual([]);
    const sections = dataOnWire().slice(wireBefore);
    expect(sections).toHaveLength(1);
    expect(smugglingProblems(sections[0]), 'on the wire').toEqual([]);
  });

  it('sends a text attachment full of dot lines and bare line ends as base64, one message', async () => {
    const wireBefore = dataOnWire().length;
    const nasty = Buffer.from('line\r\n.\r\nMAIL FROM:<x@evil.example>\r\n.\n.\r\rend\n');
    const form = multipart([
      { name: 'title', value: 'Text file' },
      { name: 'html', value: '<p>see file</p>\r.\r' },
      { name: 'to', value: 'ann@example.com' },
      { name: 'attachments', filename: 'notes.txt', contentType: 'text/plain', value: nasty },
    ]);
    const { mail, text } = await sendOne({ form });
    expect(Buffer.from(mail.attachments[0].content as ArrayBuffer).equals(nasty)).toBe(true);
    expect(text).toMatch(/Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=notes\.txt/);
    const sections = dataOnWire().slice(wireBefore);
    expect(sections).toHaveLength(1);
    expect(smugglingProblems(sections[0])).toEqual([]);
  });

  it('sends a file named with a path under its last name only', async () => {
    const form = multipart([
      { name: 'title', value: 'Paths' },
      { name: 'html', value: '<p>files</p>' },
      { name: 'to', value: 'ann@example.com' },
      { name: 'attachments', filename: '../../etc/passwd', value: 'a' },
      { name: 'attachments', filename: '..\\..\\Windows\\System32\\drivers\\etc\\hosts', value: 'b' },
      { name: 'attachments', filenameStar: "utf-8''..%2F..%2F.ssh%2Fauthorized_keys", value: 'c' },
      { name: 'attachments', filename: '/var/lib/mailpage/secret.key', value: 'd' },
    ]);
    const { mail, text } = await sendOne({ form });
    expect(mail.attachments.map((a) => a.filename)).toEqual(['passwd', 'hosts', 'authorized_keys', 'secret.key']);
    expect(text).not.toMatch(/\.\.[/\\]|\/etc\/|\\Windows|\.ssh/);
  });
});
