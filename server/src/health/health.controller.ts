import { Controller, Get, HttpCode } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Public } from '../auth/auth.decorators';
import { DomainError } from '../common/domain-error';
import { Lifecycle } from './lifecycle-state';

@Controller()
@Public()
export class HealthController {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly lifecycle: Lifecycle,
  ) {}

  @Get('healthz')
  @HttpCode(200)
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('readyz')
  async ready(): Promise<{ status: 'ready' }> {
    if (this.lifecycle.draining) throw new DomainError('SERVICE_UNAVAILABLE', 503, 'This node is shutting down.');
    try {
      await this.db.query('SELECT 1');
    } catch {
      throw new DomainError('SERVICE_UNAVAILABLE', 503, 'The database is not reachable.');
    }
    return { status: 'ready' };
  }
}
