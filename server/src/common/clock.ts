import { Injectable } from '@nestjs/common';

/** The clock as an adapter, so tests can move time (retention, token expiry) without sleeping. */
@Injectable()
export class Clock {
  now(): Date {
    return new Date();
  }
}
