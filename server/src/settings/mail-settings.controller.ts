import { Body, Controller, Get, HttpCode, Post, Put } from '@nestjs/common';
import { mailSettingsInputSchema, verifyRequestSchema, type MailSettingsParsed, type MailSettingsView, type VerifyResult } from '@mailpage/contract';
import type { z } from 'zod';
import type { AuthContext } from '../auth/auth-context';
import { Auth, SiteAdmin } from '../auth/auth.decorators';
import { ZodPipe } from '../common/zod.pipe';
import { MailSettingsService } from './mail-settings.service';
import { MailVerifyService } from './mail-verify.service';

@Controller('api/settings/mail')
@SiteAdmin()
export class MailSettingsController {
  constructor(
    private readonly settings: MailSettingsService,
    private readonly verifier: MailVerifyService,
  ) {}

  @Get()
  get(@Auth() auth: AuthContext): Promise<MailSettingsView> {
    return this.settings.view(auth.tenantId);
  }

  @Put()
  put(@Auth() auth: AuthContext, @Body(new ZodPipe(mailSettingsInputSchema)) body: MailSettingsParsed): Promise<MailSettingsView> {
    return this.settings.save(auth.tenantId, body);
  }

  @Post('verify')
  @HttpCode(200)
  verify(@Auth() auth: AuthContext, @Body(new ZodPipe(verifyRequestSchema)) body: z.output<typeof verifyRequestSchema>): Promise<VerifyResult> {
    return this.verifier.verify(auth, body);
  }
}
