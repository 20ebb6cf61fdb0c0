import { deflateSync } from 'node:zlib';

/** The sandbox's demo Confluence site: users, groups, spaces, pages, attachments. Local mode and the tests use the same data. */
export interface DemoUser {
  accountId: string;
  displayName: string;
  /** null: the user hides their email (Confluence privacy setting). */
  email: string | null;
  /** Only the app can read a hidden email (`/user/email`). */
  realEmail: string;
  groups: string[];
  siteAdmin: boolean;
}

/** Who may do something: named users, or members of named groups. */
export interface DemoGrant {
  users: string[];
  groups: string[];
}

export interface DemoSpace {
  id: string;
  key: string;
  name: string;
  homepageId: string;
  view: DemoGrant;
  administer: DemoGrant;
}

export interface DemoAttachment {
  /** v2 and v1 both spell attachment ids `att<number>`. */
  id: string;
  pageId: string;
  title: string;
  mediaType: string;
  content: Buffer;
  /** The media platform's file id (`fileId` in v2), where the download redirect points. */
  fileId: string;
  createdAt: string;
}

export interface DemoPage {
  id: string;
  spaceId: string;
  title: string;
  parentId: string | null;
  authorId: string;
  createdAt: string;
  version: number;
  /** null: everyone who may view the space; else only these accounts (a page view restriction). */
  restrictedTo: string[] | null;
  /** The export view as Confluence renders it; `base` is the site's `/wiki` URL (`_links.base`). */
  exportView: (base: string) => string;
  /** The storage format, for `body-format=storage`. */
  storage: string;
}

export const DEMO_CLOUD_ID = 'c10ud000-0000-4000-8000-00000000c0de';
export const DEMO_INSTALLATION_ID = '1a57a11e-0000-4000-8000-00000000c0de';
export const DEMO_APP_ID = 'ari:cloud:ecosystem::app/0a11ce00-0000-4000-8000-00000000beef';

export const DEMO_GROUPS = ['confluence-users', 'writers', 'confluence-administrators', 'marketing'];

export const DEMO_USERS: DemoUser[] = [
  { accountId: 'sandbox-admin', displayName: 'Sam Admin', email: 'sam.admin@example.com', realEmail: 'sam.admin@example.com', groups: ['confluence-administrators', 'confluence-users'], siteAdmin: true },
  { accountId: 'alice', displayName: 'Alice Writer', email: 'alice@example.com', realEmail: 'alice@example.com', groups: ['confluence-users', 'writers'], siteAdmin: false },
  { accountId: 'bob', displayName: 'Bob Reader', email: 'bob@example.com', realEmail: 'bob@example.com', groups: ['confluence-users'], siteAdmin: false },
  { accountId: 'carol', displayName: 'Carol Hidden', email: null, realEmail: 'carol@example.com', groups: ['confluence-users', 'writers'], siteAdmin: false },
  { accountId: 'dave', displayName: 'Dave Marketing', email: 'dave@example.com', realEmail: 'dave@example.com', groups: ['confluence-users', 'marketing'], siteAdmin: false },
];

export const DEMO_SPACES: DemoSpace[] = [
  {
    id: '163841',
    key: 'DOCS',
    name: 'Documentation',
    homepageId: '163845',
    view: { users: [], groups: ['confluence-users'] },
    administer: { users: ['alice', 'sandbox-admin'], groups: [] },
  },
  {
    id: '196609',
    key: 'ENG',
    name: 'Engineering',
    homepageId: '196613',
    view: { users: [], groups: ['confluence-users'] },
    administer: { users: ['bob'], groups: [] },
  },
];

