import { Controller, Get, Header } from '@nestjs/common';
import { Public } from '../auth/auth.decorators';
import type { OpenApiDocument } from './openapi.builder';
import { OpenApiService } from './openapi.service';

/** The API's own description: public and read-only, built from the code (no configuration, no secrets). */
@Controller('api/docs')
@Public()
export class OpenApiController {
  constructor(private readonly openapi: OpenApiService) {}

  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  page(): string {
    return this.openapi.page();
  }

  @Get('openapi.json')
  document(): OpenApiDocument {
    return this.openapi.document();
  }
}
