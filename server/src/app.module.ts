import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { MulterModule } from '@nestjs/platform-express';
import { memoryStorage } from 'multer';
import type { Logger } from 'pino';
import { AuditController } from './audit/audit.controller';
import { AuditService } from './audit/audit.service';
import { AuthGuard } from './auth/auth.guard';
import { ForgeTokenVerifier } from './auth/forge-token.verifier';
import { ErrorFilter } from './common/error.filter';
import { ComposeService, PageRenderer } from './compose/compose.service';
import { RenderPool } from './compose/render-pool';
import { MailCryptoService, ProtectOffload } from './crypto/mail-crypto.service';
import { EncryptionService } from './keys/encryption.service';
import { KeysController } from './keys/keys.controller';
import { KeysService } from './keys/keys.service';
import { AppConfig } from './config/app-config';
import { CoreModule } from './config/config.module';
import { ConfluenceClient } from './confluence/confluence.client';
import { ConfluenceController } from './confluence/confluence.controller';
import { DatabaseModule } from './database/database.module';
import { HealthController } from './health/health.controller';
import { Lifecycle } from './health/lifecycle-state';
import { MailController } from './mail/mail.controller';
import { MailService } from './mail/mail.service';
import { SendLedger } from './mail/send-ledger';
import { multipartByteLimit } from './mail/send-request';
import { DkimSigner } from './mail/dkim';
import { RATE_LIMIT_OPTIONS, RateLimitService } from './mail/rate-limit.service';
import { OAuth2Tokens } from './mail/smtp/oauth2-tokens';
import { SMTP_POOL_OPTIONS, SmtpPool } from './mail/smtp/smtp-pool.service';
import { ProvidedQuota } from './settings/provided-quota.service';
import { PermissionsController } from './permissions/permissions.controller';
import { PermissionsService } from './permissions/permissions.service';
import { MailSettingsController } from './settings/mail-settings.controller';
import { MailSettingsService } from './settings/mail-settings.service';
import { MailVerifyService } from './settings/mail-verify.service';
import { LifecycleController } from './tenants/lifecycle.controller';
import { MetricsModule } from './metrics/metrics.module';
import { OpenApiModule } from './openapi/openapi.module';
import { LayoutController } from './layout/layout.controller';
import { MailLayoutService } from './layout/layout.service';
import { RecipientPolicyService } from './recipients/recipient-policy.service';
import { RecipientsController } from './recipients/recipients.controller';
import { TenantsModule } from './tenants/tenants.module';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, logger: Logger): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CoreModule.forRoot(config, logger),
        DatabaseModule,
        TenantsModule,
        MetricsModule.forRoot(config),
        OpenApiModule,
        MulterModule.register({
          storage: memoryStorage(),
          limits: { fileSize: config.limits.maxMailBytes + 1, files: 200, fields: 1000, fieldSize: config.limits.maxRequestBytes, parts: 1200 },
          // The whole body, not only each file, stays within the request limit (multer's types predate the option).
          ...({ streamHandler: multipartByteLimit(config.limits.maxRequestBytes) } as object),
        }),
        // The sandbox and the catcher are loaded only in local mode: production never even requires their code.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        ...(config.mode === 'local' ? [(require('./local/local.module') as typeof import('./local/local.module')).LocalModule] : []),
      ],
      controllers: [HealthController, LifecycleController, MailSettingsController, MailController, PermissionsController, AuditController, ConfluenceController, KeysController, LayoutController, RecipientsController],
      providers: [
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_FILTER, useValue: new ErrorFilter(logger) },
        {
          provide: SMTP_POOL_OPTIONS,
          useValue: {
            allowPrivateHosts: config.smtp.allowPrivateHosts,
            connectionTimeoutMs: config.smtp.connectionTimeoutMs,
            greetingTimeoutMs: config.smtp.greetingTimeoutMs,
            socketTimeoutMs: config.smtp.socketTimeoutMs,
            maxPools: config.smtp.poolSize,
            // Retries always end before a send would answer 202.
            retry: { deadlineMs: Math.max(0, Math.min(15_000, config.sendSyncTimeoutMs - 5_000)) },
          },
        },
        ForgeTokenVerifier,
        ConfluenceClient,
        Lifecycle,
        MailSettingsService,
        MailVerifyService,
        ComposeService,
        RenderPool,
        { provide: PageRenderer, useExisting: RenderPool },
        { provide: ProtectOffload, useExisting: RenderPool },
        SmtpPool,
        SendLedger,
        MailService,
        PermissionsService,
        AuditService,
        MailCryptoService,
        KeysService,
        EncryptionService,
        OAuth2Tokens,
        ProvidedQuota,
        DkimSigner,
        { provide: RATE_LIMIT_OPTIONS, useValue: config.rateLimits },
        RateLimitService,
        MailLayoutService,
        RecipientPolicyService,
      ],
    };
  }
}
