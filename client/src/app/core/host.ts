import { InjectionToken } from '@angular/core';
import type { ApiError } from '@mailpage/contract';
import { asApiError, type Transport } from './api';
import { LocalSessionStore } from './local-session';
import { FetchTransport, ForgeTransport, type InvokeRemote } from './transports';

/** What Confluence told us about where the app was opened (view.getContext().extension). */
export interface ConfluenceContext {
  moduleKey: string;
  accountId: string | null;
  siteUrl: string | null;
  contentId: string | null;
  spaceKey: string | null;
}

/** Where the app runs, decided once before bootstrap. */
export interface Host {
  mode: 'confluence' | 'local';
  transport: Transport;
  confluence: ConfluenceContext | null;
  local: LocalSessionStore | null;
  /** Closes the Confluence dialog (view.close); null outside a dialog. */
  close: (() => Promise<void>) | null;
  /** The route to show when the address has none. */
  startPath: string;
  /** A failure while starting (e.g. the local service did not hand out a session), shown by the shell. */
  startError: ApiError | null;
}

export const HOST = new InjectionToken<Host>('mailpage.host');

/** Forge injects its bridge into the Custom UI frame before the app's scripts run; @forge/bridge throws without it. */
export function inConfluence(): boolean {
  const bridge = (globalThis as { __bridge?: { callBridge?: unknown } }).__bridge;
  return typeof bridge?.callBridge === 'function';
}

export function startPathFor(ctx: Pick<ConfluenceContext, 'moduleKey' | 'spaceKey'>): string {
  const key = ctx.moduleKey ?? '';
  if (/space/i.test(key) && ctx.spaceKey) return `/space/${encodeURIComponent(ctx.spaceKey)}`;
  if (/settings/i.test(key)) return '/admin';
  return '/send';
}

export async function startHost(): Promise<Host> {
  if (inConfluence()) {
    // Loaded only inside Confluence: it is a chunk of its own, and it throws at import time anywhere else.
    const loaded = await import('@forge/bridge');
    // @forge/bridge is CommonJS: depending on the bundler's interop its exports are the namespace or its default.
    const bridge = ('view' in loaded ? loaded : (loaded as unknown as { default: typeof loaded }).default) as typeof loaded;
    // Before the first render, so Atlassian's light/dark tokens apply from the start.
    await bridge.view.theme.enable().catch(() => undefined);
    const ctx = await bridge.view.getContext();
    const ext = (ctx.extension ?? {}) as { content?: { id?: string | number }; space?: { key?: string } };
    const confluence: ConfluenceContext = {
      moduleKey: ctx.moduleKey ?? '',
      accountId: ctx.accountId ?? null,
      siteUrl: ctx.siteUrl ?? null,
      contentId: ext.content?.id !== undefined ? String(ext.content.id) : null,
      spaceKey: ext.space?.key ?? null,
    };
    return {
      mode: 'confluence',
      transport: new ForgeTransport(bridge.invokeRemote as InvokeRemote),
      confluence,
      local: null,
      close: () => bridge.view.close(),
      startPath: startPathFor(confluence),
      startError: null,
    };
  }
  const local = new LocalSessionStore();
  let startError: ApiError | null = null;
  try {
    await local.start();
  } catch (e) {
    startError = asApiError(e);
  }
  return { mode: 'local', transport: new FetchTransport(local), confluence: null, local, close: null, startPath: '/send', startError };
}
