import { MigrationInterface, QueryRunner, Table, TableIndex } from 'typeorm';

/** Fixed-window send counters that every node shares (per user and per tenant). */
export class RateLimits1764000300000 implements MigrationInterface {
  name = 'RateLimits1764000300000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'rate_limits',
        columns: [
          { name: 'limit_key', type: 'varchar', length: '64', isPrimary: true },
          { name: 'window_start', type: 'bigint', isPrimary: true },
          { name: 'count', type: 'int' },
          { name: 'expires_at', type: 'bigint' },
        ],
        indices: [new TableIndex({ name: 'ix_rate_limits_expires', columnNames: ['expires_at'] })],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('rate_limits');
  }
}
