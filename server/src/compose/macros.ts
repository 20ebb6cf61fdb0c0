import { randomBytes } from 'node:crypto';
import { DomUtils, parseDocument } from 'htmlparser2';

/**
 * Confluence macros as a mail client can show them. The export view renders macros for a browser: expand and tabs
 * need script, code blocks wait for a highlighter, panels and lozenges are styled by Confluence's stylesheet, and some
 * macros are filled in by the browser only. Here each one becomes static HTML with inline styles that says the same
 * thing with the page closed; what cannot be shown leaves a visible line that links to the page, so a reader knows
 * something is missing. A pure function: HTML in, HTML out, nothing fetched. Its output is still untrusted page HTML
 * and goes through the sanitiser like any other.
 */

type Document = ReturnType<typeof parseDocument>;
type AnyNode = Document['children'][number];
type Element = Parameters<typeof DomUtils.getAttributeValue>[0];

export interface MacroOptions {
  /** Absolute http(s) link to the page in Confluence, for the lines that send the reader there; null if unknown. */
  pageUrl: string | null;
}

const SERIALIZE = { encodeEntities: 'utf8' } as const;
const MONOSPACE = 'SFMono-Regular,Menlo,Consolas,&quot;Liberation Mono&quot;,&quot;Courier New&quot;,monospace';
const MACRO_HINT = /data-macro-name|conf-macro|confluence-information-macro|expand-container|panel|status-macro|aui-lozenge|jira-issue|toc-macro|plugin_attachments|plugin_pagetree|aui-tabs|tabs-pane|<(?:iframe|video|audio|object|embed)\b/i;

/** An absolute http(s) URL without credentials, normalised; null for anything else. */
export function safePageUrl(value: string | null | undefined): string | null {
  if (!value) return null;
  try {
    const url = new URL(value.trim());
    if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username || url.password) return null;
    return url.href;
  } catch {
    return null;
  }
}

/** The page HTML with every Confluence macro it knows rewritten as static HTML (see the file comment). */
export function renderMacros(html: string, options: MacroOptions): string {
  if (!MACRO_HINT.test(html)) return html;
  const doc = parseDocument(html);
  // Bodies are serialised and parsed again as macros around them are rewritten, so a mark finds the tables of
  // contents afterwards, not a reference to a node. Random, so that no page can set it.
  const context: Context = { pageUrl: safePageUrl(options.pageUrl), tocMark: randomBytes(8).toString('hex') };
  transformChildren(doc, context);
  // Last, so that it lists the headings inside expands and tabs too.
  const tocs = DomUtils.findAll((e) => e.attribs[TOC_MARK] === context.tocMark, doc.children);
  for (const toc of tocs) replaceWith(toc, tableOfContents(doc, toc, tocs));
  return DomUtils.getOuterHTML(doc, SERIALIZE);
}

interface Context {
  pageUrl: string | null;
  tocMark: string;
}

const TOC_MARK = 'data-mailpage-toc';

function transformChildren(parent: { children: AnyNode[] }, context: Context): void {
  for (const child of [...parent.children]) {
    if (!isElement(child)) continue;
    // Code, status and Jira issues hold only text (and a lozenge that belongs to the issue): rewritten as they are.
    if (isLeafMacro(child)) transform(child, context);
    else {
      // Inside out: a macro's body is already rewritten when the macro itself is.
      transformChildren(child, context);
      transform(child, context);
    }
  }
}

function isCode(cls: Set<string>, name: string | undefined): boolean {
  return (cls.has('panel') && (cls.has('code') || cls.has('preformatted'))) || name === 'code' || name === 'noformat';
}

function isJiraIssue(el: Element, cls: Set<string>, name: string | undefined): boolean {
  return cls.has('jira-issue') || cls.has('jira-issue-macro') || (name === 'jira' && !!el.attribs['data-jira-key']);
}

function isLeafMacro(el: Element): boolean {
  const cls = classes(el);
  const name = macroName(el);
  return isCode(cls, name) || isJiraIssue(el, cls, name) || cls.has('status-macro') || cls.has('aui-lozenge') || name === 'status';
}

