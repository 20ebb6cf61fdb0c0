import { parentPort } from 'node:worker_threads';
import { ComposeService } from './compose.service';
import { reviveInput, toWireError, type RenderAnswer, type RenderTask } from './render-wire';

/** A render worker (see RenderPool): one page at a time, nothing kept between pages. */
const composer = new ComposeService();
const port = parentPort!;

port.on('message', (task: RenderTask) => {
  composer.renderPage(reviveInput(task.input)).then(
    (page) => port.postMessage({ id: task.id, page } satisfies RenderAnswer),
    (e: unknown) => port.postMessage({ id: task.id, error: toWireError(e) } satisfies RenderAnswer),
  );
});
