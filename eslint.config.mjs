import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'var/**', 'test-output/**', 'native/**', 'apps/portal/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
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
