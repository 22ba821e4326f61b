/**
 * Test helper: the relative links of a markdown file and whether each one lands. A link lands when its
 * file (or folder) exists and, for a `#anchor` into a markdown file, that file has a heading whose
 * GitHub anchor is that name. Fenced code blocks and inline code are not markdown, so headings and
 * links inside them do not count (a `# comment` in a shell block is not a heading).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

/** One relative link: its target as written and the line it is on (1-based). */
export interface MarkdownLink {
  readonly target: string;
  readonly line: number;
}

/** The lines of `markdown` outside fenced code blocks, with their 1-based numbers. */
function proseLines(markdown: string): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  let fence: string | undefined;
  markdown.split('\n').forEach((text, i) => {
    const opener = /^\s{0,3}(`{3,}|~{3,})/.exec(text)?.[1];
    if (fence === undefined && opener !== undefined) fence = opener[0].repeat(opener.length);
    else if (fence !== undefined && text.trim().startsWith(fence)) fence = undefined;
    else if (fence === undefined) out.push({ text, line: i + 1 });
  });
  return out;
}

/**
 * The anchor GitHub gives a heading (github-slugger's rules): inline markup dropped, lower case,
 * every character that is not a letter, digit, `_`, `-` or space removed, spaces turned into `-`.
 */
export function githubSlug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // [text](url) reads as text
    .replace(/[`*]/g, '');
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}_\- ]/gu, '')
    .replace(/ /g, '-');
}

/** Every anchor the headings of `markdown` define; a repeated heading gets `-1`, `-2`, ... as on GitHub. */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const { text } of proseLines(markdown)) {
    const heading = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(text)?.[1];
    if (heading === undefined) continue;
    const slug = githubSlug(heading);
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

/** The links of `markdown` that stay inside the repository (no scheme, not `mailto:`), images included. */
export function relativeLinks(markdown: string): MarkdownLink[] {
  const links: MarkdownLink[] = [];
  for (const { text, line } of proseLines(markdown)) {
    const prose = text.replace(/`[^`]*`/g, 'code');
    for (const m of prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      const target = m[1];
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
      links.push({ target, line });
    }
  }
  return links;
}

/** What is wrong with each relative link of `file` (absolute path), named `file:line: target: reason`. */
export function brokenLinks(file: string, root: string): string[] {
  const markdown = readFileSync(file, 'utf8');
  const problems: string[] = [];
  for (const { target, line } of relativeLinks(markdown)) {
    const hash = target.indexOf('#');
    const path = decodeURIComponent(hash === -1 ? target : target.slice(0, hash));
    const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
    const where = `${relative(root, file)}:${line}: ${target}`;
    const linked = path === '' ? file : join(dirname(file), path);
    if (!existsSync(linked)) {
      problems.push(`${where}: no such file`);
      continue;
    }
    if (anchor === undefined) continue;
    if (statSync(linked).isDirectory() || !linked.endsWith('.md')) {
      problems.push(`${where}: an anchor into something that is not a markdown file`);
      continue;
    }
    const text = linked === file ? markdown : readFileSync(linked, 'utf8');
    if (!headingAnchors(text).has(anchor)) problems.push(`${where}: no heading #${anchor} in ${relative(root, linked)}`);
  }
  return problems;
}