function transform(el: Element, context: Context): void {
  const cls = classes(el);
  const name = macroName(el);
  if (cls.has('expand-container') || (name === 'expand' && el.name === 'div')) return replaceWith(el, expand(el));
  if (cls.has('aui-tabs')) return replaceWith(el, tabs(el));
  if (isCode(cls, name)) return replaceWith(el, code(el));
  if (cls.has('confluence-information-macro')) return replaceWith(el, infoPanel(el, name));
  if (cls.has('panel') || name === 'panel') return replaceWith(el, panel(el));
  if (isJiraIssue(el, cls, name)) return replaceWith(el, jiraIssue(el));
  if (cls.has('status-macro') || cls.has('aui-lozenge') || name === 'status') return replaceWith(el, status(el));
  if (cls.has('jira-table') || cls.has('jira-issues') || name === 'jira') {
    // A Jira issues table: shown as the table it is, unless its rows are loaded by the browser.
    if (!DomUtils.getElementsByTagName('td', el.children).length) replaceWith(el, cannotShow('Jira issues', el, context));
    return;
  }
  if (cls.has('toc-macro') || cls.has('client-side-toc-macro') || name === 'toc') {
    el.attribs[TOC_MARK] = context.tocMark;
    return;
  }
  if (cls.has('plugin_attachments_container') || name === 'attachments') return replaceWith(el, attachments(el, context));
  const unshowable = UNSHOWABLE_CLASSES.find(([c]) => cls.has(c))?.[1] ?? (name ? UNSHOWABLE_MACROS[name] : undefined) ?? EMBEDS[el.name];
  if (unshowable) return replaceWith(el, cannotShow(unshowable, el, context));
  if (name && !EMPTY_IS_FINE.has(name) && isBlock(el) && isEmpty(el)) return replaceWith(el, cannotShow(macroLabel(name), el, context));
}

// ---------------------------------------------------------------------------------------------------------------
// The macros

/** Expand: its title as a heading-like line, its body shown open. */
function expand(el: Element): string {
  const title = text(find(el, (e) => classes(e).has('expand-control-text'))) || 'Details';
  const body = find(el, (e) => classes(e).has('expand-content'));
  return (
    `<div style="margin:0 0 12px 0;">` +
    `<p style="margin:0 0 6px 0;font-weight:bold;">&#9662; ${escapeText(title)}</p>` +
    `<div style="border-left:3px solid #dfe1e6;padding:0 0 0 12px;">${body ? inner(body) : ''}</div></div>`
  );
}

/** Tabs: every tab, one after the other, each under its title in bold. */
function tabs(el: Element): string {
  const titles = new Map<string, string>();
  const ordered: string[] = [];
  const menu = find(el, (e) => classes(e).has('tabs-menu'));
  for (const a of menu ? DomUtils.getElementsByTagName('a', menu.children) : []) {
    const title = text(a);
    ordered.push(title);
    const href = a.attribs.href ?? '';
    if (href.startsWith('#')) titles.set(href.slice(1), title);
  }
  const panes = DomUtils.findAll((e) => classes(e).has('tabs-pane'), el.children);
  return panes
    .map((pane, i) => {
      const title = titles.get(pane.attribs.id ?? '') || pane.attribs.name || pane.attribs['data-tab-title'] || pane.attribs.title || ordered[i] || `Tab ${i + 1}`;
      return (
        `<p style="margin:16px 0 6px 0;padding:0 0 2px 0;font-size:15px;font-weight:bold;border-bottom:1px solid #dfe1e6;">${escapeText(title.trim())}</p>` +
        `<div style="margin:0 0 12px 0;">${inner(pane)}</div>`
      );
    })
    .join('');
}

