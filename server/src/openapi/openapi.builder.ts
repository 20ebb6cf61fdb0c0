import { RequestMethod, type Type } from '@nestjs/common';
import { HTTP_CODE_METADATA, METHOD_METADATA, PATH_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { MetadataScanner } from '@nestjs/core';
import * as contract from '@mailpage/contract';
import { ERROR_CODES } from '@mailpage/contract';
import { z } from 'zod';
import { LOCAL_ADMIN_ROUTE, PUBLIC_ROUTE, SITE_ADMIN_ROUTE } from '../auth/auth.decorators';
import { ZodPipe } from '../common/zod.pipe';
import type { RouteDoc } from './route-docs';

type JsonSchema = Record<string, unknown>;

export type Access = 'public' | 'user' | 'site-admin' | 'local-admin' | 'metrics-token' | 'forge-lifecycle';

/** One route as Nest maps it, with what its metadata says about its input. */
export interface DiscoveredRoute {
  method: string;
  /** Nest's form: `/api/pages/:pageId/attachments`. */
  path: string;
  controller: string;
  handler: string;
  access: Access;
  status: number;
  body: { name: string; schema: z.ZodType; files: string[] } | null;
  /** Uploaded files (multipart) without named fields. */
  acceptsFiles: boolean;
  pathParams: string[];
  query: { name: string; required: boolean; schema: JsonSchema; description?: string }[];
  headers: string[];
  doc: RouteDoc | null;
}

interface RouteArg {
  index: number;
  data?: unknown;
  pipes?: unknown[];
}

export interface OpenApiDocument {
  openapi: string;
  info: { title: string; version: string; description: string };
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, JsonSchema>; securitySchemes: Record<string, JsonSchema> };
}

const scanner = new MetadataScanner();
// The contract's schemas by identity, so a body validated with one of them is named after it (sendRequestSchema → SendRequest).
const CONTRACT_SCHEMAS = new Map<unknown, string>(
  Object.entries(contract)
    .filter(([, value]) => value instanceof z.ZodType)
    .map(([name, value]) => [value, name.replace(/Schema$/, '').replace(/^./, (c) => c.toUpperCase())]),
);

/** Every route of the given controllers, read from Nest's own decorator metadata. */
export function discoverRoutes(controllers: Type[], docs: Readonly<Record<string, RouteDoc>> = {}): DiscoveredRoute[] {
  const routes: DiscoveredRoute[] = [];
  for (const controller of controllers) {
    const bases = asArray<string>(Reflect.getMetadata(PATH_METADATA, controller) ?? '/');
    for (const handler of scanner.getAllMethodNames(controller.prototype)) {
      const fn = (controller.prototype as Record<string, unknown>)[handler] as object;
      const paths = Reflect.getMetadata(PATH_METADATA, fn) as string | string[] | undefined;
      const requestMethod = Reflect.getMetadata(METHOD_METADATA, fn) as RequestMethod | undefined;
      if (paths === undefined || requestMethod === undefined) continue;
      const method = RequestMethod[requestMethod];
      const flag = (key: string) => (Reflect.getMetadata(key, fn) ?? Reflect.getMetadata(key, controller) ?? false) as boolean;
      const args = Object.entries((Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, handler) ?? {}) as Record<string, RouteArg>);
      for (const base of bases) {
        for (const sub of asArray<string>(paths)) {
          const path = joinPath(base, sub);
          const doc = docs[`${method} ${path}`] ?? null;
          const opId = `${controller.name}_${handler}`;
          const route: DiscoveredRoute = {
            method,
            path,
            controller: controller.name,
            handler,
            access: doc?.auth ?? (flag(PUBLIC_ROUTE) ? 'public' : flag(LOCAL_ADMIN_ROUTE) ? 'local-admin' : flag(SITE_ADMIN_ROUTE) ? 'site-admin' : 'user'),
            status: (Reflect.getMetadata(HTTP_CODE_METADATA, fn) as number | undefined) ?? (method === 'POST' ? 201 : 200),
            body: doc?.body ? { ...doc.body, files: doc.body.files ?? [] } : null,
            acceptsFiles: false,
            pathParams: [...path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]),
            query: [...(doc?.query ?? [])],
            headers: [],
            doc,
          };
          for (const [key, arg] of args) {
            const type = Number(key.split(':')[0]);
            const schema = zodSchemaOf(arg.pipes);
            const data = typeof arg.data === 'string' ? arg.data : undefined;
            if (type === RouteParamtypes.BODY && schema && !route.body) {
              route.body = { name: CONTRACT_SCHEMAS.get(schema) ?? `${opId}_body`, schema, files: [] };
            } else if (type === RouteParamtypes.QUERY && data) {
              if (!route.query.some((q) => q.name === data)) route.query.push({ name: data, required: false, schema: { type: 'string' } });
            } else if (type === RouteParamtypes.QUERY && schema) {
              route.query.push(...queryParams(schema));
            } else if (type === RouteParamtypes.HEADERS && data && data.toLowerCase() !== 'authorization') {
              route.headers.push(data.toLowerCase());
            } else if (type === RouteParamtypes.FILES || type === RouteParamtypes.FILE) {
              route.acceptsFiles = true;
            }
          }
          routes.push(route);
        }
      }
    }
  }
  return routes.sort((a, b) => a.path.localeCompare(b.path) || a.method.localeCompare(b.method));
}

