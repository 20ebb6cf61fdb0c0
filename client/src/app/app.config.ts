import { type ApplicationConfig, provideBrowserGlobalErrorListeners, provideZonelessChangeDetection } from '@angular/core';
import { provideRouter, withComponentInputBinding, withHashLocation } from '@angular/router';
import { TRANSPORT } from './core/api';
import { HOST, type Host } from './core/host';
import { routes } from './app.routes';

export function appConfig(host: Host): ApplicationConfig {
  return {
    providers: [
      provideBrowserGlobalErrorListeners(),
      provideZonelessChangeDetection(),
      provideRouter(routes, withHashLocation(), withComponentInputBinding()),
      { provide: HOST, useValue: host },
      { provide: TRANSPORT, useValue: host.transport },
    ],
  };
}
