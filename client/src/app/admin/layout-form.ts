import { ChangeDetectionStrategy, Component, DestroyRef, OnInit, computed, inject, signal } from '@angular/core';
import { takeUntilDestroyed } from '@angular/core/rxjs-interop';
import { FormBuilder, ReactiveFormsModule } from '@angular/forms';
import { DomSanitizer, type SafeHtml } from '@angular/platform-browser';
import { FOOTER_PLACEHOLDERS, forbiddenCssConstruct } from '@mailpage/contract';
import type { LayoutPreview, MailLayoutInput, MailLayoutView } from '@mailpage/contract';
import { Subject, debounceTime, merge } from 'rxjs';
import { ApiClient, asApiError } from '../core/api';
import { formatSize } from '../shared/format';
import { LoadState } from '../shared/load-state';
import { SaveActions, SaveOutcome } from '../shared/save-bar';
import { SettingsResource } from '../shared/settings-resource';

type Field = 'headerText' | 'logo' | 'footerTemplate' | 'customCss';

/** The contract's LOGO_MAX_BYTES (its schemas stay on the server). */
const LOGO_MAX_BYTES = 200 * 1024;
export const PREVIEW_DEBOUNCE_MS = 500;

/** A new logo chosen in the form (undefined: keep the saved one; null: remove it). */
type LogoChange = { contentType: 'image/png' | 'image/jpeg'; dataBase64: string; name: string; size: number } | null | undefined;