/** The OpenAPI 3.1 document of the routes: request bodies from their zod schemas, responses by name. */
export function buildOpenApi(routes: DiscoveredRoute[], version: string): OpenApiDocument {
  const schemas: Record<string, JsonSchema> = {
    ApiError: {
      type: 'object',
      description: 'Every error: a stable code, a sentence a person can act on, and sometimes details.',
      properties: { code: { type: 'string', enum: [...ERROR_CODES] }, message: { type: 'string' }, details: { type: 'object' } },
      required: ['code', 'message'],
    },
  };
  const securitySchemes: Record<string, JsonSchema> = {
    forgeInvocationToken: {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description:
        'A Forge invocation token (in Confluence the platform adds it, with x-forge-oauth-user / x-forge-oauth-system), or in local mode the local admin token.',
    },
  };
  const paths: OpenApiDocument['paths'] = {};
  for (const route of routes) {
    const openPath = route.path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
    const parameters = [
      ...route.pathParams.map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
      ...route.query.map((q) => ({ name: q.name, in: 'query', required: q.required, schema: q.schema, ...(q.description ? { description: q.description } : {}) })),
      ...route.headers.map((name) => ({ name, in: 'header', required: false, schema: { type: 'string' } })),
    ];
    const operation: Record<string, unknown> = {
      operationId: `${route.controller}_${route.handler}`,
      tags: [route.controller.replace(/Controller$/, '')],
      summary: route.doc?.summary ?? `${route.method} ${route.path}`,
      'x-mailpage-access': route.access,
      security: securityOf(route.access, securitySchemes),
      ...(parameters.length ? { parameters } : {}),
    };
    if (route.body) {
      schemas[route.body.name] ??= inputSchema(route.body.schema);
      const ref = { $ref: `#/components/schemas/${route.body.name}` };
      const content: Record<string, unknown> = { 'application/json': { schema: ref } };
      if (route.body.files.length || route.acceptsFiles) {
        const file = { type: 'string', contentMediaType: 'application/octet-stream' };
        const fileFields = route.body.files.length ? route.body.files : ['files'];
        content['multipart/form-data'] = {
          schema: { allOf: [ref, { type: 'object', properties: Object.fromEntries(fileFields.map((f) => [f, { type: 'array', items: file }])) }] },
        };
      }
      operation.requestBody = { required: true, content };
    }
    operation.responses = responsesOf(route);
    (paths[openPath] ??= {})[route.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Mailpage API',
      version,
      description:
        'Generated at start-up from the server\'s routes. Request bodies come from the zod schemas in libs/contract; responses are named after the types in libs/contract/src. Every error answers `ApiError`.',
    },
    paths,
    components: { schemas, securitySchemes },
  };
}

/** The JSON Schema of what a client sends (zod 4, input side: before defaults and transforms). */
export function inputSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

function responsesOf(route: DiscoveredRoute): Record<string, unknown> {
  const named = route.doc?.response;
  const byStatus: Record<number, string> = typeof named === 'object' ? named : { [route.status]: named ?? 'JSON' };
  const responses: Record<string, unknown> = {};
  for (const [status, name] of Object.entries(byStatus)) {
    if (status === '204') {
      responses[status] = { description: 'No content' };
      continue;
    }
    const media = route.doc?.produces ?? 'application/json';
    responses[status] = { description: name, 'x-mailpage-type': name, content: { [media]: {} } };
  }
  responses.default = { description: 'ApiError', content: { 'application/json': { schema: { $ref: '#/components/schemas/ApiError' } } } };
  return responses;
}

function securityOf(access: Access, schemes: Record<string, JsonSchema>): Record<string, string[]>[] {
  if (access === 'public') return [];
  if (access === 'metrics-token') {
    schemes.metricsToken ??= { type: 'http', scheme: 'bearer', description: 'The METRICS_TOKEN the operator set.' };
    return [{ metricsToken: [] }];
  }
  return [{ forgeInvocationToken: [] }];
}

function queryParams(schema: z.ZodType): DiscoveredRoute['query'] {
  const json = inputSchema(schema);
  const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(properties).map(([name, s]) => ({ name, required: required.has(name), schema: s }));
}

function zodSchemaOf(pipes: unknown[] | undefined): z.ZodType | null {
  for (const pipe of pipes ?? []) {
    // ZodPipe keeps its schema as a (TypeScript-private) field: the very schema the route validates with.
    if (pipe instanceof ZodPipe) return (pipe as unknown as { schema: z.ZodType }).schema;
  }
  return null;
}

function joinPath(base: string, sub: string): string {
  const parts = [base, sub].map((p) => p.replace(/^\/+|\/+$/g, '')).filter(Boolean);
  return `/${parts.join('/')}`;
}

function asArray<T>(v: T | T[]): T[] {
  return Array.isArray(v) ? v : [v];
}
