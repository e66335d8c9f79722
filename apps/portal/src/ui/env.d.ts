// Vite bundles imported CSS files; the import has no value.
declare module '*.css';
