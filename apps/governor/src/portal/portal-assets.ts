import { readFile, stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import { PortalException, PortalExceptionCode } from './portal.exception';

/** Where `npm run build:portal` writes the web app: dist/portal-web, beside the compiled service in dist/apps. */
export const PORTAL_WEB_DIR = Symbol('PORTAL_WEB_DIR');
export const DEFAULT_PORTAL_WEB_DIR = resolve(__dirname, '..', '..', '..', '..', 'portal-web');

export interface PortalFile {
  body: Buffer;
  contentType: string;
  /** Vite's file names under assets/ carry a content hash, so they never change; index.html always may */
  immutable: boolean;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

/** One path segment the portal may serve: no "..", no hidden files, nothing a filesystem would read specially. */
const SAFE_SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** The built portal on disk, read from one fixed directory and nowhere else. */
@Injectable()
export class PortalAssets {
  private readonly root: string;

  constructor(@Inject(PORTAL_WEB_DIR) root: string) {
    this.root = resolve(root);
  }

  index(): Promise<PortalFile> {
    return this.file([]);
  }

  /** A file below the portal directory, by its path segments; index.html for none. */
  async file(segments: readonly string[]): Promise<PortalFile> {
    await this.assertBuilt();
    const parts = segments.length === 0 ? ['index.html'] : segments;
    const missing = () => new PortalException(PortalExceptionCode.NOT_FOUND, `the portal has no file ${JSON.stringify(segments.join('/'))}`);
    if (!parts.every((segment) => SAFE_SEGMENT.test(segment) && !segment.includes('..'))) throw missing();
    const path = join(this.root, ...parts);
    if (!path.startsWith(this.root + sep)) throw missing();
    const info = await stat(path).catch(() => undefined);
    if (!info?.isFile()) throw missing();
    return {
      body: await readFile(path),
      contentType: CONTENT_TYPES[extname(path)] ?? 'application/octet-stream',
      immutable: parts[0] === 'assets',
    };
  }

  private async assertBuilt(): Promise<void> {
    const index = await stat(join(this.root, 'index.html')).catch(() => undefined);
    if (!index?.isFile()) {
      throw new PortalException(PortalExceptionCode.NOT_BUILT, 'the portal is not built: dist/portal-web is missing; run `npm run build:portal` and reload');
    }
  }
}
