import { MigrationInterface, QueryRunner, Table, TableColumn, TableForeignKey } from 'typeorm';

const OAUTH2_COLUMNS = [
  new TableColumn({ name: 'oauth2_provider', type: 'varchar', length: '16', isNullable: true }),
  new TableColumn({ name: 'oauth2_credential', type: 'varchar', length: '32', isNullable: true }),
  new TableColumn({ name: 'oauth2_tenant_id', type: 'varchar', length: '253', isNullable: true }),
  new TableColumn({ name: 'oauth2_client_id', type: 'varchar', length: '320', isNullable: true }),
  new TableColumn({ name: 'oauth2_key_id', type: 'varchar', length: '128', isNullable: true }),
  new TableColumn({ name: 'oauth2_client_secret_sealed', type: 'text', isNullable: true }),
  new TableColumn({ name: 'oauth2_private_key_sealed', type: 'text', isNullable: true }),
  new TableColumn({ name: 'oauth2_refresh_token_sealed', type: 'text', isNullable: true }),
];

/** OAuth2 SMTP logins (Microsoft 365, Google) on mail_settings, and the daily counter of the provided relay. */
export class OAuth21764000400000 implements MigrationInterface {
  name = 'OAuth21764000400000';

  async up(q: QueryRunner): Promise<void> {
    // One addColumns call: SQLite rebuilds the table once for all of them.
    await q.addColumns('mail_settings', OAUTH2_COLUMNS);
    await q.createTable(
      new Table({
        name: 'provided_quota',
        columns: [
          { name: 'tenant_id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'day', type: 'varchar', length: '10', isPrimary: true },
          { name: 'recipients', type: 'int' },
        ],
        foreignKeys: [new TableForeignKey({ name: 'fk_provided_quota_tenant', columnNames: ['tenant_id'], referencedTableName: 'tenants', referencedColumnNames: ['id'], onDelete: 'CASCADE' })],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('provided_quota');
    await q.dropColumns('mail_settings', OAUTH2_COLUMNS.map((c) => c.name));
  }
}
