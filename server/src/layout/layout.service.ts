import { Injectable, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { LOGO_MAX_BYTES, type LayoutPreview, type MailLayoutParsed, type MailLayoutView, type spaceMailSchema, type SpaceMailView } from '@mailpage/contract';
import { DataSource } from 'typeorm';
import type { z } from 'zod';
import type { AuthContext } from '../auth/auth-context';
import { Clock } from '../common/clock';
import { DomainError } from '../common/domain-error';
import { ComposeService, type ComposeLayout } from '../compose/compose.service';
import { sniffImageType } from '../compose/mail-files';
import { ConfluenceClient } from '../confluence/confluence.client';
import { MailLayoutEntity, SpaceMailSettingsEntity } from '../database/entities';
import { PermissionsService } from '../permissions/permissions.service';
import { MailSettingsService } from '../settings/mail-settings.service';
import { RowCache } from '../settings/row-cache';
import { TenantCaches } from '../tenants/tenant-caches';

/** A space's sender overrides, where the site lets spaces have them. */
export interface SpaceOverrides {
  senderName: string | null;
  replyTo: string | null;
  subjectPrefix: string | null;
}

/** The layout as a send composes with it. */
export type LayoutForCompose = ComposeLayout & { allowSpaceOverrides: boolean };

/**
 * Sites whose layout a node keeps at a time. Fewer than the other caches: an entry holds the logo (up to 200 kB) and
 * the CSS (up to 20,000 characters), so this keeps a node's memory for layouts under about 60 MB.
 */
export const LAYOUT_CACHE_MAX_ENTRIES = 250;

const DEFAULT_LAYOUT: Omit<MailLayoutView, 'updatedAt'> = { headerText: '', logo: null, footerTemplate: '', customCss: '', includePageLink: false, allowSpaceOverrides: false };

const SAMPLE_TITLE = 'Release plan';
const SAMPLE_PAGE = [
  '<h1>Release plan</h1>',
  '<p>This is a sample page, to show how the layout looks around a page. The <strong>real</strong> page goes here.</p>',
  '<h2>Steps</h2>',
  '<ol><li><p>Read the release notes.</p></li><li><p>Build and test.</p></li><li><p>Ship.</p></li></ol>',
  '<table><tbody><tr><th><p>Owner</p></th><th><p>Due</p></th></tr><tr><td><p>Alice</p></td><td><p>Friday</p></td></tr></tbody></table>',
  '<pre>npm ci &amp;&amp; npm run build</pre>',
].join('');
const SAMPLE_MESSAGE = 'Here is the page we talked about.\nThe personal message a sender adds shows here.';

/**
 * The site's mail layout (header, logo, footer, CSS, link back to the page) and the sender overrides of spaces. Only
 * configuration is stored here, never mail content.
 */
@Injectable()
export class MailLayoutService {
  /**
   * What every send reads, kept for a few seconds: the site's layout (logo decoded) and each space's overrides. A
   * missing row is kept too, as the default it stands for. Admin screens, previews and saves read the database itself.
   */
  private readonly cachedLayouts: RowCache<Readonly<LayoutForCompose>>;
  private readonly cachedSpaces: RowCache<{ readonly overrides: Readonly<SpaceOverrides> | null }>;

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly clock: Clock,
    private readonly permissions: PermissionsService,
    private readonly composer: ComposeService,
    private readonly settings: MailSettingsService,
    private readonly confluence: ConfluenceClient,
    @Optional() caches?: TenantCaches,
  ) {
    this.cachedLayouts = new RowCache(clock, caches, { maxEntries: LAYOUT_CACHE_MAX_ENTRIES });
    this.cachedSpaces = new RowCache(clock, caches);
  }

  private get layouts() {
    return this.db.getRepository(MailLayoutEntity);
  }

  private get spaces() {
    return this.db.getRepository(SpaceMailSettingsEntity);
  }

  async view(tenantId: string): Promise<MailLayoutView> {
    return toView(await this.layouts.findOneBy({ tenantId }));
  }

  async save(tenantId: string, input: MailLayoutParsed): Promise<MailLayoutView> {
    const existing = await this.layouts.findOneBy({ tenantId });
    const row = this.toEntity(tenantId, input, existing);
    await this.layouts.save(row);
    this.cachedLayouts.drop(tenantId);
    return toView(row);
  }

  /**
   * The layout as the composer takes it: the saved one (cached on the node for a few seconds), or `unsaved` (the
   * preview of a form not yet saved, over what the database holds). The logo's bytes are shared by the sends that use
   * the cached layout: read them, never change them.
   */
  async forCompose(tenantId: string, unsaved?: MailLayoutParsed): Promise<LayoutForCompose> {
    if (unsaved) return this.readForCompose(tenantId, unsaved);
    const layout = await this.cachedLayouts.get(tenantId, null, async () => {
      const l = toCompose(await this.layouts.findOneBy({ tenantId }));
      return Object.freeze({ ...l, logo: l.logo && Object.freeze(l.logo) });
    });
    return { ...layout, logo: layout.logo && { ...layout.logo } };
  }

  /** From the database: the saved layout, or `unsaved` over it (a form's logo left out keeps the saved one). */
  private async readForCompose(tenantId: string, unsaved?: MailLayoutParsed): Promise<LayoutForCompose> {
    const saved = await this.layouts.findOneBy({ tenantId });
    return toCompose(unsaved ? this.toEntity(tenantId, unsaved, saved) : saved);
  }

  /** A sample page composed with the layout, its inline images as data: URIs so a sandboxed frame can show them. */
  async preview(auth: AuthContext, unsaved?: MailLayoutParsed): Promise<LayoutPreview> {
    // The admin is looking at the layout: what the database holds, not what sends use for a few more seconds.
    const [layout, mail, sender] = await Promise.all([this.readForCompose(auth.tenantId, unsaved), this.settings.view(auth.tenantId), this.senderName(auth)]);
    const rendered = await this.composer.render({
      title: SAMPLE_TITLE,
      html: SAMPLE_PAGE,
      pageUrl: auth.siteUrl ? `${auth.siteUrl.replace(/\/+$/, '')}/wiki/spaces/DOCS/pages/1/Release+plan` : 'https://example.atlassian.net/wiki/spaces/DOCS/pages/1/Release+plan',
      subjectPrefix: mail.subjectPrefix,
      from: { name: mail.senderName || undefined, address: mail.senderAddress || 'sender@example.com' },
      to: [{ address: 'reader@example.com' }],
      cc: [],
      images: [],
      attachments: [],
      messageIdDomain: 'mailpage.invalid',
      maxBytes: Number.MAX_SAFE_INTEGER,
      layout,
      message: SAMPLE_MESSAGE,
      senderName: sender,
      spaceKey: 'DOCS',
    });
    const built = await this.composer.build(rendered, {
      from: { name: mail.senderName || undefined, address: mail.senderAddress || 'sender@example.com' },
      to: [{ address: 'reader@example.com' }],
      cc: [],
      messageIdDomain: 'mailpage.invalid',
      maxBytes: Number.MAX_SAFE_INTEGER,
    });
    let html = rendered.html;
    for (const part of rendered.inline) html = html.split(`cid:${part.cid}`).join(`data:${part.contentType};base64,${part.content.toString('base64')}`);
    return { subject: rendered.subject, html, text: rendered.text, size: built.size };
  }

  // -------------------------------------------------------------------------------------------------------------
  // Sender overrides of a space.

  async spaceView(auth: AuthContext, spaceKey: string): Promise<SpaceMailView> {
    const [row, layout, admin] = await Promise.all([
      this.spaces.findOneBy({ tenantId: auth.tenantId, spaceKey }),
      this.layouts.findOneBy({ tenantId: auth.tenantId }),
      this.permissions.canAdministerSpace(auth, spaceKey),
    ]);
    const allowed = layout?.allowSpaceOverrides ?? false;
    return { spaceKey, senderName: row?.senderName ?? null, replyTo: row?.replyTo ?? null, subjectPrefix: row?.subjectPrefix ?? null, allowed, editable: allowed && admin };
  }

  async saveSpace(auth: AuthContext, spaceKey: string, input: z.output<typeof spaceMailSchema>): Promise<SpaceMailView> {
    if (!(await this.permissions.canAdministerSpace(auth, spaceKey))) {
      throw new DomainError('FORBIDDEN', 403, `Only an admin of space ${spaceKey} (or a site admin) can change its sender name, Reply-To and subject prefix.`);
    }
    if (!(await this.layouts.findOneBy({ tenantId: auth.tenantId }))?.allowSpaceOverrides) {
      throw new DomainError('FORBIDDEN', 403, 'A site admin has not allowed spaces to change the sender name, Reply-To or subject prefix. Ask a site admin.');
    }
    await this.spaces.save({
      tenantId: auth.tenantId,
      spaceKey,
      senderName: input.senderName?.trim() || null,
      replyTo: input.replyTo || null,
      subjectPrefix: input.subjectPrefix?.trim() ? input.subjectPrefix : null,
      updatedAt: this.clock.now(),
    });
    // All of the tenant's spaces: on MySQL a differently cased key may have found this row too.
    this.cachedSpaces.drop(auth.tenantId);
    return this.spaceView(auth, spaceKey);
  }

  /** The space's overrides a send uses (cached on the node for a few seconds): none unless the site allows them. */
  async spaceOverrides(tenantId: string, spaceKey: string | null, allowed: boolean): Promise<SpaceOverrides | null> {
    if (!spaceKey || !allowed) return null;
    const { overrides } = await this.cachedSpaces.get(tenantId, spaceKey, async () => {
      const row = await this.spaces.findOneBy({ tenantId, spaceKey });
      return Object.freeze({ overrides: row ? Object.freeze({ senderName: row.senderName, replyTo: row.replyTo, subjectPrefix: row.subjectPrefix }) : null });
    });
    return overrides && { ...overrides };
  }

  // -------------------------------------------------------------------------------------------------------------

  private async senderName(auth: AuthContext): Promise<string> {
    try {
      return (await this.confluence.getUser(auth, auth.accountId)).displayName;
    } catch {
      return 'A. Sender';
    }
  }

  private toEntity(tenantId: string, input: MailLayoutParsed, existing: MailLayoutEntity | null): MailLayoutEntity {
    let logoContentType = existing?.logoContentType ?? null;
    let logoBase64 = existing?.logoBase64 ?? null;
    if (input.logo === null) {
      logoContentType = null;
      logoBase64 = null;
    } else if (input.logo) {
      const bytes = Buffer.from(input.logo.dataBase64, 'base64');
      const sniffed = sniffImageType(bytes);
      if (bytes.length > LOGO_MAX_BYTES) throw logoProblem(`the logo is ${Math.ceil(bytes.length / 1024)} kB, over the limit of ${LOGO_MAX_BYTES / 1024} kB; use a smaller image`);
      if (sniffed !== 'image/png' && sniffed !== 'image/jpeg') throw logoProblem('the logo is not a PNG or JPEG image');
      logoContentType = sniffed;
      logoBase64 = bytes.toString('base64');
    }
    return Object.assign(new MailLayoutEntity(), {
      tenantId,
      headerText: input.headerText.trim(),
      logoContentType,
      logoBase64,
      footerTemplate: input.footerTemplate,
      customCss: input.customCss,
      includePageLink: input.includePageLink,
      allowSpaceOverrides: input.allowSpaceOverrides,
      updatedAt: this.clock.now(),
    } satisfies MailLayoutEntity);
  }
}

