import { Body, Controller, Delete, Get, HttpCode, Put, Query } from '@nestjs/common';
import { encryptionSettingsSchema, putKeySchema, type EncryptionSettingsView, type KeyKind, type MyKeysView, type PublicKeyView } from '@mailpage/contract';
import { z } from 'zod';
import type { AuthContext } from '../auth/auth-context';
import { Auth, SiteAdmin } from '../auth/auth.decorators';
import { parseOrThrow, ZodPipe } from '../common/zod.pipe';
import { EncryptionService } from './encryption.service';
import { KeysService } from './keys.service';

const kindSchema = z.object({ kind: z.enum(['pgp', 'smime'], { message: 'kind must be "pgp" or "smime"' }) });
const addressKeySchema = putKeySchema.extend({ email: z.string().min(3).max(320) });

@Controller('api')
export class KeysController {
  constructor(
    private readonly keys: KeysService,
    private readonly encryption: EncryptionService,
  ) {}

  @Get('me/keys')
  mine(@Auth() auth: AuthContext): Promise<MyKeysView> {
    return this.keys.mine(auth);
  }

  @Put('me/keys')
  putMine(@Auth() auth: AuthContext, @Body(new ZodPipe(putKeySchema)) body: z.output<typeof putKeySchema>): Promise<MyKeysView> {
    return this.keys.putMine(auth, body.kind, body.key);
  }

  @Delete('me/keys')
  deleteMine(@Auth() auth: AuthContext, @Query() query: unknown): Promise<MyKeysView> {
    return this.keys.deleteMine(auth, parseOrThrow(kindSchema, query).kind as KeyKind);
  }

  @Get('settings/encryption')
  @SiteAdmin()
  settings(@Auth() auth: AuthContext): Promise<EncryptionSettingsView> {
    return this.encryption.view(auth.tenantId);
  }

  @Put('settings/encryption')
  @SiteAdmin()
  putSettings(@Auth() auth: AuthContext, @Body(new ZodPipe(encryptionSettingsSchema)) body: z.output<typeof encryptionSettingsSchema>): Promise<EncryptionSettingsView> {
    return this.encryption.save(auth.tenantId, body);
  }

  /** Keys a site admin manages, for external recipients (and every user's, read-only here). */
  @Get('settings/encryption/keys')
  @SiteAdmin()
  all(@Auth() auth: AuthContext) {
    return this.keys.listAll(auth.tenantId);
  }

  @Put('settings/encryption/keys')
  @SiteAdmin()
  putForAddress(@Auth() auth: AuthContext, @Body(new ZodPipe(addressKeySchema)) body: z.output<typeof addressKeySchema>): Promise<PublicKeyView> {
    return this.keys.putForAddress(auth.tenantId, body.email, body.kind, body.key);
  }

  @Delete('settings/encryption/keys')
  @SiteAdmin()
  @HttpCode(204)
  async deleteForAddress(@Auth() auth: AuthContext, @Query() query: unknown): Promise<void> {
    const q = parseOrThrow(kindSchema.extend({ email: z.string().min(3).max(320) }), query);
    await this.keys.deleteForAddress(auth.tenantId, q.email, q.kind);
  }
}
