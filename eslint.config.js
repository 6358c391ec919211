// Lint with type information (typescript-eslint's strict, type-checked rules); formatting is prettier's.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'bench/results/', 'recordings/'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', '*.mjs', 'gateway/src/media/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // Numbers in template strings are deliberate throughout (log lines, reports).
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // `void promise` marks a deliberate fire-and-forget (errors handled inside).
      '@typescript-eslint/no-confusing-void-expression': [
        'error',
        { ignoreArrowShorthand: true, ignoreVoidOperator: true, ignoreVoidReturningFunctions: true },
      ],
      // With noUncheckedIndexedAccess every typed-array read is `number | undefined`; the hot loops
      // index within bounds they have just checked, and `x[i]!` says so without a branch per sample.
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  // One concept per file: a service file that outgrows this is doing two jobs.
  { files: ['gateway/src/**/*.ts'], rules: { 'max-lines': ['error', { max: 300, skipBlankLines: false, skipComments: false }] } },
  { files: ['**/*.js', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
);
