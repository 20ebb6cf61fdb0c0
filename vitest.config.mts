import { resolve } from 'node:path';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

const alias = {
  '@mailpage/contract': resolve(import.meta.dirname, 'libs/contract/src/index.ts'),
  '@mailpage/mail': resolve(import.meta.dirname, 'libs/mail/src/index.ts'),
};

// SWC rather than esbuild: Nest's dependency injection needs decorator metadata, which esbuild does not emit.
const plugins = [swc.vite({ module: { type: 'es6' }, jsc: { target: 'es2022', parser: { syntax: 'typescript', decorators: true }, transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false } } })];

export default defineConfig({
  plugins,
  resolve: { alias },
  test: {
    projects: [
      {
        plugins,
        resolve: { alias },
        test: { name: 'unit', include: ['libs/**/*.spec.ts', 'server/**/*.spec.ts'], exclude: ['**/*.db.spec.ts'], environment: 'node' },
      },
      {
        plugins,
        resolve: { alias },
        test: { name: 'service', include: ['server/**/*.db.spec.ts'], environment: 'node', testTimeout: 30_000, hookTimeout: 60_000, fileParallelism: false },
      },
      {
        plugins,
        resolve: { alias },
        test: { name: 'e2e', include: ['test/**/*.e2e.spec.ts'], environment: 'node', testTimeout: 60_000, hookTimeout: 120_000, fileParallelism: false },
      },
    ],
  },
});
