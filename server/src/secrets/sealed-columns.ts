import { EncryptionSettingsEntity, MailSettingsEntity } from '../database/entities';
import { ENCRYPTION_SECRET_FIELDS } from '../keys/encryption.service';
import { OAUTH2_CLIENT_SECRET_FIELD, OAUTH2_PRIVATE_KEY_FIELD, OAUTH2_REFRESH_TOKEN_FIELD, PASSWORD_FIELD } from '../settings/mail-settings.service';

/** A database column that holds SecretBox-sealed values, and the field name each value is bound to. */
export interface SealedColumn {
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  entity: Function;
  /** Entity property of the sealed value. */
  property: string;
  /** Entity property of the tenant id the value is bound to. */
  tenantProperty: string;
  /** The `field` passed to SecretBox.seal/open for this column. */
  field: string;
}

/**
 * Every sealed column. Key rotation (npm run secrets:rotate) re-seals exactly these, so a new sealed column must be
 * added here; a test fails while an entity has a `…Sealed` property that is not listed.
 */
export const SEALED_COLUMNS: readonly SealedColumn[] = [
  { entity: MailSettingsEntity, property: 'passwordSealed', tenantProperty: 'tenantId', field: PASSWORD_FIELD },
  { entity: MailSettingsEntity, property: 'oauth2ClientSecretSealed', tenantProperty: 'tenantId', field: OAUTH2_CLIENT_SECRET_FIELD },
  { entity: MailSettingsEntity, property: 'oauth2PrivateKeySealed', tenantProperty: 'tenantId', field: OAUTH2_PRIVATE_KEY_FIELD },
  { entity: MailSettingsEntity, property: 'oauth2RefreshTokenSealed', tenantProperty: 'tenantId', field: OAUTH2_REFRESH_TOKEN_FIELD },
  { entity: EncryptionSettingsEntity, property: 'pgpKeySealed', tenantProperty: 'tenantId', field: ENCRYPTION_SECRET_FIELDS.pgpKey },
  { entity: EncryptionSettingsEntity, property: 'pgpPassphraseSealed', tenantProperty: 'tenantId', field: ENCRYPTION_SECRET_FIELDS.pgpPassphrase },
  { entity: EncryptionSettingsEntity, property: 'smimeP12Sealed', tenantProperty: 'tenantId', field: ENCRYPTION_SECRET_FIELDS.p12 },
  { entity: EncryptionSettingsEntity, property: 'smimePasswordSealed', tenantProperty: 'tenantId', field: ENCRYPTION_SECRET_FIELDS.p12Password },
];
