import { bootstrapApplication } from '@angular/platform-browser';
import { App } from './app/app';
import { appConfig } from './app/app.config';
import { startHost } from './app/core/host';

// The host (Confluence through Forge, or local mode) is settled before the first render: theme, context, transport.
startHost()
  .then((host) => bootstrapApplication(App, appConfig(host)))
  .catch((err: unknown) => {
    console.error(err);
    const main = document.createElement('main');
    main.innerHTML = '<div class="page"><h1>Mailpage could not start</h1><p class="banner banner-error" role="alert"></p></div>';
    main.querySelector('p')!.textContent = `${err instanceof Error ? err.message : String(err)} Reload the page to try again.`;
    document.body.replaceChildren(main);
  });
