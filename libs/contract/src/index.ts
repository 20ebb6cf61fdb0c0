export * from './address';
export * from './errors';
export * from './fields';
export * from './mail-settings';
export * from './send';
export * from './me';