// ---------------------------------------------------------------------------------------------------------------
// Real, small files, made at start: PNGs with zlib (no file on disk), a one-page PDF, text files.

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Buffer): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** An 8-bit RGB PNG whose pixels `pixel(x, y)` paints. */
export function makePng(width: number, height: number, pixel: (x: number, y: number) => [number, number, number]): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // colour type: truecolour
  const raw = Buffer.alloc(height * (1 + width * 3));
  for (let y = 0; y < height; y++) {
    const row = y * (1 + width * 3); // each scanline starts with filter type 0
    for (let x = 0; x < width; x++) raw.set(pixel(x, y), row + 1 + x * 3);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(raw)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

function makePdf(text: string): Buffer {
  const stream = `BT /F1 18 Tf 72 720 Td (${text.replace(/[()\\]/g, '\\$&')}) Tj ET`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

const ARCHITECTURE_PNG = makePng(48, 32, (x, y) => [40 + x * 4, 80 + y * 4, 200]);
const LOGO_PNG = makePng(16, 16, (x, y) => ((x >> 2) + (y >> 2)) % 2 ? [0, 82, 204] : [255, 255, 255]);
const SYSTEM_DIAGRAM_PNG = makePng(64, 40, (x, y) => (x % 16 < 2 || y % 10 < 2 ? [23, 43, 77] : [222, 235, 255]));

/** A small flow diagram as Confluence users upload it from draw.io or Illustrator: SVG, which mail clients do not show. */
const FLOW_SVG = Buffer.from(
  [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<svg xmlns="http://www.w3.org/2000/svg" width="360" height="90" viewBox="0 0 360 90">',
    '<rect width="360" height="90" fill="#ffffff"/>',
    '<g font-family="DejaVu Sans, Arial, sans-serif" font-size="14" text-anchor="middle">',
    '<rect x="10" y="25" width="90" height="40" rx="6" fill="#deebff" stroke="#0052cc"/><text x="55" y="50">Write</text>',
    '<rect x="135" y="25" width="90" height="40" rx="6" fill="#fffae6" stroke="#ff991f"/><text x="180" y="50">Review</text>',
    '<rect x="260" y="25" width="90" height="40" rx="6" fill="#e3fcef" stroke="#00875a"/><text x="305" y="50">Ship</text>',
    '</g>',
    '<path d="M100 45 H131 M225 45 H256" stroke="#172b4d" stroke-width="2"/>',
    '<path d="M131 40 L135 45 L131 50 Z M256 40 L260 45 L256 50 Z" fill="#172b4d"/>',
    '</svg>',
  ].join('\n'),
);

const CREATED = '2024-05-29T08:00:00.000Z';
const MODIFIED = 1717000000000;

function attachment(id: number, pageId: string, title: string, mediaType: string, content: Buffer): DemoAttachment {
  return { id: `att${id}`, pageId, title, mediaType, content, fileId: `f11e${String(id).padStart(8, '0')}-0000-4000-8000-000000000000`, createdAt: CREATED };
}

export const DEMO_ATTACHMENTS: DemoAttachment[] = [
  attachment(163846, '163845', 'architecture.png', 'image/png', ARCHITECTURE_PNG),
  attachment(163847, '163845', 'logo.png', 'image/png', LOGO_PNG),
  attachment(163848, '163845', 'handbook.pdf', 'application/pdf', makePdf('Mailpage demo handbook')),
  attachment(163849, '163845', 'checklist.txt', 'text/plain', Buffer.from('Release checklist\n\n1. Read the release notes.\n2. Build.\n3. Ship.\n')),
  attachment(163851, '163850', 'changes.txt', 'text/plain', Buffer.from('2.0: pages can be sent as mail.\n1.0: first release.\n')),
  attachment(163861, '163860', 'release-flow.svg', 'image/svg+xml', FLOW_SVG),
  attachment(163862, '163860', 'meeting-notes.txt', 'text/plain', Buffer.from('Release review, 3 June: go.\n')),
  attachment(196614, '196613', 'system-diagram.png', 'image/png', SYSTEM_DIAGRAM_PNG),
  attachment(196615, '196613', 'runbook.txt', 'text/plain', Buffer.from('When the pager goes off: look at the dashboard, then the logs.\n')),
  attachment(196621, '196620', 'plans.txt', 'text/plain', Buffer.from('Only Bob may read this.\n')),
];

/** `<img>` of an attachment as the export view renders it (attributes as Confluence Cloud writes them). */
function embeddedImage(base: string, att: DemoAttachment, opts: { alt?: string; width?: number; thumbnail?: boolean } = {}): string {
  const href = `${base}/download/${opts.thumbnail ? 'thumbnails' : 'attachments'}/${att.pageId}/${encodeURIComponent(att.title)}?version=1&amp;modificationDate=${MODIFIED}&amp;api=v2`;
  return (
    `<span class="confluence-embedded-file-wrapper${opts.width ? ' confluence-embedded-manual-size' : ''}">` +
    `<img class="confluence-embedded-image${opts.thumbnail ? ' confluence-thumbnail' : ''}"${opts.width ? ` width="${opts.width}"` : ''}` +
    ` src="${href}" data-image-src="${href}" data-unresolved-comment-count="0" data-linked-resource-id="${att.id.slice(3)}"` +
    ` data-linked-resource-version="1" data-linked-resource-type="attachment" data-linked-resource-default-alias="${att.title}"` +
    ` data-base-url="${base}" data-linked-resource-content-type="${att.mediaType}" data-linked-resource-container-id="${att.pageId}"` +
    ` data-linked-resource-container-version="3"${opts.alt ? ` alt="${opts.alt}"` : ''}></span>`
  );
}

function att(id: string): DemoAttachment {
  const found = DEMO_ATTACHMENTS.find((a) => a.id === id);
  if (!found) throw new Error(`no demo attachment ${id}`);
  return found;
}

export const DEMO_PAGES: DemoPage[] = [
  {
    id: '163845',
    spaceId: '163841',
    title: 'Getting started',
    parentId: null,
    authorId: 'alice',
    createdAt: CREATED,
    version: 3,
    restrictedTo: null,
    storage: '<h1>Welcome to the documentation</h1><p>This space holds the <strong>team handbook</strong>.</p><ac:image><ri:attachment ri:filename="architecture.png" /></ac:image>',
    exportView: (base) =>
      [
        '<h1 id="Gettingstarted-Welcometothedocumentation">Welcome to the documentation</h1>',
        '<p>This space holds the <strong>team handbook</strong>: how we write, review and ship. Start with the overview below.</p>',
        '<div class="confluence-information-macro confluence-information-macro-information conf-macro output-block" data-hasbody="true" data-macro-name="info">' +
          '<span class="aui-icon aui-icon-small aui-iconfont-info confluence-information-macro-icon"> </span>' +
          '<div class="confluence-information-macro-body"><p>Read the checklist before your first release.</p></div></div>',
        `<p>${embeddedImage(base, att('att163846'), { alt: 'Architecture overview', width: 480 })}</p>`,
        '<h2 id="Gettingstarted-Steps">Steps</h2>',
        '<div class="table-wrap"><table data-table-width="760" data-layout="default" class="confluenceTable"><colgroup><col style="width: 200.0px;"><col style="width: 560.0px;"></colgroup><tbody>' +
          '<tr><th class="confluenceTh"><p><strong>Step</strong></p></th><th class="confluenceTh"><p><strong>What to do</strong></p></th></tr>' +
          '<tr><td class="confluenceTd"><p>1</p></td><td class="confluenceTd"><p>Read the <a href="/wiki/spaces/DOCS/pages/163850/Release+notes" data-linked-resource-id="163850" data-linked-resource-version="2" data-linked-resource-type="page">release notes</a>.</p></td></tr>' +
          '<tr><td class="confluenceTd"><p>2</p></td><td class="confluenceTd"><p>Build the project.</p></td></tr>' +
          '</tbody></table></div>',
        '<div class="code panel pdl conf-macro output-block" style="border-width: 1px;" data-hasbody="true" data-macro-name="code"><div class="codeContent panelContent pdl">' +
          '<pre class="syntaxhighlighter-pre" data-syntaxhighlighter-params="brush: bash; gutter: false; theme: Confluence" data-theme="Confluence">npm ci &amp;&amp; npm run build</pre></div></div>',
        `<p>Our logo: ${embeddedImage(base, att('att163847'), { alt: 'Logo', thumbnail: true })} and again, full size: ${embeddedImage(base, att('att163847'), { alt: 'Logo' })}</p>`,
        '<p>Partner badge: <img class="confluence-embedded-image confluence-external-resource" src="https://images.example.com/badge.png" data-image-src="https://images.example.com/badge.png" alt="Partner badge"></p>',
        `<p>The handbook as PDF: <a href="${base}/download/attachments/163845/handbook.pdf?version=1&amp;modificationDate=${MODIFIED}&amp;api=v2" data-linked-resource-id="163848" data-linked-resource-version="1" data-linked-resource-type="attachment" data-linked-resource-default-alias="handbook.pdf" data-nice-type="PDF Document" data-linked-resource-content-type="application/pdf" data-linked-resource-container-id="163845" data-linked-resource-container-version="3">handbook.pdf</a></p>`,
      ].join('\n'),
  },
  {
    id: '163850',
    spaceId: '163841',
    title: 'Release notes',
    parentId: '163845',
    authorId: 'carol',
    createdAt: CREATED,
    version: 2,
    restrictedTo: null,
    storage: '<h1>Release notes</h1><ul><li>2.0: pages can be sent as mail.</li></ul>',
    exportView: () =>
      [
        '<h1 id="Releasenotes-Releasenotes">Release notes</h1>',
        '<ul><li><p><strong>2.0</strong>: pages can be sent as mail.</p></li><li><p><strong>1.0</strong>: first release.</p></li></ul>',
        '<p>See <a href="/wiki/spaces/DOCS/pages/163845/Getting+started" data-linked-resource-id="163845" data-linked-resource-type="page">Getting started</a>.</p>',
      ].join('\n'),
  },
  {
    id: '163860',
    spaceId: '163841',
    title: 'Macro gallery',
    parentId: '163845',
    authorId: 'alice',
    createdAt: CREATED,
    version: 4,
    restrictedTo: null,
    storage:
      '<ac:structured-macro ac:name="toc" ac:schema-version="1" />' +
      '<h1>Macro gallery</h1><p>Status: <ac:structured-macro ac:name="status" ac:schema-version="1"><ac:parameter ac:name="colour">Green</ac:parameter><ac:parameter ac:name="title">Approved</ac:parameter></ac:structured-macro></p>' +
      '<ac:structured-macro ac:name="info" ac:schema-version="1"><ac:rich-text-body><p>The staging site is rebuilt every night at 02:00.</p></ac:rich-text-body></ac:structured-macro>' +
      '<ac:structured-macro ac:name="expand" ac:schema-version="1"><ac:parameter ac:name="title">Rollback steps</ac:parameter><ac:rich-text-body><ol><li><p>Stop the workers.</p></li></ol></ac:rich-text-body></ac:structured-macro>',
    // The export view as Confluence Cloud renders these macros (class names, data-macro-* attributes, the browser-side
    // parts that stay empty: the table of contents and the page tree are filled in by script).
    exportView: (base) =>
      [
        '<div class="toc-macro client-side-toc-macro conf-macro output-block" data-headerelements="H1,H2,H3,H4,H5,H6,H7" data-hasbody="false" data-macro-id="6f1c2b8e-3d4a-4b1e-9c55-0d2f7a9e1b01" data-macro-name="toc"> </div>',
        '<h1 id="Macrogallery-Macrogallery">Macro gallery</h1>',
        '<p>Every macro the team uses, on one page. Page status: ' +
          '<span class="status-macro aui-lozenge aui-lozenge-visual-refresh aui-lozenge-success conf-macro output-inline" data-hasbody="false" data-macro-id="0a9b7c51-1c7d-4e0e-8a8c-4f3e2d1c0b02" data-macro-name="status">Approved</span> ' +
          '<span class="status-macro aui-lozenge aui-lozenge-visual-refresh aui-lozenge-current conf-macro output-inline" data-hasbody="false" data-macro-id="0a9b7c51-1c7d-4e0e-8a8c-4f3e2d1c0b03" data-macro-name="status">In review</span> ' +
          '<span class="status-macro aui-lozenge aui-lozenge-visual-refresh aui-lozenge-error conf-macro output-inline" data-hasbody="false" data-macro-id="0a9b7c51-1c7d-4e0e-8a8c-4f3e2d1c0b04" data-macro-name="status">Blocked</span> ' +
          '<span class="status-macro aui-lozenge aui-lozenge-visual-refresh conf-macro output-inline" data-hasbody="false" data-macro-id="0a9b7c51-1c7d-4e0e-8a8c-4f3e2d1c0b05" data-macro-name="status">Draft</span></p>',
        '<h2 id="Macrogallery-Panels">Panels</h2>',
        '<div class="confluence-information-macro confluence-information-macro-information conf-macro output-block" data-hasbody="true" data-macro-id="7d3e9f10-2b4c-4a5d-8e6f-1a2b3c4d5e06" data-macro-name="info">' +
          '<span class="aui-icon aui-icon-small aui-iconfont-info confluence-information-macro-icon"> </span>' +
          '<div class="confluence-information-macro-body"><p>The staging site is rebuilt every night at 02:00.</p></div></div>',
        '<div class="confluence-information-macro confluence-information-macro-note conf-macro output-block" data-hasbody="true" data-macro-id="7d3e9f10-2b4c-4a5d-8e6f-1a2b3c4d5e07" data-macro-name="note">' +
          '<p class="title">Before you deploy</p><span class="aui-icon aui-icon-small aui-iconfont-warning confluence-information-macro-icon"> </span>' +
          '<div class="confluence-information-macro-body"><p>Tell the on-call engineer in the releases channel.</p></div></div>',
        '<div class="confluence-information-macro confluence-information-macro-warning conf-macro output-block" data-hasbody="true" data-macro-id="7d3e9f10-2b4c-4a5d-8e6f-1a2b3c4d5e08" data-macro-name="warning">' +
          '<span class="aui-icon aui-icon-small aui-iconfont-error confluence-information-macro-icon"> </span>' +
          '<div class="confluence-information-macro-body"><p>Never run the migration twice against production.</p></div></div>',
        '<div class="confluence-information-macro confluence-information-macro-tip conf-macro output-block" data-hasbody="true" data-macro-id="7d3e9f10-2b4c-4a5d-8e6f-1a2b3c4d5e09" data-macro-name="tip">' +
          '<span class="aui-icon aui-icon-small aui-iconfont-approve confluence-information-macro-icon"> </span>' +
          '<div class="confluence-information-macro-body"><p>Add <code>--dry-run</code> to preview the changes first.</p></div></div>',
        '<div class="panel conf-macro output-block" style="background-color: #EAE6FF;border-color: #998DD9;border-width: 1px;" data-hasbody="true" data-macro-id="7d3e9f10-2b4c-4a5d-8e6f-1a2b3c4d5e10" data-macro-name="panel">' +
          '<div class="panelHeader" style="border-bottom-width: 1px;border-bottom-color: #998DD9;background-color: #C0B6F2;"><b>Release owners</b></div>' +
          '<div class="panelContent" style="background-color: #EAE6FF;"><p>Alice Writer and Bob Reader share the release duty this quarter.</p></div></div>',
        '<h2 id="Macrogallery-Code">Code</h2>',
        '<div class="code panel pdl conf-macro output-block" style="border-width: 1px;" data-hasbody="true" data-macro-id="9e8d7c6b-5a49-4382-9171-605f4e3d2c11" data-macro-name="code">' +
          '<div class="codeHeader panelHeader pdl" style="border-bottom-width: 1px;"><b>deploy.sh</b></div><div class="codeContent panelContent pdl">' +
          '<pre class="syntaxhighlighter-pre" data-syntaxhighlighter-params="brush: bash; gutter: false; theme: Confluence" data-theme="Confluence">#!/usr/bin/env bash\nset -euo pipefail\n./migrate --dry-run &amp;&amp; ./migrate\necho "Deployed $(git rev-parse --short HEAD)"</pre></div></div>',
        '<div class="code panel pdl conf-macro output-block" style="border-width: 1px;" data-hasbody="true" data-macro-id="9e8d7c6b-5a49-4382-9171-605f4e3d2c12" data-macro-name="code"><div class="codeContent panelContent pdl">' +
          '<pre class="syntaxhighlighter-pre" data-syntaxhighlighter-params="brush: java; gutter: true; theme: Midnight" data-theme="Midnight">public final class Greeter {\n    String greet(String name) {\n        return "Hello, " + name + "!";\n    }\n}</pre></div></div>',
        '<h2 id="Macrogallery-Expandandtabs">Expand and tabs</h2>',
        '<div id="expander-1406327612" class="expand-container conf-macro output-block" data-hasbody="true" data-macro-id="b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d13" data-macro-name="expand">' +
          '<div id="expander-control-1406327612" class="expand-control" aria-expanded="false"><span class="expand-icon aui-icon aui-icon-small aui-iconfont-chevron-right">&nbsp;</span><span class="expand-control-text conf-macro-render">Rollback steps</span></div>' +
          '<div id="expander-content-1406327612" class="expand-content expand-hidden"><ol><li><p>Stop the workers.</p></li><li><p>Restore last night&rsquo;s snapshot.</p></li></ol></div></div>',
        '<div class="conf-macro output-block" data-hasbody="true" data-macro-id="c2d3e4f5-a6b7-4c8d-9e0f-1a2b3c4d5e14" data-macro-name="ui-tabs">' +
          '<div class="aui-tabs horizontal-tabs" data-aui-responsive="true" role="application"><ul class="tabs-menu">' +
          '<li class="menu-item active-tab"><a href="#tab-1406327615"><strong>Linux</strong></a></li><li class="menu-item"><a href="#tab-1406327616"><strong>macOS</strong></a></li></ul>' +
          '<div class="tabs-pane active-pane" id="tab-1406327615" name="Linux"><p>Install the package with <code>apt install mailpage</code>.</p></div>' +
          '<div class="tabs-pane" id="tab-1406327616" name="macOS"><p>Install the package with <code>brew install mailpage</code>.</p></div></div></div>',
        '<h2 id="Macrogallery-Jiraandfiles">Jira and files</h2>',
        '<p>Tracked in <span class="jira-issue conf-macro output-block" data-jira-key="DOCS-42" data-client-id="SINGLE_5aa69414_163860_alice" data-hasbody="false" data-macro-id="d3e4f5a6-b7c8-4d9e-8f0a-1b2c3d4e5f15" data-macro-name="jira">' +
          '<a href="https://jira.example.com/browse/DOCS-42?src=confmacro" class="jira-issue-key"><img class="icon" src="https://jira.example.com/secure/viewavatar?size=xsmall&amp;avatarId=10318&amp;avatarType=issuetype">DOCS-42</a> - ' +
          '<span class="summary">Send Confluence pages as mail</span> <span class="aui-lozenge aui-lozenge-subtle aui-lozenge-current jira-macro-single-issue-export-pdf">In Progress</span></span>.</p>',
        `<p>${embeddedImage(base, att('att163861'), { alt: 'Release flow: write, review, ship' })}</p>`,
        '<div class="plugin_attachments_container"><div class="plugin_attachments_table_container">' +
          '<fieldset class="hidden"><input type="hidden" class="plugin_attachments_macro_render_param" name="pageId" value="163860"><input type="hidden" name="outputType" value="display"></fieldset>' +
          '<table class="attachments aui"><thead><tr><th class="expand-column attachment-summary-toggle">&nbsp;</th><th class="filename-column">File</th><th class="modified-column">Modified</th></tr></thead><tbody>' +
          `<tr id="attachment-163861" class="attachment-row" data-attachment-id="163861" data-attachment-idx="1"><td class="attachment-summary-toggle"><span class="icon icon-section-closed"></span></td><td class="filename-column"><span class="icon icon-file-image" title="Image">Image</span> <a class="filename" href="${base}/download/attachments/163860/release-flow.svg?api=v2" title="release-flow.svg" data-type="image/svg+xml" data-linked-resource-container-id="163860">release-flow.svg</a></td><td class="attachment-created modified-column"><span>May 29, 2024</span> by <a class="url fn confluence-userlink" data-account-id="alice" href="${base}/people/alice">Alice Writer</a></td></tr>` +
          '<tr class="attachment-summary attachment-summary-163861 hidden" data-attachment-id="163861" data-attachment-idx="1"><td class="attachment-summary-toggle"></td><td class="attachment-details-wrapper" colspan="2"><div class="attachment-labels">Labels</div><div class="labels-section">No labels</div></td></tr>' +
          `<tr id="attachment-163862" class="attachment-row" data-attachment-id="163862" data-attachment-idx="2"><td class="attachment-summary-toggle"><span class="icon icon-section-closed"></span></td><td class="filename-column"><span class="icon icon-file-text" title="Text File">Text File</span> <a class="filename" href="${base}/download/attachments/163860/meeting-notes.txt?api=v2" title="meeting-notes.txt" data-type="text/plain" data-linked-resource-container-id="163860">meeting-notes.txt</a></td><td class="attachment-created modified-column"><span>May 29, 2024</span> by <a class="url fn confluence-userlink" data-account-id="alice" href="${base}/people/alice">Alice Writer</a></td></tr>` +
          '</tbody></table></div>' +
          '<div class="plugin_attachments_upload_container"><form class="plugin_attachments_uploadform aui" method="POST" enctype="multipart/form-data" action="/wiki/pages/doattachfile.action?pageId=163860"><input type="hidden" name="atl_token" value="demo-token"><input type="file" name="file_0" class="ignore-inline-attach"><input type="submit" class="aui-button" value="Attach"></form></div>' +
          `<div><a href="${base}/pages/downloadallattachments.action?pageId=163860" class="download-all-link" title="Download all the latest versions of attachments on this page as single zip file.">Download All</a></div></div>`,
        '<h2 id="Macrogallery-Pagetree">Page tree</h2>',
        '<div class="plugin_pagetree conf-macro output-block" data-hasbody="false" data-macro-id="e4f5a6b7-c8d9-4e0f-9a1b-2c3d4e5f6a16" data-macro-name="pagetree">' +
          '<ul role="list" aria-busy="true" class="plugin_pagetree_children_list plugin_pagetree_children_list_noleftspace"><div class="plugin_pagetree_children"></div></ul>' +
          '<fieldset class="hidden"><input type="hidden" name="treeId" value=""><input type="hidden" name="treeRequestId" value="/wiki/plugins/pagetree/naturalchildren.action?decorator=none&amp;excerpt=false&amp;sort=position&amp;reverse=false&amp;disableLinks=false&amp;expandCurrent=true"><input type="hidden" name="treePageId" value="163860"><input type="hidden" name="spaceKey" value="DOCS"><input type="hidden" name="i18n-pagetree.loading" value="Loading..."></fieldset></div>',
      ].join('\n'),
  },
  {
    id: '196613',
    spaceId: '196609',
    title: 'Architecture',
    parentId: null,
    authorId: 'bob',
    createdAt: CREATED,
    version: 5,
    restrictedTo: null,
    storage: '<h1>Architecture</h1><ac:image><ri:attachment ri:filename="system-diagram.png" /></ac:image>',
    exportView: (base) =>
      [
        '<h1 id="Architecture-Architecture">Architecture</h1>',
        '<p>The service is stateless; every node can answer every request.</p>',
        `<p>${embeddedImage(base, att('att196614'), { alt: 'System diagram' })}</p>`,
        '<p>On call? Read the runbook attached to this page, and the <a href="/wiki/spaces/ENG/pages/196620/Secret+plans" data-linked-resource-id="196620" data-linked-resource-type="page">plans</a>.</p>',
      ].join('\n'),
  },
  {
    id: '196620',
    spaceId: '196609',
    title: 'Secret plans',
    parentId: '196613',
    authorId: 'bob',
    createdAt: CREATED,
    version: 1,
    restrictedTo: ['bob'],
    storage: '<p>Only Bob may read this.</p>',
    exportView: () => '<p>Only Bob may read this.</p>',
  },
];
