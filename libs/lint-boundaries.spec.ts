import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

describe('libs/ boundaries', () => {
  const eslint = new ESLint({ cwd: process.cwd() });
  const lint = async (code: string, filePath: string) => (await eslint.lintText(code, { filePath }))[0].messages.filter((m) => m.ruleId === 'no-restricted-imports');

  it.each(['typeorm', '@nestjs/common', '@angular/core'])('refuses an import of %s in libs/', async (pkg) => {
    const messages = await lint(`import { x } from '${pkg}';\nexport const y = x;\n`, 'libs/contract/src/example.ts');
    expect(messages).toHaveLength(1);
    expect(messages[0].message).toMatch(/libs\/ must not import/);
  });

  it('allows the same import in server/', async () => {
    expect(await lint(`import { Injectable } from '@nestjs/common';\nexport const y = Injectable;\n`, 'server/src/example.ts')).toHaveLength(0);
  });
});
