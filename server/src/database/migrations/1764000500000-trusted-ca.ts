import { MigrationInterface, QueryRunner, TableColumn } from 'typeorm';

/** A CA certificate a site admin uploads for the custom mail server (`server.tlsCa`): PEM text of at most 64 kB. */
export class TrustedCa1764000500000 implements MigrationInterface {
  name = 'TrustedCa1764000500000';

  async up(q: QueryRunner): Promise<void> {
    // MySQL's text holds 65 535 bytes, one short of 64 kB of PEM; SQLite's text has no limit.
    const type = q.connection.driver.options.type === 'mysql' ? 'mediumtext' : 'text';
    await q.addColumn('mail_settings', new TableColumn({ name: 'tls_ca_pem', type, isNullable: true }));
  }

  async down(q: QueryRunner): Promise<void> {
    await q.dropColumn('mail_settings', 'tls_ca_pem');
  }
}
