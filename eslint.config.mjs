import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'var/**', 'test-output/**', 'native/**', 'apps/portal/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        // Each file is checked with the tsconfig.json nearest to it: the root one for apps/, libs/ and test/,
        // apps/portal's for the browser code. The Vite config is in no project, so it gets a default one.
        projectService: { allowDefaultProject: ['apps/portal/vite.config.mts'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['**/*.ts'],
    rules: {
      // node:test's describe/it/before/after return promises that the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            {
              from: 'package',
              name: ['describe', 'it', 'test', 'before', 'after', 'beforeEach', 'afterEach', 'suite'],
              package: 'node:test',
            },
          ],
        },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // No consistent-type-imports: with emitDecoratorMetadata, a constructor parameter's class must stay a
      // value import or Nest's dependency injection loses its type.
      'no-control-regex': 'off',
    },
  },
  {
    // The govctl launcher is plain CommonJS run by node before anything is compiled.
    files: ['bin/**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', __dirname: 'readonly', process: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Controllers translate HTTP; the database and the host sit behind services and libs.
    files: ['apps/**/*.controller.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['typeorm', '@nestjs/typeorm', 'koffi', 'node:fs', 'node:fs/promises', '**/libs/persistence/**', '**/libs/native/**'],
              message: 'controllers never touch TypeORM, koffi or the filesystem',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['apps/**/*.service.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['koffi', '**/libs/native/**'], message: 'services never touch koffi; ask a repository in libs/' }] },
      ],
    },
  },
);
