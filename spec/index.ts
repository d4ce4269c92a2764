export * from './v1';
export * from './v2';
export * from './load';
export * from './gate';
export * from './serving';
