import PostalMime from 'postal-mime';
import { describe, expect, it } from 'vitest';
import { ComposeService, type ComposeInput } from './compose.service';
import { renderMacros } from './macros';

// Export-view markup as Confluence Cloud writes it (class names and data-macro-* attributes as on a real page). Every
// assertion is made on the mail as postal-mime reads it back: the HTML part and the plain-text part.

const PAGE_URL = 'https://example.atlassian.net/wiki/spaces/DOCS/pages/163860/Macro+gallery';
const service = new ComposeService();

async function send(html: string, overrides: Partial<ComposeInput> = {}) {
  const mail = await service.compose({
    title: 'Macro gallery',
    html,
    pageUrl: PAGE_URL,
    subjectPrefix: '',
    from: { address: 'docs@example.com' },
    to: [{ address: 'ann@example.com' }],
    cc: [],
    images: [],
    attachments: [],
    messageIdDomain: 'example.com',
    maxBytes: 1024 * 1024,
    ...overrides,
  });
  const received = await PostalMime.parse(mail.raw);
  return { html: received.html ?? '', text: received.text ?? '' };
}

/** Text with every run of white space as one space: for text the plain-text part wraps at 78 characters. */
function flat(text: string): string {
  return text.replace(/\s+/g, ' ');
}

/** The text a reader sees, without tags. */
function visible(html: string): string {
  return html
    .replace(/<style>[\s\S]*?<\/style>/g, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&amp;/g, '&')
    .replace(/&nbsp;/g, ' ')
    .replace(/\s+/g, ' ');
}

describe('expand', () => {
  const EXPAND =
    '<div id="expander-1406327612" class="expand-container conf-macro output-block" data-hasbody="true" data-macro-name="expand">' +
    '<div id="expander-control-1406327612" class="expand-control" aria-expanded="false"><span class="expand-icon aui-icon aui-icon-small aui-iconfont-chevron-right">&nbsp;</span>' +
    '<span class="expand-control-text conf-macro-render">Rollback steps</span></div>' +
    '<div id="expander-content-1406327612" class="expand-content expand-hidden"><ol><li><p>Stop the workers.</p></li><li><p>Restore the snapshot.</p></li></ol></div></div>';

  it('shows the title as a bold line and the content open below it', async () => {
    const { html, text } = await send(EXPAND);
    expect(html).toMatch(/<p style="[^"]*font-weight:bold[^"]*">▾ Rollback steps<\/p><div style="[^"]*border-left:3px solid #dfe1e6[^"]*"><ol[^>]*><li[^>]*><p[^>]*>Stop the workers\.<\/p>/);
    expect(html).not.toMatch(/expand-hidden|aria-expanded|display:\s*none/);
    expect(text).toMatch(/Rollback steps\n\n 1\. Stop the workers\.\n\n 2\. Restore the snapshot\./);
  });

  it('rewrites a macro nested in the expanded content too', async () => {
    const nested = EXPAND.replace('<ol>', '<p>See <span class="status-macro aui-lozenge aui-lozenge-error conf-macro output-inline" data-macro-name="status">Blocked</span></p><ol>');
    const { html, text } = await send(nested);
    expect(html).toMatch(/<span style="[^"]*background-color:#ffebe6;color:#bf2600[^"]*">Blocked<\/span>/);
    expect(text).toContain('See Blocked');
  });
});

describe('tabs', () => {
  it('shows every tab, each under its title in bold, in order', async () => {
    const { html, text } = await send(
      '<div class="conf-macro output-block" data-hasbody="true" data-macro-name="ui-tabs"><div class="aui-tabs horizontal-tabs" data-aui-responsive="true" role="application">' +
        '<ul class="tabs-menu"><li class="menu-item active-tab"><a href="#tab-1"><strong>Linux</strong></a></li><li class="menu-item"><a href="#tab-2"><strong>macOS</strong></a></li></ul>' +
        '<div class="tabs-pane active-pane" id="tab-1" name="Linux"><p>Use apt.</p></div><div class="tabs-pane" id="tab-2" name="macOS"><p>Use brew.</p></div></div></div>',
    );
    expect(visible(html)).toMatch(/Linux Use apt\. macOS Use brew\./);
    expect(html).toMatch(/<p style="[^"]*font-weight:bold[^"]*">Linux<\/p><div[^>]*><p[^>]*>Use apt\.<\/p><\/div><p style="[^"]*font-weight:bold[^"]*">macOS<\/p>/);
    expect(html).not.toMatch(/tabs-menu|<ul/);
    expect(text).toMatch(/Linux\n\nUse apt\.\n\nmacOS\n\nUse brew\./);
  });
});

