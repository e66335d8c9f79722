import { Module } from '@nestjs/common';
import { DEFAULT_PORTAL_WEB_DIR, PORTAL_WEB_DIR, PortalAssets } from './portal-assets';
import { PortalController } from './portal.controller';

/** Serves the tenant and admin web portal, built by Vite into dist/portal-web, at /portal. */
@Module({
  controllers: [PortalController],
  providers: [PortalAssets, { provide: PORTAL_WEB_DIR, useValue: DEFAULT_PORTAL_WEB_DIR }],
})
export class PortalModule {}
