export * from './v1';
export * from './load';
export * from './gate';
