import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Injectable, type Type } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { buildOpenApi, discoverRoutes, type OpenApiDocument } from './openapi.builder';
import { renderOpenApiHtml } from './openapi.html';
import { ROUTE_DOCS } from './route-docs';

/** The OpenAPI document of the running application's own controllers, built once on first request. */
@Injectable()
export class OpenApiService {
  private doc: OpenApiDocument | null = null;
  private html: string | null = null;

  constructor(private readonly discovery: DiscoveryService) {}

  document(): OpenApiDocument {
    if (!this.doc) {
      const controllers = new Set<Type>();
      for (const wrapper of this.discovery.getControllers()) if (typeof wrapper.metatype === 'function') controllers.add(wrapper.metatype as Type);
      this.doc = buildOpenApi(discoverRoutes([...controllers], ROUTE_DOCS), packageVersion());
    }
    return this.doc;
  }

  page(): string {
    this.html ??= renderOpenApiHtml(this.document());
    return this.html;
  }
}

/** The version in the repository's package.json (above dist/ when built, above server/ in tests). */
function packageVersion(): string {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'mailpage') return pkg.version ?? '0.0.0';
  }
  return '0.0.0';
}
