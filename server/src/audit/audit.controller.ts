import { Body, Controller, Get, Put, Query } from '@nestjs/common';
import type { AuditPage } from '@mailpage/contract';
import { z } from 'zod';
import type { AuthContext } from '../auth/auth-context';
import { Auth, SiteAdmin } from '../auth/auth.decorators';
import { ZodPipe } from '../common/zod.pipe';
import { AuditService, type AuditQuery } from './audit.service';

const isoDate = (field: string) =>
  z
    .string()
    .refine((v) => !Number.isNaN(Date.parse(v)), `${field} must be a date such as 2026-11-01 or 2026-11-01T12:00:00Z`)
    .transform((v) => new Date(v));

const auditQuerySchema = z.object({
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1, 'limit must be 1 to 200').max(200, 'limit must be 1 to 200').default(50),
  spaceKey: z.string().max(255).optional(),
  outcome: z.enum(['sending', 'sent', 'failed', 'unknown'], { message: 'outcome must be sending, sent, failed or unknown' }).optional(),
  from: isoDate('from').optional(),
  to: isoDate('to').optional(),
});

const retentionSchema = z.strictObject({
  retentionDays: z.number().int('retentionDays must be a whole number').min(1, 'retentionDays must be 1 to 3650').max(3650, 'retentionDays must be 1 to 3650'),
});

@Controller('api/audit')
@SiteAdmin()
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  list(@Auth() auth: AuthContext, @Query(new ZodPipe(auditQuerySchema)) q: AuditQuery): Promise<AuditPage> {
    return this.audit.list(auth.tenantId, q);
  }

  @Get('retention')
  retention(@Auth() auth: AuthContext): Promise<{ retentionDays: number }> {
    return this.audit.retention(auth.tenantId);
  }

  @Put('retention')
  setRetention(@Auth() auth: AuthContext, @Body(new ZodPipe(retentionSchema)) body: { retentionDays: number }): Promise<{ retentionDays: number }> {
    return this.audit.setRetention(auth.tenantId, body.retentionDays);
  }
}