/** How every mail of the site looks around the page, with a live preview of a sample page. */
@Component({
  selector: 'mp-layout-form',
  changeDetection: ChangeDetectionStrategy.OnPush,
  imports: [ReactiveFormsModule, LoadState, SaveActions, SaveOutcome],
  styles: `
    .layout {
      display: grid;
      grid-template-columns: minmax(0, 1fr) minmax(0, 1fr);
      gap: var(--ds-space-300, 24px);
      align-items: start;
    }
    @media (max-width: 900px) {
      .layout {
        grid-template-columns: minmax(0, 1fr);
      }
    }
    textarea.code {
      font-family: SFMono-Regular, Menlo, Consolas, 'Liberation Mono', monospace;
      font-size: 13px;
    }
  `,
  template: `
    <mp-load-state failure="The mail layout could not be loaded." loading="Loading the mail layout…" [error]="settings.loadError()" [loaded]="settings.loaded()" (retry)="load()">
      <ng-template>
        <div class="layout">
          <form [formGroup]="form" (ngSubmit)="save()" novalidate data-layout>
            <fieldset class="section">
              <legend>Header</legend>
              <div class="field">
                <label for="ly-header">Header text</label>
                <input id="ly-header" type="text" formControlName="headerText" maxlength="200" [attr.aria-invalid]="!!settings.errors().headerText || null" [attr.aria-describedby]="settings.errors().headerText ? 'ly-header-error' : null" />
                @if (settings.errors().headerText; as e) {
                  <p class="field-error" role="alert" id="ly-header-error">{{ e }}</p>
                }
              </div>
              <div class="field">
                <label for="ly-logo">Logo</label>
                <input id="ly-logo" type="file" accept="image/png,image/jpeg" (change)="chooseLogo($any($event.target))" [attr.aria-invalid]="!!settings.errors().logo || null" aria-describedby="ly-logo-hint" />
                <p class="hint" id="ly-logo-hint">
                  PNG or JPEG, at most 200 kB; sent inside each mail, never fetched from anywhere.
                  @if (logoText(); as t) {
                    {{ t }}
                  }
                </p>
                @if (hasLogo()) {
                  <button type="button" class="btn btn-subtle" (click)="removeLogo()">Remove the logo</button>
                }
                @if (settings.errors().logo; as e) {
                  <p class="field-error" role="alert">{{ e }}</p>
                }
              </div>
            </fieldset>

            <fieldset class="section">
              <legend>Footer and link</legend>
              <div class="field">
                <label for="ly-footer">Footer</label>
                <textarea id="ly-footer" rows="3" formControlName="footerTemplate" [attr.aria-invalid]="!!settings.errors().footerTemplate || null" aria-describedby="ly-footer-hint"></textarea>
                <p class="hint" id="ly-footer-hint">Plain text. These are filled in for each mail: {{ placeholders }}.</p>
                @if (settings.errors().footerTemplate; as e) {
                  <p class="field-error" role="alert">{{ e }}</p>
                }
              </div>
              <div class="check">
                <input type="checkbox" id="ly-link" formControlName="includePageLink" />
                <label for="ly-link">Add a link back to the page in Confluence</label>
              </div>
            </fieldset>

            <fieldset class="section">
              <legend>Style</legend>
              <div class="field">
                <label for="ly-css">Custom CSS</label>
                <textarea id="ly-css" class="code" rows="6" formControlName="customCss" spellcheck="false" [attr.aria-invalid]="!!cssError() || null" aria-describedby="ly-css-hint"></textarea>
                <p class="hint" id="ly-css-hint">Inlined into each mail after Mailpage's own styles. The header is <code>.mailpage-header</code>, the personal message <code>.mailpage-message</code>, the footer <code>.mailpage-footer</code>. Nothing that loads or runs anything (url(), &#64;import, expression()).</p>
                @if (cssError(); as e) {
                  <p class="field-error" role="alert">{{ e }}</p>
                }
              </div>
            </fieldset>

            <fieldset class="section">
              <legend>Spaces</legend>
              <div class="check">
                <input type="checkbox" id="ly-spaces" formControlName="allowSpaceOverrides" aria-describedby="ly-spaces-hint" />
                <div>
                  <label for="ly-spaces">Space admins may set their space's sender name, Reply-To and subject prefix</label>
                  <p class="hint" id="ly-spaces-hint">In each space's Mailpage settings. The sender address stays the site's.</p>
                </div>
              </div>
            </fieldset>

            <div mpSaveActions [busy]="settings.busy()"></div>
            <div mpSaveOutcome [error]="settings.formError()" [notice]="settings.notice()" [markNotice]="true"></div>
          </form>

          <section class="stack-sm" aria-labelledby="ly-preview-title" data-layout-preview>
            <h2 id="ly-preview-title">Preview</h2>
            <p class="hint">A sample page in this layout, as the form stands (not saved yet).</p>
            @if (previewError(); as e) {
              <p class="field-warning" role="status">{{ e }}</p>
            }
            @if (preview(); as p) {
              <p class="hint" data-preview-subject>Subject: {{ p.subject }}</p>
              <iframe class="mail-frame" title="Preview of the mail layout" sandbox="" [srcdoc]="previewHtml()"></iframe>
            } @else if (!previewError()) {
              <p class="hint" aria-live="polite">Preparing the preview…</p>
            }
          </section>
        </div>
      </ng-template>
    </mp-load-state>
  `,
})
export class LayoutForm implements OnInit {
  private readonly api = inject(ApiClient);
  private readonly sanitizer = inject(DomSanitizer);
  private readonly destroyRef = inject(DestroyRef);
  readonly form = inject(FormBuilder).nonNullable.group({ headerText: '', footerTemplate: '', customCss: '', includePageLink: false, allowSpaceOverrides: false });
  readonly placeholders = FOOTER_PLACEHOLDERS.map((p) => `{${p}}`).join(', ');

  readonly settings = new SettingsResource<MailLayoutView, Field>();
  readonly logo = signal<LogoChange>(undefined);
  readonly css = signal('');
  readonly preview = signal<LayoutPreview | null>(null);
  readonly previewError = signal<string | null>(null);

