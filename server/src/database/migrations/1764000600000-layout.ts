import { MigrationInterface, QueryRunner, Table, TableForeignKey } from 'typeorm';

const tenantKey = (table: string) =>
  new TableForeignKey({ name: `fk_${table}_tenant`, columnNames: ['tenant_id'], referencedTableName: 'tenants', referencedColumnNames: ['id'], onDelete: 'CASCADE' });

/** The site's mail layout, its recipient domain rules, and the sender overrides of spaces. */
export class Layout1764000600000 implements MigrationInterface {
  name = 'Layout1764000600000';

  async up(q: QueryRunner): Promise<void> {
    // MySQL's text holds 64 kB: a 200 kB logo in base64 and 20 000 characters of CSS need mediumtext. SQLite's text has no limit.
    const large = q.connection.driver.options.type === 'mysql' ? 'mediumtext' : 'text';
    await q.createTable(
      new Table({
        name: 'mail_layouts',
        columns: [
          { name: 'tenant_id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'header_text', type: 'varchar', length: '255' },
          { name: 'logo_content_type', type: 'varchar', length: '16', isNullable: true },
          { name: 'logo_base64', type: large, isNullable: true },
          { name: 'footer_template', type: 'text' },
          { name: 'custom_css', type: large },
          { name: 'include_page_link', type: 'boolean' },
          { name: 'allow_space_overrides', type: 'boolean' },
          { name: 'updated_at', type: 'datetime', precision: 3 },
        ],
        foreignKeys: [tenantKey('mail_layouts')],
      }),
    );
    await q.createTable(
      new Table({
        name: 'recipient_policies',
        columns: [
          { name: 'tenant_id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'allowed_domains', type: 'text' },
          { name: 'blocked_domains', type: 'text' },
          { name: 'updated_at', type: 'datetime', precision: 3 },
        ],
        foreignKeys: [tenantKey('recipient_policies')],
      }),
    );
    await q.createTable(
      new Table({
        name: 'space_mail_settings',
        columns: [
          { name: 'tenant_id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'space_key', type: 'varchar', length: '255', isPrimary: true },
          { name: 'sender_name', type: 'varchar', length: '255', isNullable: true },
          { name: 'reply_to', type: 'varchar', length: '320', isNullable: true },
          { name: 'subject_prefix', type: 'varchar', length: '255', isNullable: true },
          { name: 'updated_at', type: 'datetime', precision: 3 },
        ],
        foreignKeys: [tenantKey('space_mail_settings')],
      }),
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropTable('space_mail_settings');
    await q.dropTable('recipient_policies');
    await q.dropTable('mail_layouts');
  }
}
