import { Controller, Get, Header, Headers } from '@nestjs/common';
import { Public } from '../auth/auth.decorators';
import { DomainError } from '../common/domain-error';
import { AppConfig } from '../config/app-config';
import { bearerMatches } from './metrics-auth';
import { MetricsService } from './metrics.service';

/**
 * /metrics on the main port, registered only when METRICS_TOKEN is set: for hosts that publish a single port.
 * Not a Forge route: it checks the metrics token itself, never a Forge or local admin token.
 */
@Controller('metrics')
@Public()
export class MetricsController {
  constructor(
    private readonly metrics: MetricsService,
    private readonly config: AppConfig,
  ) {}

  @Get()
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  @Header('cache-control', 'no-store')
  async scrape(@Headers('authorization') authorization: string | undefined): Promise<string> {
    const token = this.config.metrics.token;
    if (!token || !bearerMatches(authorization, token)) {
      throw new DomainError('UNAUTHENTICATED', 401, 'Metrics need Authorization: Bearer <METRICS_TOKEN>.');
    }
    return (await this.metrics.render()).body;
  }
}
