import type { OpenApiDocument } from './openapi.builder';

const WHO: Record<string, string> = {
  public: 'anyone',
  user: 'signed-in user',
  'site-admin': 'site admin',
  'local-admin': 'local admin token',
  'metrics-token': 'METRICS_TOKEN',
  'forge-lifecycle': 'Forge platform',
};

/**
 * The operations as a plain HTML page: no script and no CSS at all, so the strictest Content-Security-Policy (the API's
 * is `default-src 'none'`) has nothing to block, and nothing is fetched from elsewhere. Every value is escaped.
 */
export function renderOpenApiHtml(doc: OpenApiDocument): string {
  const rows: string[] = [];
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const [method, raw] of Object.entries(operations)) {
      const op = raw as {
        summary: string;
        'x-mailpage-access': string;
        parameters?: { name: string; in: string; required: boolean }[];
        requestBody?: { content: Record<string, { schema: { $ref?: string } }> };
        responses: Record<string, { description: string }>;
      };
      const params = (op.parameters ?? []).map((p) => `${p.in} <code>${esc(p.name)}</code>${p.required ? '' : ' (optional)'}`);
      const body = op.requestBody ? bodyText(doc, op.requestBody.content) : '';
      const responses = Object.entries(op.responses)
        .filter(([status]) => status !== 'default')
        .map(([status, r]) => `${esc(status)} <code>${esc(r.description)}</code>`)
        .join(', ');
      rows.push(
        `<tr><td><code>${esc(method.toUpperCase())}</code></td><td><code>${esc(path)}</code></td><td>${esc(WHO[op['x-mailpage-access']] ?? op['x-mailpage-access'])}</td>` +
          `<td>${esc(op.summary)}${params.length ? `<br>Parameters: ${params.join(', ')}` : ''}${body}<br>Answers: ${responses}; errors: <code>ApiError</code></td></tr>`,
      );
    }
  }
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${esc(doc.info.title)}</title>`,
    '</head><body>',
    `<h1>${esc(doc.info.title)} <small>${esc(doc.info.version)}</small></h1>`,
    `<p>${esc(doc.info.description)} The machine-readable document: <a href="/api/docs/openapi.json">openapi.json</a>.</p>`,
    '<table border="1" cellpadding="6" cellspacing="0"><thead><tr><th>Method</th><th>Path</th><th>Who</th><th>What</th></tr></thead><tbody>',
    ...rows,
    '</tbody></table></body></html>',
    '',
  ].join('\n');
}

function bodyText(doc: OpenApiDocument, content: Record<string, { schema: { $ref?: string } }>): string {
  const json = content['application/json']?.schema.$ref;
  const name = json?.split('/').pop() ?? '';
  const schema = doc.components.schemas[name] as { properties?: Record<string, unknown>; required?: string[] } | undefined;
  const fields = Object.keys(schema?.properties ?? {}).map((f) => `<code>${esc(f)}</code>${schema?.required?.includes(f) ? '' : '?'}`);
  const media = Object.keys(content).map(esc).join(' or ');
  return `<br>Body (${media}): <code>${esc(name)}</code>${fields.length ? ` { ${fields.join(', ')} }` : ''}`;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}
