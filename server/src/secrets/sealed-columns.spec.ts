import 'reflect-metadata';
import { getMetadataArgsStorage } from 'typeorm';
import { describe, expect, it } from 'vitest';
import { ENTITIES } from '../database/entities';
import { SEALED_COLUMNS } from './sealed-columns';

describe('the list of sealed columns that key rotation re-seals', () => {
  it('names every entity property that holds a sealed secret', () => {
    const sealed = getMetadataArgsStorage()
      .columns.filter((c) => ENTITIES.includes(c.target as (typeof ENTITIES)[number]) && /Sealed$/.test(c.propertyName))
      .map((c) => `${(c.target as { name: string }).name}.${c.propertyName}`)
      .sort();
    const listed = SEALED_COLUMNS.map((c) => `${c.entity.name}.${c.property}`).sort();
    expect(listed).toEqual(sealed);
  });

  it('gives every column a field name of its own', () => {
    const fields = SEALED_COLUMNS.map((c) => `${c.entity.name}:${c.field}`);
    expect(new Set(fields).size).toBe(fields.length);
  });
});
