import { Controller, Get, Headers, HttpCode, Param, Post, Req, Res, UploadedFiles, UseInterceptors } from '@nestjs/common';
import { FileFieldsInterceptor } from '@nestjs/platform-express';
import type { PreviewResult, SendAccepted, SendResult, SendStatusView } from '@mailpage/contract';
import type { Request, Response } from 'express';
import type { AuthContext } from '../auth/auth-context';
import { Auth } from '../auth/auth.decorators';
import { MailService } from './mail.service';
import { idempotencyKeyFrom, parseSendRequest, UPLOAD_LIMITS, uploadsFrom } from './send-request';

const UPLOAD_FIELDS = FileFieldsInterceptor([
  { name: 'attachments', maxCount: UPLOAD_LIMITS.attachments },
  { name: 'images', maxCount: UPLOAD_LIMITS.images },
]);

type Files = Record<string, Express.Multer.File[]> | undefined;

@Controller('api/mail')
export class MailController {
  constructor(private readonly mail: MailService) {}

  @Post('preview')
  @HttpCode(200)
  @UseInterceptors(UPLOAD_FIELDS)
  preview(@Auth() auth: AuthContext, @Req() req: Request, @UploadedFiles() files: Files): Promise<PreviewResult> {
    return this.mail.preview(auth, parseSendRequest(req), uploadsFrom(files));
  }

  @Post('send')
  @UseInterceptors(UPLOAD_FIELDS)
  async send(
    @Auth() auth: AuthContext,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
    @UploadedFiles() files: Files,
    @Headers('idempotency-key') key: string | undefined,
  ): Promise<SendResult | SendAccepted> {
    const outcome = await this.mail.send(auth, parseSendRequest(req), uploadsFrom(files), idempotencyKeyFrom(key));
    res.status(outcome.status);
    return outcome.body;
  }

  @Get('sends/:sendId')
  status(@Auth() auth: AuthContext, @Param('sendId') sendId: string): Promise<SendStatusView> {
    return this.mail.status(auth, sendId);
  }
}
