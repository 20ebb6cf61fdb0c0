import { inject } from '@angular/core';
import type { Routes } from '@angular/router';
import { HOST } from './core/host';

/** One lazy chunk per page; hash routing (Custom UI is served from a path we do not control). */
export const routes: Routes = [
  { path: '', pathMatch: 'full', redirectTo: () => inject(HOST).startPath },
  { path: 'send', title: 'Send page as mail', loadComponent: () => import('./send/send-page').then((m) => m.SendPage) },
  { path: 'admin', pathMatch: 'full', redirectTo: 'admin/mail' },
  { path: 'admin/:tab', title: 'Mailpage settings', loadComponent: () => import('./admin/admin-page').then((m) => m.AdminPage) },
  { path: 'space/:spaceKey', title: 'Mailpage space settings', loadComponent: () => import('./space/space-settings').then((m) => m.SpaceSettings) },
  { path: 'keys', title: 'My encryption keys', loadComponent: () => import('./keys/keys-page').then((m) => m.KeysPage) },
  { path: '**', title: 'Not found', loadComponent: () => import('./not-found').then((m) => m.NotFound) },
];