  /** As typed: the same check the service makes when saving. */
  readonly cssError = computed(() => {
    const construct = forbiddenCssConstruct(this.css());
    return construct ? `The CSS uses ${construct}, which mail CSS may not use; remove it.` : (this.settings.errors().customCss ?? null);
  });
  readonly hasLogo = computed(() => (this.logo() === undefined ? !!this.settings.view()?.logo : !!this.logo()));
  readonly logoText = computed(() => {
    const change = this.logo();
    if (change) return `New: ${change.name} (${formatSize(change.size)}), saved with the form.`;
    if (change === null) return 'The logo will be removed when you save.';
    const saved = this.settings.view()?.logo;
    return saved ? `Saved: a ${saved.contentType === 'image/png' ? 'PNG' : 'JPEG'} image of ${formatSize(saved.size)}.` : null;
  });
  readonly previewHtml = computed<SafeHtml>(() =>
    // The composed sample mail in a frame with an empty sandbox: no scripts, no forms, an opaque origin.
    this.sanitizer.bypassSecurityTrustHtml(this.preview()?.html ?? ''),
  );

  private readonly logoChanged = new Subject<void>();

  ngOnInit(): void {
    this.form.controls.customCss.valueChanges.pipe(takeUntilDestroyed(this.destroyRef)).subscribe((v) => this.css.set(v));
    merge(this.form.valueChanges, this.logoChanged)
      .pipe(debounceTime(PREVIEW_DEBOUNCE_MS), takeUntilDestroyed(this.destroyRef))
      .subscribe(() => void this.refreshPreview());
    void this.load();
  }

  load(): Promise<void> {
    return this.settings.load(
      () => this.api.get<MailLayoutView>('/api/settings/layout'),
      (v) => {
        this.apply(v);
        void this.refreshPreview();
      },
    );
  }

  async chooseLogo(input: HTMLInputElement): Promise<void> {
    const file = input.files?.[0];
    if (!file) return;
    this.settings.errors.update((e) => ({ ...e, logo: undefined }));
    if (file.type !== 'image/png' && file.type !== 'image/jpeg') {
      this.settings.errors.update((e) => ({ ...e, logo: `${file.name} is not a PNG or JPEG image.` }));
      return;
    }
    if (file.size > LOGO_MAX_BYTES) {
      this.settings.errors.update((e) => ({ ...e, logo: `${file.name} is ${formatSize(file.size)}, over the limit of 200 kB; use a smaller image.` }));
      return;
    }
    const bytes = new Uint8Array(await file.arrayBuffer());
    let binary = '';
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    this.logo.set({ contentType: file.type, dataBase64: btoa(binary), name: file.name, size: file.size });
    this.logoChanged.next();
  }

  removeLogo(): void {
    this.logo.set(null);
    this.logoChanged.next();
  }

  save(): Promise<void> {
    return this.settings.save(
      () => this.api.put<MailLayoutView>('/api/settings/layout', this.body()),
      (v) => this.apply(v),
      (p) => (['headerText', 'footerTemplate', 'customCss'].includes(p) ? (p as Field) : p.startsWith('logo') ? 'logo' : null),
      // The CSS error is already shown next to the field, as typed.
      () => !forbiddenCssConstruct(this.css()),
    );
  }

  private body(): MailLayoutInput {
    const change = this.logo();
    return {
      ...this.form.getRawValue(),
      ...(change === null ? { logo: null } : change ? { logo: { contentType: change.contentType, dataBase64: change.dataBase64 } } : {}),
    };
  }

  private async refreshPreview(): Promise<void> {
    if (forbiddenCssConstruct(this.css())) {
      this.previewError.set('The preview waits until the CSS is one mail may use.');
      return;
    }
    try {
      this.preview.set(await this.api.post<LayoutPreview>('/api/settings/layout/preview', { layout: this.body() }));
      this.previewError.set(null);
    } catch (e) {
      this.previewError.set(`The preview could not be made: ${asApiError(e).message}`);
    }
  }

  private apply(v: MailLayoutView): void {
    this.logo.set(undefined);
    this.form.setValue({ headerText: v.headerText, footerTemplate: v.footerTemplate, customCss: v.customCss, includePageLink: v.includePageLink, allowSpaceOverrides: v.allowSpaceOverrides }, { emitEvent: false });
    this.css.set(v.customCss);
  }
}
