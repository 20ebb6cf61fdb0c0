import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Post, Put, Query, UploadedFiles } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Public, SiteAdmin } from '../auth/auth.decorators';
import { AuditController } from '../audit/audit.controller';
import { ZodPipe } from '../common/zod.pipe';
import { HealthController } from '../health/health.controller';
import { MailController } from '../mail/mail.controller';
import { MetricsController } from '../metrics/metrics.controller';
import { MailSettingsController } from '../settings/mail-settings.controller';
import { buildOpenApi, discoverRoutes } from './openapi.builder';
import { renderOpenApiHtml } from './openapi.html';
import { ROUTE_DOCS } from './route-docs';

const noteSchema = z.strictObject({ text: z.string().max(10), pinned: z.boolean().default(false) });

@Controller('api/notes')
@SiteAdmin()
class NotesController {
  @Get(':noteId')
  get(@Param('noteId') _id: string, @Query('format') _format?: string) {}

  @Post()
  @HttpCode(200)
  create(@Body(new ZodPipe(noteSchema)) _body: unknown, @Headers('idempotency-key') _key?: string, @Headers('authorization') _auth?: string) {}

  @Put('upload')
  upload(@UploadedFiles() _files: unknown) {}

  @Delete()
  @Public()
  remove() {}

  helper() {}
}

describe('OpenAPI from Nest metadata', () => {
  it('finds every route with its method, path, parameters, status and access', () => {
    const routes = discoverRoutes([NotesController]);
    expect(routes.map((r) => [r.method, r.path, r.status, r.access])).toEqual([
      ['DELETE', '/api/notes', 200, 'public'],
      ['POST', '/api/notes', 200, 'site-admin'],
      ['GET', '/api/notes/:noteId', 200, 'site-admin'],
      ['PUT', '/api/notes/upload', 200, 'site-admin'],
    ]);
    const get = routes.find((r) => r.method === 'GET')!;
    expect([get.pathParams, get.query.map((q) => q.name)]).toEqual([['noteId'], ['format']]);
    const post = routes.find((r) => r.method === 'POST')!;
    expect(post.headers).toEqual(['idempotency-key']);
    expect(post.body?.schema).toBe(noteSchema);
    expect(routes.find((r) => r.method === 'PUT')!.acceptsFiles).toBe(true);
  });

  it('writes request bodies as JSON Schema of what the client sends, and path ids in OpenAPI form', () => {
    const doc = buildOpenApi(discoverRoutes([NotesController]), '1.2.3');
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual(['/api/notes', '/api/notes/upload', '/api/notes/{noteId}']);
    const post = doc.paths['/api/notes'].post as { requestBody: { content: Record<string, { schema: { $ref: string } }> }; security: unknown };
    const name = post.requestBody.content['application/json'].schema.$ref.split('/').pop()!;
    expect(doc.components.schemas[name]).toMatchObject({ type: 'object', properties: { text: { type: 'string', maxLength: 10 }, pinned: { type: 'boolean', default: false } }, required: ['text'], additionalProperties: false });
    expect(doc.components.schemas[name]).not.toHaveProperty('$schema');
    expect(post.security).toEqual([{ forgeInvocationToken: [] }]);
    expect((doc.paths['/api/notes'].delete as { security: unknown }).security).toEqual([]);
    expect(doc.components.schemas.ApiError).toMatchObject({ required: ['code', 'message'] });
  });

  it("gives /api/mail/send its SendRequest body, JSON or multipart, with to, cc, bcc and encryption, and names both answers", () => {
    const doc = buildOpenApi(discoverRoutes([MailController], ROUTE_DOCS), '1');
    const send = doc.paths['/api/mail/send'].post as {
      requestBody: { content: Record<string, { schema: { $ref?: string; allOf?: unknown[] } }> };
      responses: Record<string, { description: string }>;
      parameters: { name: string; in: string }[];
    };
    expect(send.requestBody.content['application/json'].schema.$ref).toBe('#/components/schemas/SendRequest');
    expect(Object.keys(send.requestBody.content)).toEqual(['application/json', 'multipart/form-data']);
    const schema = doc.components.schemas.SendRequest as { properties: Record<string, unknown> };
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['to', 'cc', 'bcc', 'encryption', 'title', 'html', 'pageId', 'attachmentIds']));
    expect(schema.properties.encryption).toMatchObject({ enum: ['auto', 'none', 'pgp', 'smime'] });
    expect(send.responses['200'].description).toBe('SendResult');
    expect(send.responses['202'].description).toBe('SendAccepted');
    expect(send.parameters).toContainEqual(expect.objectContaining({ name: 'idempotency-key', in: 'header' }));
    expect(doc.paths['/api/mail/sends/{sendId}'].get).toMatchObject({ parameters: [{ name: 'sendId', in: 'path', required: true }] });
  });

  it('names bodies after the contract schema a route validates with, and turns a query schema into parameters', () => {
    const doc = buildOpenApi(discoverRoutes([MailSettingsController, AuditController, HealthController, MetricsController], ROUTE_DOCS), '1');
    expect((doc.paths['/api/settings/mail'].put as { requestBody: { content: { 'application/json': { schema: { $ref: string } } } } }).requestBody.content['application/json'].schema.$ref).toBe(
      '#/components/schemas/MailSettingsInput',
    );
    expect(doc.components.schemas.VerifyRequest).toBeDefined();
    const audit = doc.paths['/api/audit'].get as { parameters: { name: string; required: boolean }[]; 'x-mailpage-access': string };
    expect(audit.parameters.map((p) => p.name)).toEqual(['cursor', 'limit', 'spaceKey', 'outcome', 'from', 'to']);
    expect(audit['x-mailpage-access']).toBe('site-admin');
    expect(doc.paths['/healthz'].get).toMatchObject({ security: [], responses: { 200: { description: '{ status: "ok" }' } } });
    expect(doc.paths['/metrics'].get).toMatchObject({ security: [{ metricsToken: [] }], responses: { 200: { content: { 'text/plain': {} } } } });
  });

  it('renders a plain page without scripts or anything fetched from elsewhere, escaping every value', () => {
    const doc = buildOpenApi(discoverRoutes([MailController, NotesController], { ...ROUTE_DOCS, 'GET /api/notes/:noteId': { summary: '<script>alert(1)</script>', response: 'Note' } }), '1');
    const html = renderOpenApiHtml(doc);
    expect(html).toContain('<code>/api/mail/send</code>');
    expect(html).toContain('<code>SendRequest</code> { <code>pageId</code>?');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toMatch(/<script|<link|<style|style=|src=|https?:\/\//i);
  });
});
