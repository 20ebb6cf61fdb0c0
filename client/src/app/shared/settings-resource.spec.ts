import { describe, expect, it, vi } from 'vitest';
import { ApiFailure } from '../core/api';
import { SettingsResource } from './settings-resource';

interface View {
  name: string;
}
type Field = 'name';

const fieldOf = (path: string): Field | null => (path === 'name' ? 'name' : null);

/** A promise the test settles by hand, to look at the resource while a request is under way. */
function pending<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const invalid = (issues: { path: string; message: string }[]) => new ApiFailure('VALIDATION_FAILED', 'The request is not valid.', { issues }, 400);

describe('the load and save state of a settings form', () => {
  it('loads: clears the last load error, hands the view to apply, and then counts as loaded', async () => {
    const s = new SettingsResource<View, Field>();
    s.loadError.set({ code: 'INTERNAL_ERROR', message: 'earlier' });
    const answer = pending<View>();
    const apply = vi.fn((v: View) => expect(v).toEqual({ name: 'a' }));
    const done = s.load(() => answer.promise, apply);
    expect(s.loadError()).toBeNull();
    expect(s.loaded()).toBe(false);
    answer.resolve({ name: 'a' });
    await done;
    expect(apply).toHaveBeenCalledOnce();
    expect(s.view()).toEqual({ name: 'a' });
    expect(s.loaded()).toBe(true);
  });

  it('keeps a failed load as the load error, without a view and without calling apply', async () => {
    const s = new SettingsResource<View, Field>();
    const apply = vi.fn();
    await s.load(() => Promise.reject(new ApiFailure('FORBIDDEN', 'Only site admins can see this.', undefined, 403)), apply);
    expect(s.loadError()).toMatchObject({ code: 'FORBIDDEN', message: 'Only site admins can see this.' });
    expect(s.loaded()).toBe(false);
    expect(apply).not.toHaveBeenCalled();
  });

  it('forgets the view when loading again (another space), and on reset', async () => {
    const s = new SettingsResource<View, Field>();
    await s.load(() => Promise.resolve({ name: 'a' }), () => undefined);
    const answer = pending<View>();
    const done = s.load(() => answer.promise, () => undefined);
    expect(s.view()).toBeNull();
    answer.resolve({ name: 'b' });
    await done;
    expect(s.view()).toEqual({ name: 'b' });
    s.loadError.set({ code: 'INTERNAL_ERROR', message: 'x' });
    s.reset();
    expect(s.view()).toBeNull();
    expect(s.loadError()).toBeNull();
  });

  it('saves: clears the last outcome, is busy while sending, applies the answer and says "Saved."', async () => {
    const s = new SettingsResource<View, Field>();
    s.formError.set('earlier');
    s.errors.set({ name: 'earlier' });
    const answer = pending<View>();
    const apply = vi.fn();
    const done = s.save(() => answer.promise, apply, fieldOf);
    expect(s.busy()).toBe(true);
    expect(s.formError()).toBeNull();
    expect(s.errors()).toEqual({});
    expect(s.notice()).toBeNull();
    answer.resolve({ name: 'saved' });
    await done;
    expect(apply).toHaveBeenCalledWith({ name: 'saved' });
    expect(s.view()).toEqual({ name: 'saved' });
    expect(s.notice()).toBe('Saved.');
    expect(s.busy()).toBe(false);
  });

  it('sends nothing while a save is under way, and leaves its messages alone', async () => {
    const s = new SettingsResource<View, Field>();
    const answer = pending<View>();
    const send = vi.fn(() => answer.promise);
    const first = s.save(send, () => undefined, fieldOf);
    s.formError.set('shown meanwhile');
    const second = s.save(send, () => undefined, fieldOf);
    expect(send).toHaveBeenCalledOnce();
    expect(s.formError()).toBe('shown meanwhile');
    answer.resolve({ name: 'a' });
    await Promise.all([first, second]);
    expect(s.busy()).toBe(false);
  });

  it('places the issues the service names next to their fields and the rest on the form, and is no longer busy', async () => {
    const s = new SettingsResource<View, Field>();
    const apply = vi.fn();
    await s.save(() => Promise.reject(invalid([{ path: 'name', message: 'name is too long' }])), apply, fieldOf);
    expect(s.errors()).toEqual({ name: 'name is too long' });
    expect(s.formError()).toBeNull();
    expect(s.notice()).toBeNull();
    expect(s.busy()).toBe(false);
    expect(apply).not.toHaveBeenCalled();

    await s.save(() => Promise.reject(invalid([{ path: 'other', message: 'other is wrong' }])), apply, fieldOf);
    expect(s.errors()).toEqual({});
    expect(s.formError()).toBe('The request is not valid.');
  });

  it('lets a check stop the save after the last outcome is cleared, keeping the field errors it set', async () => {
    const s = new SettingsResource<View, Field>();
    s.formError.set('earlier');
    s.notice.set('Saved.');
    const send = vi.fn(() => Promise.resolve({ name: 'a' }));
    await s.save(send, () => undefined, fieldOf, () => {
      expect(s.formError()).toBeNull();
      expect(s.notice()).toBeNull();
      expect(s.busy()).toBe(false);
      s.errors.set({ name: 'checked here' });
      return false;
    });
    expect(send).not.toHaveBeenCalled();
    expect(s.errors()).toEqual({ name: 'checked here' });
    expect(s.busy()).toBe(false);

    await s.save(send, () => undefined, fieldOf, () => true);
    expect(send).toHaveBeenCalledOnce();
    expect(s.errors()).toEqual({});
    expect(s.notice()).toBe('Saved.');
  });
});
