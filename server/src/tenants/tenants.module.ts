import { Module } from '@nestjs/common';
import { TenantCaches } from './tenant-caches';
import { TenantsService } from './tenants.service';

@Module({
  providers: [TenantsService, TenantCaches],
  exports: [TenantsService, TenantCaches],
})
export class TenantsModule {}