describe('code', () => {
  it('becomes a <pre> in monospace on a grey background, with its title and language above and its white space kept', async () => {
    const { html, text } = await send(
      '<div class="code panel pdl conf-macro output-block" style="border-width: 1px;" data-hasbody="true" data-macro-name="code">' +
        '<div class="codeHeader panelHeader pdl" style="border-bottom-width: 1px;"><b>deploy.sh</b></div><div class="codeContent panelContent pdl">' +
        '<pre class="syntaxhighlighter-pre" data-syntaxhighlighter-params="brush: bash; gutter: false; theme: Confluence" data-theme="Confluence">if true; then\n    ./migrate &amp;&amp; echo "&lt;done&gt;"\nfi</pre></div></div>',
    );
    expect(html).toMatch(/<p style="[^"]*">deploy\.sh · Bash<\/p><pre style="[^"]*font-family:SFMono-Regular[^"]*background-color:#f4f5f7[^"]*white-space:pre-wrap[^"]*">if true; then\n {4}\.\/migrate &amp;&amp; echo "&lt;done&gt;"\nfi<\/pre>/);
    expect(html).not.toMatch(/syntaxhighlighter|codeContent|brush:/);
    expect(text).toContain('deploy.sh · Bash');
    expect(text).toContain('if true; then\n    ./migrate && echo "<done>"\nfi');
  });

  it('keeps only the text of highlighted code, without the highlighter spans', async () => {
    const { html } = await send(
      '<div class="code panel pdl conf-macro output-block" data-macro-name="code"><div class="codeContent panelContent pdl">' +
        '<pre class="syntaxhighlighter-pre" data-syntaxhighlighter-params="brush: java; gutter: true"><span class="kw">return</span> <span class="str">"x"</span>;</pre></div></div>',
    );
    expect(html).toMatch(/>Java<\/p><pre style="[^"]*">return "x";<\/pre>/);
    expect(html).not.toMatch(/class="kw"|<span[^>]*>return/);
  });

  it('shows a noformat block as code without a language', async () => {
    const { html, text } = await send(
      '<div class="preformatted panel conf-macro output-block" style="border-width: 1px;" data-hasbody="true" data-macro-name="noformat"><div class="preformattedContent panelContent"><pre>a  b\n  c</pre></div></div>',
    );
    expect(html).toMatch(/<div style="margin:0 0 12px 0"><pre style="[^"]*">a {2}b\n {2}c<\/pre><\/div>/);
    expect(text).toContain('a  b\n  c');
  });
});

describe('status lozenge', () => {
  it('becomes a small coloured label whose colours follow the lozenge class, and its text stays in the text part', async () => {
    const lozenge = (kind: string, label: string) =>
      `<span class="status-macro aui-lozenge aui-lozenge-visual-refresh${kind ? ` aui-lozenge-${kind}` : ''} conf-macro output-inline" data-hasbody="false" data-macro-name="status">${label}</span>`;
    const { html, text } = await send(`<p>State: ${lozenge('success', 'Approved')} ${lozenge('error', 'Blocked')} ${lozenge('current', 'In review')} ${lozenge('complete', 'Done')} ${lozenge('', 'Draft')}</p>`);
    const colours = [...html.matchAll(/<span style="([^"]*)">([^<]*)<\/span>/g)].map((m) => [m[2], /background-color:([^;]+);color:([^;"]+)/.exec(m[1])?.slice(1)]);
    expect(colours).toEqual([
      ['Approved', ['#e3fcef', '#006644']],
      ['Blocked', ['#ffebe6', '#bf2600']],
      ['In review', ['#fff0b3', '#172b4d']],
      ['Done', ['#deebff', '#0747a6']],
      ['Draft', ['#dfe1e6', '#42526e']],
    ]);
    expect(html).toMatch(/<span style="display:inline-block;padding:0 4px;border-radius:3px;font-size:11px;font-weight:bold;[^"]*text-transform:uppercase/);
    expect(text).toContain('State: Approved Blocked In review Done Draft');
  });
});

