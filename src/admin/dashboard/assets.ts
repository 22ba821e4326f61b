/**
 * The dashboard's files by path, with the headers each is served with. The page's policy allows only
 * same-origin script, styles and connections (no inline code, nothing from elsewhere); SVG in the page is
 * markup, not style, so the chart needs no exception.
 */
import { PAGE_HTML } from './page-html.js';
import { PAGE_SCRIPT } from './page-script.js';
import { PAGE_CSS } from './page-styles.js';

export interface DashboardAsset {
  readonly body: string;
  readonly type: string;
  readonly headers: Readonly<Record<string, string>>;
}

const PAGE_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const page: DashboardAsset = { body: PAGE_HTML, type: 'text/html; charset=utf-8', headers: { 'content-security-policy': PAGE_POLICY } };

export const DASHBOARD_ASSETS: ReadonlyMap<string, DashboardAsset> = new Map([
  ['/', page],
  ['/admin/dashboard', page],
  ['/admin/dashboard.js', { body: PAGE_SCRIPT, type: 'text/javascript; charset=utf-8', headers: {} }],
  ['/admin/dashboard.css', { body: PAGE_CSS, type: 'text/css; charset=utf-8', headers: {} }],
]);
