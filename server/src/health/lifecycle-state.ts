import { Injectable, type BeforeApplicationShutdown } from '@nestjs/common';

/** Whether this node is draining: /readyz answers 503 from the first moment of shutdown. */
@Injectable()
export class Lifecycle implements BeforeApplicationShutdown {
  draining = false;
  beforeApplicationShutdown(): void {
    this.draining = true;
  }
}
