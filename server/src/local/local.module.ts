import { Global, Inject, Injectable, Module, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { LOCAL_TRUST, type LocalTrust } from '../auth/forge-token.verifier';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { MailSettingsEntity } from '../database/entities';
import { TenantsModule } from '../tenants/tenants.module';
import { TenantsService } from '../tenants/tenants.service';
import { MailCatcher } from './mail-catcher';
import { LocalSessionController } from './local-session.controller';
import { OutboxController } from './outbox.controller';
import { ConfluenceSandbox } from './sandbox/confluence-sandbox';

export const LOCAL_SENDER = 'mailpage@mailpage.test';

/** Starts the local parts, seeds the demo site's tenant, and stops them on shutdown. */
@Injectable()
class LocalRuntime implements OnModuleInit, OnApplicationShutdown {
  constructor(
    private readonly sandbox: ConfluenceSandbox,
    private readonly catcher: MailCatcher,
    private readonly tenants: TenantsService,
    @Inject(LOCAL_TRUST) private readonly trust: LocalTrust,
    @InjectDataSource() private readonly db: DataSource,
    private readonly clock: Clock,
  ) {}

  async onModuleInit(): Promise<void> {
    const t = this.trust.localTenant;
    await this.tenants.touch(t.id, t.apiBaseUrl);
    const repo = this.db.getRepository(MailSettingsEntity);
    if (!(await repo.existsBy({ tenantId: t.id }))) {
      // A fresh local start sends to the built-in catcher, so the first send works without any set-up.
      await repo.insert({
        tenantId: t.id,
        senderName: 'Mailpage (local)',
        senderAddress: LOCAL_SENDER,
        subjectPrefix: '[Mailpage]',
        serverMode: 'custom',
        host: '127.0.0.1',
        port: this.catcher.port,
        security: 'none',
        authType: 'none',
        username: null,
        passwordSealed: null,
        revision: 1,
        updatedAt: this.clock.now(),
      });
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled([this.sandbox.stop(), this.catcher.stop()]);
  }
}

/** Local mode only: the Confluence sandbox, the mail catcher and the outbox. Never imported in production. */
@Global()
@Module({
  imports: [TenantsModule],
  controllers: [OutboxController, LocalSessionController],
  providers: [
    {
      provide: ConfluenceSandbox,
      useFactory: async (config: AppConfig) => new ConfluenceSandbox().start(config.localSandboxPort),
      inject: [AppConfig],
    },
    {
      provide: MailCatcher,
      useFactory: async (config: AppConfig) => {
        const catcher = new MailCatcher();
        await catcher.start(config.localSmtpPort);
        return catcher;
      },
      inject: [AppConfig],
    },
    { provide: LOCAL_TRUST, useFactory: (s: ConfluenceSandbox) => s.trust(), inject: [ConfluenceSandbox] },
    LocalRuntime,
  ],
  exports: [LOCAL_TRUST, ConfluenceSandbox, MailCatcher],
})
export class LocalModule {}
