import { MigrationInterface, QueryRunner, Table, TableColumn, TableForeignKey } from 'typeorm';

/** Global and per-space send permissions, and the audit retention per tenant. */
export class Permissions1764000100000 implements MigrationInterface {
  name = 'Permissions1764000100000';

  async up(q: QueryRunner): Promise<void> {
    await q.createTable(
      new Table({
        name: 'global_permissions',
        columns: [
          { name: 'tenant_id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'enabled', type: 'boolean' },
          { name: 'allowed_groups', type: 'text' },
          { name: 'enforce_in_all_spaces', type: 'boolean' },
          { name: 'updated_at', type: 'datetime', precision: 3 },
        ],
        foreignKeys: [new TableForeignKey({ name: 'fk_global_permissions_tenant', columnNames: ['tenant_id'], referencedTableName: 'tenants', referencedColumnNames: ['id'], onDelete: 'CASCADE' })],
      }),
    );
    await q.createTable(
      new Table({
        name: 'space_permissions',
        columns: [
          { name: 'tenant_id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'space_key', type: 'varchar', length: '255', isPrimary: true },
          { name: 'enabled', type: 'boolean' },
          { name: 'allowed_groups', type: 'text' },
          { name: 'updated_at', type: 'datetime', precision: 3 },
        ],
        foreignKeys: [new TableForeignKey({ name: 'fk_space_permissions_tenant', columnNames: ['tenant_id'], referencedTableName: 'tenants', referencedColumnNames: ['id'], onDelete: 'CASCADE' })],
      }),
    );
    await q.addColumn('tenants', new TableColumn({ name: 'audit_retention_days', type: 'int', isNullable: true }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('tenants', 'audit_retention_days');
    await q.dropTable('space_permissions');
    await q.dropTable('global_permissions');
  }
}
