import { Body, Controller, Headers, HttpCode, Post } from '@nestjs/common';
import { z } from 'zod';
import { DomainError } from '../common/domain-error';
import { normaliseInstallationId } from '../auth/auth-context';
import { Public } from '../auth/auth.decorators';
import { ForgeTokenVerifier } from '../auth/forge-token.verifier';
import { TenantsService } from './tenants.service';

const eventSchema = z.object({
  eventType: z.string().optional(),
  id: z.string().optional(),
});

/** Forge lifecycle events (installed, upgraded; uninstalled if the platform ever sends it). Answers at once. */
@Controller('forge')
export class LifecycleController {
  constructor(
    private readonly verifier: ForgeTokenVerifier,
    private readonly tenants: TenantsService,
  ) {}

  @Post('lifecycle')
  @Public()
  @HttpCode(204)
  async handle(@Headers('authorization') authorization: string | undefined, @Body() body: unknown): Promise<void> {
    const token = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
    if (!token) throw new DomainError('UNAUTHENTICATED', 401, 'Lifecycle events need the Forge invocation token.');
    const v = await this.verifier.verify(token);
    const event = eventSchema.safeParse(body ?? {});
    if (!event.success) throw new DomainError('VALIDATION_FAILED', 400, 'The lifecycle event is not an object with eventType and id.');
    const { eventType = '', id } = event.data;
    if (id && normaliseInstallationId(id) !== v.tenantId) {
      throw new DomainError('FORBIDDEN', 403, 'The event names another installation than its token.');
    }
    if (/uninstalled/.test(eventType)) await this.tenants.remove(v.tenantId);
    else if (/installed|upgraded/.test(eventType)) await this.tenants.touch(v.tenantId, v.apiBaseUrl);
    else throw new DomainError('VALIDATION_FAILED', 400, `Unknown lifecycle event type; expected avi:forge:installed:app, avi:forge:upgraded:app or an uninstalled event.`);
  }
}
