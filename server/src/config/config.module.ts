import { Global, Module, type DynamicModule } from '@nestjs/common';
import type { Logger } from 'pino';
import { ConfigModule } from '@nestjs/config';
import { Clock } from '../common/clock';
import { SecretBox } from '../secrets/secret-box';
import { AppConfig } from './app-config';

/** The pino logger, for services that log (metadata only: ids, counts, sizes, codes, durations). */
export const LOGGER = Symbol('LOGGER');

/** Typed configuration (validated once, at boot), the clock and the secret box, for every module. */
@Global()
@Module({})
export class CoreModule {
  static forRoot(config: AppConfig, logger: Logger): DynamicModule {
    return {
      module: CoreModule,
      imports: [ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, load: [() => ({ mailpage: config })] })],
      providers: [{ provide: AppConfig, useValue: config }, { provide: LOGGER, useValue: logger }, Clock, SecretBox],
      exports: [AppConfig, LOGGER, Clock, SecretBox],
    };
  }
}
