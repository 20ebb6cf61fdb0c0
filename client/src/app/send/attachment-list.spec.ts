import { Component, signal } from '@angular/core';
import { TestBed, type ComponentFixture } from '@angular/core/testing';
import type { PageAttachment } from '@mailpage/contract';
import { beforeEach, describe, expect, it } from 'vitest';
import { texts } from '../../testing/fakes';
import { AttachmentList } from './attachment-list';

const MB = 1024 * 1024;
const FILES: PageAttachment[] = [
  { id: 'att1', filename: 'plan.pdf', mediaType: 'application/pdf', size: 3.4 * MB },
  { id: 'att2', filename: 'photo.jpg', mediaType: 'image/jpeg', size: 120 * 1024 },
  { id: 'att3', filename: 'video.mp4', mediaType: 'video/mp4', size: 17 * MB },
];

@Component({
  imports: [AttachmentList],
  template: `<mp-attachment-list [attachments]="attachments()" [limit]="limit()" [(selected)]="selected" />`,
})
class Host {
  readonly attachments = signal<PageAttachment[] | null>(FILES);
  readonly limit = signal(18 * MB);
  readonly selected = signal<string[]>([]);
}

describe('attachment list', () => {
  let fixture: ComponentFixture<Host>;
  const el = () => fixture.nativeElement as HTMLElement;
  const box = (id: string) => el().querySelector<HTMLInputElement>(`input[data-attachment="${id}"]`)!;
  const summary = () => texts(el(), 'p.hint[aria-live]')[0];

  beforeEach(async () => {
    fixture = TestBed.createComponent(Host);
    await fixture.whenStable();
  });

  it('lists each attachment with its size as a labelled checkbox', () => {
    expect(texts(el(), 'li label')).toEqual(['plan.pdf, 3.4 MB', 'photo.jpg, 120 KB', 'video.mp4, 17 MB']);
    expect(box('att1').closest('label')!.textContent).toContain('plan.pdf');
    expect(summary()).toBe('No files selected. The mail size limit is 18 MB.');
  });

  it('keeps a running total against the limit as files are ticked and unticked', async () => {
    box('att1').click();
    await fixture.whenStable();
    expect(summary()).toBe('1 file selected: 3.4 MB of 18 MB.');
    box('att2').click();
    await fixture.whenStable();
    expect(summary()).toBe('2 files selected: 3.6 MB of 18 MB.');
    expect(fixture.componentInstance.selected()).toEqual(['att1', 'att2']);
    box('att1').click();
    await fixture.whenStable();
    expect(summary()).toBe('1 file selected: 120 KB of 18 MB.');
    expect(el().querySelector('[role="alert"]')).toBeNull();
  });

  it('warns when the selection is over the limit, and says by how much', async () => {
    box('att1').click();
    box('att3').click();
    await fixture.whenStable();
    const alert = el().querySelector('[role="alert"]')!;
    expect(alert.textContent).toContain('The selected files add up to 20.4 MB, over the mail size limit of 18 MB. Leave some out.');
    box('att1').click();
    await fixture.whenStable();
    expect(el().querySelector('[role="alert"]')).toBeNull();
  });

  it('uses the limit the service named', async () => {
    fixture.componentInstance.limit.set(10 * MB);
    box('att1').click();
    await fixture.whenStable();
    expect(summary()).toBe('1 file selected: 3.4 MB of 10 MB.');
  });

  it('says what to do when the page has no attachments', async () => {
    fixture.componentInstance.attachments.set([]);
    await fixture.whenStable();
    expect(el().textContent).toContain('This page has no attachments. Attach files to the page in Confluence to send them with the mail.');
  });
});
