import { resolve } from 'node:path';
import { defineConfig } from 'vite';

// The portal is served by the governor at /portal from dist/portal-web, under a CSP without
// 'unsafe-inline' or 'unsafe-eval': every script and style is a file, and nothing is inlined as a data: URL.
const here = import.meta.dirname;

export default defineConfig({
  root: here,
  base: '/portal/',
  publicDir: resolve(here, 'public'),
  build: {
    outDir: resolve(here, '../../dist/portal-web'),
    emptyOutDir: true,
    assetsDir: 'assets',
    assetsInlineLimit: 0,
    modulePreload: false,
    sourcemap: false,
    target: 'es2022',
    reportCompressedSize: false,
  },
});
