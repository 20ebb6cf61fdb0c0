import { computed, signal } from '@angular/core';
import type { ApiError } from '@mailpage/contract';
import { asApiError } from '../core/api';
import { placeError } from './errors';

/**
 * What a settings form shows around its fields: the view as last loaded or saved, why it could not be loaded,
 * whether a save is under way, and what the last save said, per field (`F`) and for the form as a whole.
 */
export class SettingsResource<V, F extends string> {
  readonly view = signal<V | null>(null);
  readonly loaded = computed(() => this.view() !== null);
  readonly loadError = signal<ApiError | null>(null);
  readonly busy = signal(false);
  readonly errors = signal<Partial<Record<F, string>>>({});
  readonly formError = signal<string | null>(null);
  readonly notice = signal<string | null>(null);

  /** Back to "loading" with nothing asked yet, as for a space form that does not know its space. */
  reset(): void {
    this.loadError.set(null);
    this.view.set(null);
  }

  async load(fetch: () => Promise<V>, apply: (view: V) => void): Promise<void> {
    this.reset();
    try {
      this.accept(await fetch(), apply);
    } catch (e) {
      this.loadError.set(asApiError(e));
    }
  }

  /**
   * Sends the form unless a save is under way. `check` runs once the last outcome is cleared and may stop the save,
   * having named what is wrong itself; the service's issues go to the field `fieldOf` names, the rest to the form.
   */
  async save(send: () => Promise<V>, apply: (view: V) => void, fieldOf: (path: string) => F | null, check?: () => boolean): Promise<void> {
    if (this.busy()) return;
    this.formError.set(null);
    this.notice.set(null);
    if (check && !check()) return;
    this.busy.set(true);
    this.errors.set({});
    try {
      this.accept(await send(), apply);
      this.notice.set('Saved.');
    } catch (e) {
      const placed = placeError(asApiError(e), fieldOf);
      this.errors.set(placed.fields);
      this.formError.set(placed.form);
    } finally {
      this.busy.set(false);
    }
  }

  private accept(view: V, apply: (view: V) => void): void {
    apply(view);
    this.view.set(view);
  }
}
