import type { Type } from '@angular/core';
import { TestBed, type ComponentFixture } from '@angular/core/testing';
import { beforeEach } from 'vitest';
import { FakeApi, fakeProviders, settle } from './fakes';

/**
 * The setup the settings form specs share, called inside `describe`: a fresh FakeApi for each test (give it its
 * answers before `render`), and `render`, which creates the component with `inputs` and lets its first load finish.
 */
export function setUpFormSpec<T>(component: Type<T>, inputs: Record<string, unknown> = {}) {
  let api: FakeApi;
  let fixture: ComponentFixture<T>;
  beforeEach(() => {
    api = new FakeApi();
  });

  /** Lets the fake API answer and the view catch up. */
  const settled = async (): Promise<void> => {
    await settle();
    await fixture.whenStable();
  };

  return {
    get api(): FakeApi {
      return api;
    },
    get fixture(): ComponentFixture<T> {
      return fixture;
    },
    el: () => fixture.nativeElement as HTMLElement,
    settled,
    async render(): Promise<void> {
      TestBed.configureTestingModule({ imports: [component], providers: fakeProviders(api) });
      fixture = TestBed.createComponent(component);
      for (const [name, value] of Object.entries(inputs)) fixture.componentRef.setInput(name, value);
      await fixture.whenStable();
      await settled();
    },
  };
}
