import { Controller, Get, Header, Param, StreamableFile } from '@nestjs/common';
import PostalMime from 'postal-mime';
import { SiteAdmin } from '../auth/auth.decorators';
import { DomainError } from '../common/domain-error';
import { MailCatcher } from './mail-catcher';

export interface OutboxEntry {
  id: string;
  receivedAt: string;
  envelope: { from: string; to: string[] };
  subject: string;
  size: number;
}

/** Local mode: what the built-in catcher received. Held in memory only (the last 50), readable by the local site admin. */
@Controller('api/local/outbox')
@SiteAdmin()
export class OutboxController {
  constructor(private readonly catcher: MailCatcher) {}

  @Get()
  async list(): Promise<OutboxEntry[]> {
    return Promise.all(
      this.catcher.list().map(async (m) => {
        const parsed = await PostalMime.parse(headerSection(m.raw));
        return { id: m.id, receivedAt: m.receivedAt.toISOString(), envelope: m.envelope, subject: parsed.subject ?? '', size: m.raw.length };
      }),
    );
  }

  @Get(':id')
  @Header('content-type', 'message/rfc822')
  get(@Param('id') id: string): StreamableFile {
    const m = this.catcher.get(id);
    if (!m) throw new DomainError('NOT_FOUND', 404, 'No caught mail with this id; the outbox keeps the last 50 mails until the service restarts.');
    return new StreamableFile(m.raw);
  }
}

function headerSection(raw: Buffer): Buffer {
  const end = raw.indexOf('\r\n\r\n');
  return end < 0 ? raw : raw.subarray(0, end + 4);
}
