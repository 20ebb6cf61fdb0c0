import { Injectable, type PipeTransform } from '@nestjs/common';
import { DomainError } from '../common/domain-error';

/** A Confluence space key: letters, digits, `~` for personal spaces. */
@Injectable()
export class SpaceKeyPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!/^~?[A-Za-z0-9_-]{1,255}$/.test(value)) throw new DomainError('VALIDATION_FAILED', 400, `"${value.slice(0, 40)}" is not a Confluence space key.`);
    return value;
  }
}