const LANGUAGES: Record<string, string> = {
  actionscript3: 'ActionScript', applescript: 'AppleScript', bash: 'Bash', sh: 'Shell', shell: 'Shell', c: 'C', cpp: 'C++',
  csharp: 'C#', 'c#': 'C#', css: 'CSS', go: 'Go', groovy: 'Groovy', html: 'HTML', xml: 'XML', java: 'Java', js: 'JavaScript',
  javascript: 'JavaScript', json: 'JSON', kotlin: 'Kotlin', php: 'PHP', powershell: 'PowerShell', py: 'Python', python: 'Python',
  ruby: 'Ruby', rust: 'Rust', scala: 'Scala', sql: 'SQL', swift: 'Swift', ts: 'TypeScript', typescript: 'TypeScript',
  yaml: 'YAML', yml: 'YAML', vb: 'Visual Basic', diff: 'Diff', dockerfile: 'Dockerfile', markdown: 'Markdown',
};

/** Code and noformat: the plain text in a `<pre>`, under a label with the title and language. */
function code(el: Element): string {
  const pre = find(el, (e) => e.name === 'pre');
  const lines = DomUtils.findAll((e) => classes(e).has('line'), el.children);
  // An old-style SyntaxHighlighter table puts each line in its own div; a `<pre>` keeps its own line breaks.
  const source = pre ? DomUtils.textContent(pre) : lines.length ? lines.map((line) => DomUtils.textContent(line)).join('\n') : DomUtils.textContent(el);
  const brush = /(?:^|;)\s*brush:\s*([\w#+-]+)/i.exec(pre?.attribs['data-syntaxhighlighter-params'] ?? '')?.[1]?.toLowerCase() ?? macroParameter(el, 'language');
  const language = brush && !['none', 'text', 'plain'].includes(brush) ? (LANGUAGES[brush] ?? brush.charAt(0).toUpperCase() + brush.slice(1)) : '';
  const title = text(find(el, (e) => classes(e).has('codeHeader') || classes(e).has('preformattedHeader') || classes(e).has('panelHeader')));
  const label = [title, language].filter(Boolean).join(' \u00b7 ');
  return (
    `<div style="margin:0 0 12px 0;">` +
    (label ? `<p style="margin:0;padding:3px 12px;font-size:12px;color:#505f79;background-color:#ebecf0;border:1px solid #dfe1e6;border-bottom:0;">${escapeText(label)}</p>` : '') +
    `<pre style="margin:0;padding:8px 12px;font-family:${MONOSPACE};font-size:13px;line-height:1.45;color:#172b4d;background-color:#f4f5f7;border:1px solid #dfe1e6;white-space:pre-wrap;word-wrap:break-word;">${escapeText(source.replace(/^\n|\n$/g, ''))}</pre></div>`
  );
}

interface PanelLook {
  label: string;
  icon: string;
  color: string;
  background: string;
  border: string;
}

// Confluence's names are historical: the "note" macro is the yellow one, the "warning" macro the red one.
const PANELS: Record<string, PanelLook> = {
  info: { label: 'Info', icon: '&#8505;', color: '#0747a6', background: '#deebff', border: '#4c9aff' },
  note: { label: 'Note', icon: '&#9998;', color: '#974f0c', background: '#fffae6', border: '#ffc400' },
  warning: { label: 'Warning', icon: '&#9888;', color: '#bf2600', background: '#ffebe6', border: '#ff5630' },
  tip: { label: 'Tip', icon: '&#10004;', color: '#006644', background: '#e3fcef', border: '#36b37e' },
};
const PANEL_ALIASES: Record<string, string> = { information: 'info', info: 'info', note: 'note', warning: 'warning', error: 'warning', tip: 'tip', success: 'tip' };

/** Info, note, warning and tip: a table-based box (Outlook draws table borders and backgrounds, not div ones). */
function infoPanel(el: Element, name: string | undefined): string {
  const fromClass = [...classes(el)].map((c) => /^confluence-information-macro-(\w+)$/.exec(c)?.[1]).find((k) => k && k !== 'body' && k !== 'icon');
  // The class decides how Confluence draws it, so it wins over the macro name.
  const look = PANELS[PANEL_ALIASES[fromClass ?? ''] ?? PANEL_ALIASES[name ?? ''] ?? 'info'];
  const title = text(el.children.find((c): c is Element => isElement(c) && classes(c).has('title')));
  const body = find(el, (e) => classes(e).has('confluence-information-macro-body'));
  const heading = `<span style="font-size:15px;">${look.icon}</span> ${look.label}${title ? `: ${escapeText(title)}` : ''}`;
  return box({ background: look.background, border: look.border, accent: look.border }, `<p style="margin:0 0 6px 0;font-weight:bold;color:${look.color};">${heading}</p>${body ? boxBody(body.children) : ''}`);
}

/** Panel: the same box in the panel's own colours, with its title. */
function panel(el: Element): string {
  const style = el.attribs.style ?? '';
  const header = find(el, (e) => classes(e).has('panelHeader'));
  const content = find(el, (e) => classes(e).has('panelContent'));
  const background = cssColor(style, 'background-color') ?? cssColor(content?.attribs.style ?? '', 'background-color') ?? '#ffffff';
  const border = cssColor(style, 'border-color') ?? '#c1c7d0';
  const title = text(header);
  const body = boxBody(content ? content.children : el.children.filter((c) => c !== header));
  return box({ background, border, accent: border }, `${title ? `<p style="margin:0 0 6px 0;font-weight:bold;">${escapeText(title)}</p>` : ''}${body}`);
}

/** The content of a box, its last block without a bottom margin: the box's padding is space enough. */
function boxBody(nodes: AnyNode[]): string {
  const last = nodes.filter(isElement).at(-1);
  if (last && /^(?:p|ul|ol|pre|table|div|blockquote|h[1-6])$/.test(last.name)) last.attribs.style = `${last.attribs.style ? `${last.attribs.style};` : ''}margin-bottom:0`;
  return nodes.map((node) => DomUtils.getOuterHTML(node, SERIALIZE)).join('');
}

function box(look: { background: string; border: string; accent: string }, content: string): string {
  return (
    `<table class="mailpage-box" role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="width:100%;margin:0 0 12px 0;border-collapse:separate;border-spacing:0;">` +
    `<tr><td style="padding:10px 12px;background-color:${look.background};border:1px solid ${look.border};border-left:4px solid ${look.accent};border-radius:3px;">${content}</td></tr></table>`
  );
}

interface LozengeLook {
  background: string;
  color: string;
}

const GREY: LozengeLook = { background: '#dfe1e6', color: '#42526e' };
const LOZENGES: [string, LozengeLook][] = [
  ['success', { background: '#e3fcef', color: '#006644' }],
  ['error', { background: '#ffebe6', color: '#bf2600' }],
  ['removed', { background: '#ffebe6', color: '#bf2600' }],
  ['current', { background: '#fff0b3', color: '#172b4d' }],
  ['moved', { background: '#fff0b3', color: '#172b4d' }],
  ['complete', { background: '#deebff', color: '#0747a6' }],
  ['inprogress', { background: '#deebff', color: '#0747a6' }],
  ['progress', { background: '#eae6ff', color: '#403294' }],
  ['new', { background: '#eae6ff', color: '#403294' }],
];

function lozengeLook(el: Element): LozengeLook {
  const cls = classes(el);
  return LOZENGES.find(([kind]) => cls.has(`aui-lozenge-${kind}`))?.[1] ?? GREY;
}

/** Status: a small coloured label with its text. */
function status(el: Element): string {
  const label = text(el);
  if (!label) return '';
  const look = lozengeLook(el);
  return `<span style="display:inline-block;padding:0 4px;border-radius:3px;font-size:11px;font-weight:bold;line-height:16px;text-transform:uppercase;white-space:nowrap;background-color:${look.background};color:${look.color};">${escapeText(label)}</span>`;
}

/** Jira issue: "KEY-1: summary [status]" linked to the issue; what the browser would have filled in is left out. */
function jiraIssue(el: Element): string {
  const link = find(el, (e) => e.name === 'a' && (classes(e).has('jira-issue-key') || classes(e).has('jira-issue-macro-key') || /\/browse\//.test(e.attribs.href ?? '')));
  const key = el.attribs['data-jira-key'] || text(link);
  const placeholder = (e: Element | null) => !e || classes(e).has('issue-placeholder') || /^Getting issue details/i.test(text(e));
  const summaryEl = find(el, (e) => classes(e).has('summary'));
  const statusEl = find(el, (e) => classes(e).has('aui-lozenge'));
  const summary = placeholder(summaryEl) ? '' : text(summaryEl);
  const state = placeholder(statusEl) ? '' : text(statusEl);
  const label = `${key}${summary ? `: ${summary}` : ''}${state ? ` [${state}]` : ''}`;
  const href = link?.attribs.href ?? '';
  return /^https?:\/\//i.test(href) ? `<a href="${escapeAttribute(href)}">${escapeText(label)}</a>` : `<span>${escapeText(label)}</span>`;
}

/** Attachments: the file names, each linking to the page, where they are. */
function attachments(el: Element, context: Context): string {
  const names = [
    ...new Set(
      DomUtils.findAll((e) => e.name === 'a' && (classes(e).has('filename') || e.attribs['data-linked-resource-type'] === 'attachment'), el.children)
        .map(text)
        .filter(Boolean),
    ),
  ];
  if (!names.length) return cannotShow('Attachments', el, context);
  const item = (name: string) => (context.pageUrl ? `<a href="${escapeAttribute(context.pageUrl)}">${escapeText(name)}</a>` : escapeText(name));
  return `<div style="margin:0 0 12px 0;"><p style="margin:0 0 4px 0;font-weight:bold;">Attachments</p><ul>${names.map((n) => `<li>${item(n)}</li>`).join('')}</ul></div>`;
}

/** Table of contents: the page's headings as a plain nested list (anchors do not work in a mailbox). */
function tableOfContents(doc: Document, toc: Element, tocs: Element[]): string {
  const wanted = new Set((toc.attribs['data-headerelements'] ?? toc.attribs.headerelements ?? 'H1,H2,H3,H4,H5,H6').toLowerCase().split(/\s*,\s*/));
  const min = Number(toc.attribs['data-minlevel'] ?? toc.attribs.minlevel ?? 1) || 1;
  const max = Number(toc.attribs['data-maxlevel'] ?? toc.attribs.maxlevel ?? 6) || 6;
  const headings = DomUtils.findAll((e) => /^h[1-6]$/.test(e.name) && wanted.has(e.name), doc.children)
    .filter((h) => !ancestors(h).some((a) => tocs.includes(a)))
    .map((h) => ({ level: Number(h.name[1]), text: text(h) }))
    .filter((h) => h.text && h.level >= min && h.level <= max);
  if (!headings.length) return '';
  return `<div style="margin:0 0 12px 0;"><p style="margin:0 0 4px 0;font-weight:bold;">Contents</p>${nestedList(headings)}</div>`;
}

function nestedList(items: { level: number; text: string }[]): string {
  const top = Math.min(...items.map((i) => i.level));
  let html = '';
  let depth = 0;
  for (const item of items) {
    // A jump of more than one level opens one list, as Confluence does.
    const target = Math.min(item.level - top + 1, depth + 1);
    if (target > depth) html += '<ul style="margin:0;padding-left:20px;"><li>';
    else {
      html += '</li>';
      for (; depth > target; depth--) html += '</ul></li>';
      html += '<li>';
    }
    depth = Math.max(depth, target);
    html += escapeText(item.text);
  }
  for (; depth > 0; depth--) html += '</li></ul>';
  return html;
}

// What is never static: filled in by the browser, interactive, or another site in a frame.
const UNSHOWABLE_CLASSES: [string, string][] = [
  ['plugin_pagetree', 'Page tree'],
  ['recently-updated', 'Recently updated'],
  ['livesearch', 'Live search'],
];
const UNSHOWABLE_MACROS: Record<string, string> = {
  pagetree: 'Page tree',
  pagetreesearch: 'Page tree search',
  'recently-updated': 'Recently updated',
  livesearch: 'Live search',
  widget: 'Widget connector',
  iframe: 'Embedded page',
  html: 'HTML',
  'html-include': 'HTML include',
  roadmap: 'Roadmap planner',
  gadget: 'Gadget',
  viewpdf: 'PDF viewer',
  'view-file': 'File preview',
  viewdoc: 'Word document',
  viewxls: 'Excel spreadsheet',
  viewppt: 'PowerPoint presentation',
  multimedia: 'Multimedia',
  'create-from-template': 'Create from template',
  'create-space-button': 'Create space button',
};
const EMBEDS: Record<string, string> = { iframe: 'Embedded page', video: 'Video', audio: 'Audio', object: 'Embedded content', embed: 'Embedded content' };
/** Macros that are legitimately empty in Confluence too. */
const EMPTY_IS_FINE = new Set(['anchor', 'children', 'contributors', 'excerpt', 'excerpt-include', 'include', 'tasks-report-macro', 'content-report-table', 'section', 'column', 'details', 'detailssummary', 'tasklist']);

const MACRO_LABELS: Record<string, string> = { drawio: 'draw.io diagram', gliffy: 'Gliffy diagram', lucidchart: 'Lucidchart diagram', 'miro-board': 'Miro board', gallery: 'Gallery', chart: 'Chart' };

function macroLabel(name: string): string {
  if (MACRO_LABELS[name]) return MACRO_LABELS[name];
  const words = name.replace(/[-_]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The visible line that stands in for what cannot be shown, linking to the page when its address is known. */
function cannotShow(what: string, el: Element, context: Context): string {
  const tag = isBlock(el) ? 'div' : 'span';
  const start = `[This part of the page (${escapeText(what)}) cannot be shown in email \u2014 `;
  const end = context.pageUrl ? `open the page: <a href="${escapeAttribute(context.pageUrl)}">${escapeText(context.pageUrl)}</a>]` : 'open the page in Confluence]';
  const style = tag === 'div' ? 'margin:0 0 12px 0;padding:6px 10px;color:#505f79;font-style:italic;background-color:#f4f5f7;border-left:3px solid #c1c7d0;' : 'color:#505f79;font-style:italic;';
  return `<${tag} style="${style}">${start}${end}</${tag}>`;
}

// ---------------------------------------------------------------------------------------------------------------
// DOM helpers

function isElement(node: AnyNode): node is Element {
  return 'attribs' in node;
}

function classes(el: Element): Set<string> {
  return new Set((el.attribs.class ?? '').split(/\s+/).filter(Boolean));
}

function macroName(el: Element): string | undefined {
  return (el.attribs['data-macro-name'] ?? el.attribs['macro-name'])?.toLowerCase();
}

function macroParameter(el: Element, name: string): string | undefined {
  return el.attribs[`data-macro-parameter-${name}`]?.toLowerCase();
}

function find(el: Element, test: (e: Element) => boolean): Element | null {
  return DomUtils.findOne(test, el.children, true);
}

function text(el: Element | null | undefined): string {
  return el ? DomUtils.textContent(el).replace(/\s+/g, ' ').trim() : '';
}

function inner(el: Element): string {
  return DomUtils.getInnerHTML(el, SERIALIZE);
}

const INLINE = new Set(['span', 'a', 'strong', 'b', 'em', 'i', 'u', 'code', 'small', 'sub', 'sup', 'label', 'img']);

function isBlock(el: Element): boolean {
  return !INLINE.has(el.name) && !classes(el).has('output-inline');
}

function isEmpty(el: Element): boolean {
  return !text(el) && !DomUtils.findOne((e) => e.name === 'img' || e.name === 'table', el.children, true);
}

function ancestors(el: Element): Element[] {
  const found: Element[] = [];
  for (let up = el.parent; up && isElement(up); up = up.parent) found.push(up);
  return found;
}

function replaceWith(el: Element, html: string): void {
  // A copy: prepend() takes each node out of the parsed document's list.
  for (const node of [...parseDocument(html).children]) DomUtils.prepend(el, node);
  DomUtils.removeElement(el);
}

function cssColor(style: string, property: string): string | null {
  const value = new RegExp(`(?:^|;)\\s*${property}\\s*:\\s*([^;]+)`, 'i').exec(style)?.[1]?.trim() ?? '';
  return /^(?:#[0-9a-f]{3,8}|rgba?\(\s*[\d.\s,%]+\)|[a-z]{3,20})$/i.test(value) ? value : null;
}

function escapeText(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function escapeAttribute(value: string): string {
  return escapeText(value).replace(/"/g, '&quot;');
}
