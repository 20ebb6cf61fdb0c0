import { describe, expect, it } from 'vitest';
import { DEFAULT_SEND_RATE_LIMITS, rateLimitMessage } from './rate-limit.service';

describe('the sentence for a refused send', () => {
  it('tells a person their own limit and when to try again', () => {
    expect(rateLimitMessage({ allowed: false, retryAfterSeconds: 42, limitedBy: 'user' }, DEFAULT_SEND_RATE_LIMITS)).toBe(
      'You have sent 30 mails in a minute, the most one person may send; try again in 42 seconds.',
    );
  });

  it('tells them when it is the whole site that reached its limit', () => {
    expect(rateLimitMessage({ allowed: false, retryAfterSeconds: 1, limitedBy: 'tenant' }, { perUser: 3, perTenant: 5, windowSeconds: 3600 })).toBe(
      'Your site has sent 5 mails in an hour, the most this service sends for one site; try again in 1 second.',
    );
  });
});
