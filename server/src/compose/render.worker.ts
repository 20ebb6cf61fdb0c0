import { parentPort } from 'node:worker_threads';
import { MailCryptoService } from '../crypto/mail-crypto.service';
import { ComposeService } from './compose.service';
import { reviveTask, toWireError, transferList, type RenderAnswer, type RenderTask, type TaskResults } from './render-wire';

/**
 * A render worker (see RenderPool): one task at a time. Nothing of a mail is kept between tasks; what is kept is what
 * the event loop keeps too: unlocked signing keys and parsed recipient keys, for a few minutes (MailCryptoService).
 */
const composer = new ComposeService();
let taskNow = new Date();
// The clock of the event loop that sent the task: tests move it, and key expiry is judged as of the send.
const crypto = new MailCryptoService({ now: () => taskNow });
const port = parentPort!;

function run(task: RenderTask): Promise<TaskResults[RenderTask['kind']]> {
  switch (task.kind) {
    case 'page':
      return composer.renderPage(task.input);
    case 'build':
      return composer.buildMessage(task.mail, task.headers);
    case 'protect':
      taskNow = task.now;
      return crypto.protectHere(task.raw, task.options);
  }
}

port.on('message', (message: RenderTask) => {
  const task = reviveTask(message);
  run(task).then(
    (value) => port.postMessage({ id: task.id, value } satisfies RenderAnswer, transferList(task.kind, value)),
    (e: unknown) => port.postMessage({ id: task.id, error: toWireError(e) } satisfies RenderAnswer),
  );
});