describe('info, note, warning and tip panels', () => {
  const infoMacro = (kind: string, name: string, body: string, title = '') =>
    `<div class="confluence-information-macro confluence-information-macro-${kind} conf-macro output-block" data-hasbody="true" data-macro-name="${name}">` +
    `${title ? `<p class="title">${title}</p>` : ''}<span class="aui-icon aui-icon-small aui-iconfont-info confluence-information-macro-icon"> </span>` +
    `<div class="confluence-information-macro-body"><p>${body}</p></div></div>`;

  it('become bordered table boxes with an icon and a label, in the colours Confluence gives each', async () => {
    const { html, text } = await send(
      [
        infoMacro('information', 'info', 'Rebuilt nightly.'),
        infoMacro('note', 'note', 'Tell on-call.', 'Before you deploy'),
        infoMacro('warning', 'warning', 'Never twice.'),
        infoMacro('tip', 'tip', 'Try the dry run.'),
      ].join('\n'),
    );
    const boxes = [...html.matchAll(/<table width="100%" cellpadding="0" cellspacing="0" border="0" style="[^"]*"><tr><td style="([^"]*)"[^>]*><p style="[^"]*">(.*?)<\/p>(.*?)<\/td><\/tr><\/table>/g)];
    expect(boxes.map((m) => visible(`${m[2]} | ${m[3]}`).trim())).toEqual([
      'ℹ Info | Rebuilt nightly.',
      '✎ Note: Before you deploy | Tell on-call.',
      '⚠ Warning | Never twice.',
      '✔ Tip | Try the dry run.',
    ]);
    expect(boxes.map((m) => /background-color:([^;]+)/.exec(m[1])?.[1])).toEqual(['#deebff', '#fffae6', '#ffebe6', '#e3fcef']);
    for (const m of boxes) expect(m[1]).toMatch(/border:1px solid #[0-9a-f]{6};border-left:4px solid #[0-9a-f]{6}/);
    expect(html).not.toMatch(/confluence-information-macro|aui-icon/);
    // In text a box is a block, not a table of columns.
    expect(text).toContain('ℹ Info\n\nRebuilt nightly.');
    expect(text).toContain('✎ Note: Before you deploy\n\nTell on-call.');
    expect(text).toContain('⚠ Warning\n\nNever twice.');
    expect(text).toContain('✔ Tip\n\nTry the dry run.');
  });

  it('draws a panel the way its class says, whatever the macro name', async () => {
    const { text } = await send(infoMacro('note', 'info', 'Careful.'));
    expect(text).toContain('✎ Note\n\nCareful.');
  });
});

describe('panel', () => {
  it('becomes a box in the panel colours with its title', async () => {
    const { html, text } = await send(
      '<div class="panel conf-macro output-block" style="background-color: #EAE6FF;border-color: #998DD9;border-width: 1px;" data-hasbody="true" data-macro-name="panel">' +
        '<div class="panelHeader" style="border-bottom-width: 1px;border-bottom-color: #998DD9;background-color: #C0B6F2;"><b>Release owners</b></div>' +
        '<div class="panelContent" style="background-color: #EAE6FF;"><p>Alice and Bob.</p></div></div>',
    );
    expect(html).toMatch(/<table [^>]*><tr><td style="[^"]*background-color:#EAE6FF;border:1px solid #998DD9;[^"]*"[^>]*><p style="[^"]*font-weight:bold[^"]*">Release owners<\/p><p[^>]*>Alice and Bob\.<\/p><\/td><\/tr><\/table>/);
    expect(text).toContain('Release owners\n\nAlice and Bob.');
  });

  it('takes no colour that is not a plain colour value', async () => {
    const { html } = await send('<div class="panel" data-macro-name="panel" style="background-color: url(https://tracker.example/x.png);border-color: red;} p {color: blue"><div class="panelContent"><p>x</p></div></div>');
    expect(html).toMatch(/background-color:#ffffff;border:1px solid red;/);
    expect(html).not.toMatch(/tracker|blue/);
  });
});

describe('Jira issue', () => {
  it('becomes "KEY: summary [status]" linked to the issue, without the remote issue-type icon', async () => {
    const { html, text } = await send(
      '<p>Tracked in <span class="jira-issue conf-macro output-block" data-jira-key="DOCS-42" data-hasbody="false" data-macro-name="jira">' +
        '<a href="https://jira.example.com/browse/DOCS-42?src=confmacro" class="jira-issue-key"><img class="icon" src="https://jira.example.com/secure/viewavatar?size=xsmall&amp;avatarId=10318&amp;avatarType=issuetype">DOCS-42</a> - ' +
        '<span class="summary">Send pages as mail</span> <span class="aui-lozenge aui-lozenge-subtle aui-lozenge-current jira-macro-single-issue-export-pdf">In Progress</span></span>.</p>',
    );
    expect(html).toMatch(/<a href="https:\/\/jira\.example\.com\/browse\/DOCS-42\?src=confmacro"[^>]*>DOCS-42: Send pages as mail \[In Progress\]<\/a>\./);
    expect(html).not.toMatch(/viewavatar|<img/);
    expect(text).toContain('DOCS-42: Send pages as mail [In Progress]');
  });

  it('leaves out what the browser would have filled in', async () => {
    const { text } = await send(
      '<p><strong>JIRA</strong>: <span class="jira-issue" data-jira-key="KAFKA-18800" data-client-id="SINGLE_5aa69414_421958795_anonymous">' +
        '<a href="https://issues.apache.org/jira/browse/KAFKA-18800" class="jira-issue-key"><span class="aui-icon aui-icon-wait issue-placeholder"></span>KAFKA-18800</a> - ' +
        '<span class="summary">Getting issue details...</span> <span class="aui-lozenge aui-lozenge-subtle aui-lozenge-default issue-placeholder">STATUS</span></span></p>',
    );
    expect(text).toContain('JIRA: KAFKA-18800 [https://issues.apache.org/jira/browse/KAFKA-18800]');
    expect(text).not.toMatch(/Getting issue details|STATUS/);
  });
});

describe('attachments', () => {
  const ATTACHMENTS =
    '<div class="plugin_attachments_container"><div class="plugin_attachments_table_container"><fieldset class="hidden"><input type="hidden" name="pageId" value="163860"></fieldset>' +
    '<table class="attachments aui"><thead><tr><th class="filename-column">File</th><th class="modified-column">Modified</th></tr></thead><tbody>' +
    '<tr class="attachment-row"><td class="filename-column"><a class="filename" href="/wiki/download/attachments/163860/plan.pdf?api=v2">plan.pdf</a></td><td class="modified-column">May 29, 2024</td></tr>' +
    '<tr class="attachment-row"><td class="filename-column"><a class="filename" href="/wiki/download/attachments/163860/notes.txt?api=v2">notes.txt</a></td><td class="modified-column">May 29, 2024</td></tr>' +
    '</tbody></table></div><div class="plugin_attachments_upload_container"><form class="plugin_attachments_uploadform aui" method="POST"><input type="file" name="file_0"><input type="submit" value="Attach"></form></div>' +
    '<div><a href="/wiki/pages/downloadallattachments.action?pageId=163860" class="download-all-link">Download All</a></div></div>';

  it('becomes a list of the file names, each linking to the page', async () => {
    const { html, text } = await send(ATTACHMENTS);
    const links = [...html.matchAll(/<li><a href="([^"]*)"[^>]*>([^<]*)<\/a><\/li>/g)].map((m) => [m[1], m[2]]);
    expect(links).toEqual([
      [PAGE_URL, 'plan.pdf'],
      [PAGE_URL, 'notes.txt'],
    ]);
    expect(html).not.toMatch(/Download All|Attach"|Modified|<input|<form/);
    expect(text).toMatch(/Attachments\n\n \* plan\.pdf\n {3}\[https:\/\/example\.atlassian\.net\/wiki\/spaces\/DOCS\/pages\/163860\/Macro\+gallery\]\n \* notes\.txt/);
  });

  it('lists plain file names when the page address is not known', async () => {
    const { html } = await send(ATTACHMENTS, { pageUrl: null });
    expect(html).toContain('<ul><li>plan.pdf</li><li>notes.txt</li></ul>');
  });
});

describe('table of contents', () => {
  it('becomes a plain nested list of the page headings, those in expands included, with no anchors', async () => {
    const { html, text } = await send(
      '<div class="toc-macro client-side-toc-macro conf-macro output-block" data-headerelements="H1,H2,H3,H4,H5,H6,H7" data-hasbody="false" data-macro-name="toc"> </div>' +
        '<h1 id="P-Overview">Overview</h1><h2 id="P-Install">Install</h2><h3 id="P-Linux">On Linux</h3><h2 id="P-Use">Use</h2>' +
        '<div class="expand-container conf-macro output-block" data-macro-name="expand"><div class="expand-control"><span class="expand-control-text">More</span></div><div class="expand-content"><h2 id="P-FAQ">FAQ</h2></div></div>' +
        '<h1 id="P-Appendix">Appendix</h1>',
    );
    expect(html).toMatch(
      /Contents<\/p><ul[^>]*><li>Overview<ul[^>]*><li>Install<ul[^>]*><li>On Linux<\/li><\/ul><\/li><li>Use<\/li><li>FAQ<\/li><\/ul><\/li><li>Appendix<\/li><\/ul>/,
    );
    expect(html).not.toMatch(/href="#|toc-macro/);
    expect(text).toMatch(/Contents\n\n \* Overview\n {3}\* Install\n {5}\* On Linux\n {3}\* Use\n {3}\* FAQ\n \* Appendix/);
  });

  it('replaces a server-rendered list of anchors too, and keeps to the heading levels the macro names', async () => {
    const { html } = await send(
      '<style type="text/css">div.rbtoc1593026732017 {padding: 0px;} div.rbtoc1593026732017 ul {list-style: disc;margin-left: 0px;}</style>' +
        '<div class="toc-macro rbtoc1593026732017 conf-macro output-block" data-headerelements="H2" data-macro-name="toc"><ul class="toc-indentation"><li><a href="#P-Install">Install</a></li></ul></div>' +
        '<h1>Title</h1><h2>Install</h2><h2>Use</h2>',
    );
    expect(html).toMatch(/Contents<\/p><ul[^>]*><li>Install<\/li><li>Use<\/li><\/ul>/);
    expect(html).not.toMatch(/href="#|rbtoc/);
  });
});

describe('what cannot be shown in mail', () => {
  const PAGE_TREE =
    '<div class="plugin_pagetree conf-macro output-block" data-hasbody="false" data-macro-name="pagetree"><ul role="list" aria-busy="true" class="plugin_pagetree_children_list"><div class="plugin_pagetree_children"></div></ul>' +
    '<fieldset class="hidden"><input type="hidden" name="treePageId" value="163860"><input type="hidden" name="i18n-pagetree.loading" value="Loading..."></fieldset></div>';

  it('leaves a visible line naming the macro, linking to the page', async () => {
    const { html, text } = await send(`<p>Before.</p>${PAGE_TREE}<p>After.</p>`);
    expect(html).toMatch(/<div style="[^"]*font-style:italic[^"]*">\[This part of the page \(Page tree\) cannot be shown in email — open the page: <a href="([^"]*)"[^>]*>\1<\/a>\]<\/div>/);
    expect(html).toContain(`href="${PAGE_URL}"`);
    expect(flat(text)).toContain(`Before. [This part of the page (Page tree) cannot be shown in email — open the page: ${PAGE_URL}] After.`);
  });

  it('says "open the page in Confluence" when the page address is not known or not a web address', async () => {
    for (const pageUrl of [null, undefined, 'javascript:alert(1)', '/wiki/spaces/DOCS']) {
      const { html, text } = await send(PAGE_TREE, { pageUrl });
      expect(flat(text)).toContain('[This part of the page (Page tree) cannot be shown in email — open the page in Confluence]');
      expect(html).not.toMatch(/javascript:|href="\/wiki/);
    }
  });

  it('stands in for an embedded frame, video, a browser-only Jira table and an empty macro it does not know', async () => {
    const { text } = await send(
      [
        '<p><span class="conf-macro output-inline" data-hasbody="false" data-macro-name="widget"><iframe src="https://www.youtube.com/embed/x" width="400" height="300"></iframe></span></p>',
        '<p><video src="https://cdn.example.com/clip.mp4" controls></video></p>',
        '<div class="refresh-module-id jira-table"><div class="jira-issues"><table class="aui"><tbody><tr></tr></tbody></table></div></div>',
        '<div class="conf-macro output-block" data-hasbody="false" data-macro-name="roadmap-planner"></div>',
        '<div class="conf-macro output-block" data-hasbody="false" data-macro-name="livesearch"><form><input name="q"></form></div>',
        '<div class="conf-macro output-block" data-hasbody="false" data-macro-name="drawio"></div>',
      ].join('\n'),
    );
    const lines = [...flat(text).matchAll(/\[This part of the page \(([^)]+)\) cannot be shown in email/g)].map((m) => m[1]);
    expect(lines).toEqual(['Widget connector', 'Video', 'Jira issues', 'Roadmap planner', 'Live search', 'draw.io diagram']);
  });

  it('adds no line for a macro that is empty in Confluence too, such as an anchor', async () => {
    const { text } = await send('<p><span class="confluence-anchor-link conf-macro output-inline" id="P-here" data-hasbody="false" data-macro-name="anchor"> </span>Here.</p>');
    expect(text.trim()).toBe('Here.');
  });
});

describe('renderMacros', () => {
  it('leaves a page without macros exactly as it is', () => {
    const html = '<h1>Plain</h1>\n<p>Just   text &amp; <a href="https://example.com/?a=1&amp;b=2">a link</a>.</p>';
    expect(renderMacros(html, { pageUrl: PAGE_URL })).toBe(html);
  });

  it('escapes page text it writes into new markup', () => {
    const out = renderMacros('<div class="expand-container"><div class="expand-control"><span class="expand-control-text">&lt;img src=x onerror=alert(1)&gt;</span></div><div class="expand-content"></div></div>', { pageUrl: null });
    expect(out).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(out).not.toContain('<img');
  });
});
