import { MigrationInterface, QueryRunner, Table, TableForeignKey, TableIndex } from 'typeorm';

const tenantFk = (table: string) =>
  new TableForeignKey({ name: `fk_${table}_tenant`, columnNames: ['tenant_id'], referencedTableName: 'tenants', referencedColumnNames: ['id'], onDelete: 'CASCADE' });

/** Tenants, mail settings and sends. Written with TypeORM's Table API so one migration serves SQLite and MySQL. */
export class Initial1764000000000 implements MigrationInterface {
  name = 'Initial1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'tenants',
        columns: [
          { name: 'id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'api_base_url', type: 'varchar', length: '512' },
          { name: 'installed_at', type: 'datetime', precision: 3 },
          { name: 'last_seen_at', type: 'datetime', precision: 3 },
        ],
      }),
    );
    await q.createTable(
      new Table({
        name: 'mail_settings',
        columns: [
          { name: 'tenant_id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'sender_name', type: 'varchar', length: '255' },
          { name: 'sender_address', type: 'varchar', length: '320' },
          { name: 'subject_prefix', type: 'varchar', length: '255' },
          { name: 'server_mode', type: 'varchar', length: '16' },
          { name: 'host', type: 'varchar', length: '253', isNullable: true },
          { name: 'port', type: 'int', isNullable: true },
          { name: 'security', type: 'varchar', length: '16', isNullable: true },
          { name: 'auth_type', type: 'varchar', length: '16' },
          { name: 'username', type: 'varchar', length: '320', isNullable: true },
          { name: 'password_sealed', type: 'text', isNullable: true },
          { name: 'revision', type: 'int' },
          { name: 'updated_at', type: 'datetime', precision: 3 },
        ],
        foreignKeys: [tenantFk('mail_settings')],
      }),
    );
    await q.createTable(
      new Table({
        name: 'sends',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'tenant_id', type: 'varchar', length: '64' },
          { name: 'account_id', type: 'varchar', length: '128' },
          { name: 'idempotency_key', type: 'varchar', length: '128', isNullable: true },
          { name: 'request_mac', type: 'varchar', length: '64', isNullable: true },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'page_id', type: 'varchar', length: '64', isNullable: true },
          { name: 'space_key', type: 'varchar', length: '255', isNullable: true },
          { name: 'recipient_count', type: 'int' },
          { name: 'rejected_positions', type: 'varchar', length: '2048', isNullable: true },
          { name: 'encryption', type: 'varchar', length: '16' },
          { name: 'smtp_code', type: 'int', isNullable: true },
          { name: 'message_id', type: 'varchar', length: '255', isNullable: true },
          { name: 'error_code', type: 'varchar', length: '64', isNullable: true },
          { name: 'size_bytes', type: 'int', isNullable: true },
          { name: 'duration_ms', type: 'int', isNullable: true },
          { name: 'created_at', type: 'datetime', precision: 3 },
          { name: 'finished_at', type: 'datetime', precision: 3, isNullable: true },
        ],
        foreignKeys: [tenantFk('sends')],
        indices: [
          new TableIndex({ name: 'uq_sends_idempotency', columnNames: ['tenant_id', 'idempotency_key'], isUnique: true }),
          new TableIndex({ name: 'ix_sends_tenant_created', columnNames: ['tenant_id', 'created_at'] }),
        ],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('sends');
    await q.dropTable('mail_settings');
    await q.dropTable('tenants');
  }
}
