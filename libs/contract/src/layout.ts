import { z } from 'zod';
import { headerSafetyProblem } from './address';
import { forbiddenCssConstruct } from './css-rules';
import { headerText, mailboxAddress } from './fields';

/** Largest logo a site admin may upload (decoded bytes). */
export const LOGO_MAX_BYTES = 200 * 1024;
export const LOGO_TYPES = ['image/png', 'image/jpeg'] as const;
export const MAX_HEADER_TEXT = 200;
export const MAX_FOOTER_TEMPLATE = 2000;
export const MAX_CUSTOM_CSS = 20_000;

/** Text shown in the mail, not in a header: one line for the header, any lines for the footer; no NUL or other controls. */
const shownText = (field: string, max: number, multiline: boolean) =>
  z
    .string({ message: `${field} must be a string` })
    .max(max, `${field} is longer than ${max} characters`)
    .superRefine((v, ctx) => {
      const problem = headerSafetyProblem(multiline ? v.replace(/\r?\n|\t/g, ' ') : v);
      if (problem) ctx.addIssue({ code: 'custom', message: `${field} ${problem}` });
    });

/** GET/PUT /api/settings/layout (site admin): how every mail of the site looks around the page. */
export const mailLayoutSchema = z.strictObject({
  headerText: shownText('headerText', MAX_HEADER_TEXT, false).default(''),
  /** PNG or JPEG, base64, at most 200 kB; sent as an inline (CID) image. Omit to keep the saved logo, null to remove it. */
  logo: z
    .strictObject({
      contentType: z.enum(LOGO_TYPES, { message: 'logo.contentType must be image/png or image/jpeg' }),
      dataBase64: z
        .string({ message: 'logo.dataBase64 must be a string' })
        .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'logo.dataBase64 is not base64')
        .refine((v) => Math.floor((v.length * 3) / 4) - (v.match(/=+$/)?.[0].length ?? 0) <= LOGO_MAX_BYTES, `the logo is larger than ${LOGO_MAX_BYTES / 1024} kB`)
        .refine((v) => v.length > 0, 'the logo is empty'),
    })
    .nullable()
    .optional(),
  /** Plain text with placeholders {sender}, {link}, {page}, {space}, {date}; each value is HTML-escaped. */
  footerTemplate: shownText('footerTemplate', MAX_FOOTER_TEMPLATE, true).default(''),
  /** Sanitised and inlined by the composer; refused when it uses a construct that can fetch or run anything. */
  customCss: z
    .string({ message: 'customCss must be a string' })
    .max(MAX_CUSTOM_CSS, `customCss is longer than ${MAX_CUSTOM_CSS} characters`)
    .superRefine((v, ctx) => {
      const construct = forbiddenCssConstruct(v);
      if (construct) ctx.addIssue({ code: 'custom', message: `customCss uses ${construct}, which mail CSS may not use; remove it` });
    })
    .default(''),
  /** Add a line "Open this page in Confluence" with a link back to the page. */
  includePageLink: z.boolean({ message: 'includePageLink must be true or false' }).default(false),
  /** Let space admins set their own sender name, Reply-To and subject prefix (GET/PUT /api/spaces/:key/mail). */
  allowSpaceOverrides: z.boolean({ message: 'allowSpaceOverrides must be true or false' }).default(false),
});
export type MailLayoutInput = z.input<typeof mailLayoutSchema>;
export type MailLayoutParsed = z.output<typeof mailLayoutSchema>;

export interface MailLayoutView {
  headerText: string;
  /** The saved logo: its type and size (the bytes go out only in mail and in the preview). */
  logo: { contentType: (typeof LOGO_TYPES)[number]; size: number } | null;
  footerTemplate: string;
  customCss: string;
  includePageLink: boolean;
  allowSpaceOverrides: boolean;
  updatedAt: string | null;
}

/** POST /api/settings/layout/preview: a sample page composed with the given (or saved) layout. */
export const layoutPreviewSchema = z.strictObject({ layout: mailLayoutSchema.optional() });
export type LayoutPreviewRequest = z.input<typeof layoutPreviewSchema>;

export interface LayoutPreview {
  subject: string;
  /** The mail's HTML with its inline images as data: URIs, to show in a sandboxed frame. */
  html: string;
  text: string;
  size: number;
}

/** A space's sender overrides; null (or an empty string) keeps the site's value. */
export const spaceMailSchema = z.strictObject({
  senderName: headerText('senderName', 100).nullable().default(null),
  replyTo: z.union([z.literal(''), mailboxAddress('replyTo')]).nullable().default(null),
  subjectPrefix: headerText('subjectPrefix', 100).nullable().default(null),
});
export type SpaceMailInput = z.input<typeof spaceMailSchema>;

/** GET/PUT /api/spaces/:spaceKey/mail. */
export interface SpaceMailView {
  spaceKey: string;
  senderName: string | null;
  replyTo: string | null;
  subjectPrefix: string | null;
  /** Whether the site admin lets spaces override these; when false the values are kept but not used. */
  allowed: boolean;
  /** Whether the calling user may change them (a space admin or site admin, and `allowed`). */
  editable: boolean;
}
