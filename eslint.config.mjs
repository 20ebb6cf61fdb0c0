// @ts-check
import angular from 'angular-eslint';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'client/dist/**', 'client/.angular/**', 'client/out-tsc/**', 'test-output/**', 'coverage/**', 'data/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': ['error', { allow: ['warn', 'error'] }],
    },
  },
  {
    // libs/ is pure TypeScript shared by the server and the client: no framework, no ORM.
    files: ['libs/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['typeorm', 'typeorm/*'], message: 'libs/ must not import TypeORM: keep database code in server/.' },
            { group: ['@nestjs/*'], message: 'libs/ must not import NestJS: keep framework code in server/.' },
            { group: ['@angular/*'], message: 'libs/ must not import Angular: keep UI code in client/.' },
          ],
        },
      ],
    },
  },
  {
    files: ['scripts/**/*.mjs', 'bench/**/*.{mjs,cjs,js}', 'test/**/*.ts', '**/*.spec.ts'],
    rules: { 'no-console': 'off' },
  },
  {
    // The benchmark preloads a CommonJS hook into the server process.
    files: ['bench/**/*.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The Angular app: angular-eslint's recommended rules, and its template rules (accessibility included) for the
    // inline templates.
    files: ['client/src/**/*.ts'],
    extends: [...angular.configs.tsRecommended],
    processor: angular.processInlineTemplates,
    rules: {
      // Elements (mp-tabs), and attributes on the element they render into (div[mpSaveActions]).
      '@angular-eslint/component-selector': [
        'error',
        [
          { type: 'element', prefix: 'mp', style: 'kebab-case' },
          { type: 'attribute', prefix: 'mp', style: 'camelCase' },
        ],
      ],
      '@angular-eslint/directive-selector': ['error', { type: 'attribute', prefix: 'mp', style: 'camelCase' }],
    },
  },
  {
    files: ['client/src/**/*.html'],
    extends: [...angular.configs.templateRecommended, ...angular.configs.templateAccessibility],
  },
);
