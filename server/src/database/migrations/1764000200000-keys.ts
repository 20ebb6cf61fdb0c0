import { MigrationInterface, QueryRunner, Table, TableForeignKey, TableIndex } from 'typeorm';

/** Users' public keys and each site's encryption policy and signing keys (sealed). */
export class Keys1764000200000 implements MigrationInterface {
  name = 'Keys1764000200000';

  async up(q: QueryRunner): Promise<void> {
    // Key blocks and keystores can pass MySQL's 64 kB TEXT; SQLite has one TEXT type.
    const big = q.connection.driver.options.type === 'mysql' ? 'mediumtext' : 'text';
    const tenantFk = (table: string) => new TableForeignKey({ name: `fk_${table}_tenant`, columnNames: ['tenant_id'], referencedTableName: 'tenants', referencedColumnNames: ['id'], onDelete: 'CASCADE' });
    await q.createTable(
      new Table({
        name: 'public_keys',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'tenant_id', type: 'varchar', length: '64' },
          { name: 'account_id', type: 'varchar', length: '128', isNullable: true },
          { name: 'email', type: 'varchar', length: '320' },
          { name: 'kind', type: 'varchar', length: '8' },
          { name: 'fingerprint', type: 'varchar', length: '128' },
          { name: 'key_text', type: big },
          { name: 'meta', type: 'text' },
          { name: 'uploaded_at', type: 'datetime', precision: 3 },
        ],
        foreignKeys: [tenantFk('public_keys')],
        indices: [new TableIndex({ name: 'uq_public_keys_email_kind', columnNames: ['tenant_id', 'email', 'kind'], isUnique: true })],
      }),
    );
    await q.createTable(
      new Table({
        name: 'encryption_settings',
        columns: [
          { name: 'tenant_id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'policy', type: 'varchar', length: '16' },
          { name: 'preferred', type: 'varchar', length: '8' },
          { name: 'sign', type: 'boolean' },
          { name: 'protected_subject', type: 'varchar', length: '255' },
          { name: 'pgp_key_sealed', type: big, isNullable: true },
          { name: 'pgp_passphrase_sealed', type: 'text', isNullable: true },
          { name: 'pgp_meta', type: 'text', isNullable: true },
          { name: 'smime_p12_sealed', type: big, isNullable: true },
          { name: 'smime_password_sealed', type: 'text', isNullable: true },
          { name: 'smime_meta', type: 'text', isNullable: true },
          { name: 'updated_at', type: 'datetime', precision: 3 },
        ],
        foreignKeys: [tenantFk('encryption_settings')],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('encryption_settings');
    await q.dropTable('public_keys');
  }
}
