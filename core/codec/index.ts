export * from './encryption-codec';
export * from './keyring';