function toCompose(row: MailLayoutEntity | null): LayoutForCompose {
  if (!row) return { ...DEFAULT_LAYOUT, logo: null, css: '' };
  const logo = row.logoBase64 && row.logoContentType ? { filename: 'logo', contentType: row.logoContentType, content: Buffer.from(row.logoBase64, 'base64') } : null;
  return { headerText: row.headerText, logo, footerTemplate: row.footerTemplate, css: row.customCss, includePageLink: row.includePageLink, allowSpaceOverrides: row.allowSpaceOverrides };
}

function toView(row: MailLayoutEntity | null): MailLayoutView {
  if (!row) return { ...DEFAULT_LAYOUT, updatedAt: null };
  return {
    headerText: row.headerText,
    logo: row.logoBase64 && row.logoContentType ? { contentType: row.logoContentType, size: Buffer.byteLength(row.logoBase64, 'base64') } : null,
    footerTemplate: row.footerTemplate,
    customCss: row.customCss,
    includePageLink: row.includePageLink,
    allowSpaceOverrides: row.allowSpaceOverrides,
    updatedAt: row.updatedAt.toISOString(),
  };
}

function logoProblem(message: string): DomainError {
  return new DomainError('VALIDATION_FAILED', 400, `The layout is not valid: ${message}.`, { issues: [{ path: 'logo', message }] });
}
