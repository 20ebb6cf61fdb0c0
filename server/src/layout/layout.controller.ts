import { Body, Controller, Get, HttpCode, Param, Post, Put } from '@nestjs/common';
import {
  layoutPreviewSchema,
  mailLayoutSchema,
  spaceMailSchema,
  type LayoutPreview,
  type MailLayoutParsed,
  type MailLayoutView,
  type SpaceMailView,
} from '@mailpage/contract';
import type { z } from 'zod';
import type { AuthContext } from '../auth/auth-context';
import { Auth, SiteAdmin } from '../auth/auth.decorators';
import { ZodPipe } from '../common/zod.pipe';
import { SpaceKeyPipe } from '../permissions/space-key.pipe';
import { MailLayoutService } from './layout.service';

@Controller('api')
export class LayoutController {
  constructor(private readonly layouts: MailLayoutService) {}

  @Get('settings/layout')
  @SiteAdmin()
  get(@Auth() auth: AuthContext): Promise<MailLayoutView> {
    return this.layouts.view(auth.tenantId);
  }

  @Put('settings/layout')
  @SiteAdmin()
  put(@Auth() auth: AuthContext, @Body(new ZodPipe(mailLayoutSchema)) body: MailLayoutParsed): Promise<MailLayoutView> {
    return this.layouts.save(auth.tenantId, body);
  }

  @Post('settings/layout/preview')
  @SiteAdmin()
  @HttpCode(200)
  preview(@Auth() auth: AuthContext, @Body(new ZodPipe(layoutPreviewSchema)) body: z.output<typeof layoutPreviewSchema>): Promise<LayoutPreview> {
    return this.layouts.preview(auth, body.layout);
  }

  @Get('spaces/:spaceKey/mail')
  getSpace(@Auth() auth: AuthContext, @Param('spaceKey', SpaceKeyPipe) spaceKey: string): Promise<SpaceMailView> {
    return this.layouts.spaceView(auth, spaceKey);
  }

  @Put('spaces/:spaceKey/mail')
  putSpace(@Auth() auth: AuthContext, @Param('spaceKey', SpaceKeyPipe) spaceKey: string, @Body(new ZodPipe(spaceMailSchema)) body: z.output<typeof spaceMailSchema>): Promise<SpaceMailView> {
    return this.layouts.saveSpace(auth, spaceKey, body);
  }
}
