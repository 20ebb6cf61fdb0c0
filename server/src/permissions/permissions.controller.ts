import { Body, Controller, Get, Param, Put } from '@nestjs/common';
import { globalPermissionsSchema, spacePermissionsSchema, type GlobalPermissions, type SpacePermissions, type SpacePermissionsView } from '@mailpage/contract';
import type { AuthContext } from '../auth/auth-context';
import { Auth, SiteAdmin } from '../auth/auth.decorators';
import { ZodPipe } from '../common/zod.pipe';
import { SpaceKeyPipe } from './space-key.pipe';
import { PermissionsService } from './permissions.service';

@Controller('api')
export class PermissionsController {
  constructor(private readonly permissions: PermissionsService) {}

  @Get('permissions')
  @SiteAdmin()
  getGlobal(@Auth() auth: AuthContext): Promise<GlobalPermissions> {
    return this.permissions.getGlobal(auth.tenantId);
  }

  @Put('permissions')
  @SiteAdmin()
  putGlobal(@Auth() auth: AuthContext, @Body(new ZodPipe(globalPermissionsSchema)) body: GlobalPermissions): Promise<GlobalPermissions> {
    return this.permissions.putGlobal(auth.tenantId, body);
  }

  @Get('spaces/:spaceKey/permissions')
  getSpace(@Auth() auth: AuthContext, @Param('spaceKey', SpaceKeyPipe) spaceKey: string): Promise<SpacePermissionsView> {
    return this.permissions.getSpace(auth, spaceKey);
  }

  @Put('spaces/:spaceKey/permissions')
  putSpace(@Auth() auth: AuthContext, @Param('spaceKey', SpaceKeyPipe) spaceKey: string, @Body(new ZodPipe(spacePermissionsSchema)) body: SpacePermissions): Promise<SpacePermissionsView> {
    return this.permissions.putSpace(auth, spaceKey, body);
  }
}
