// Every relative link in the README, the docs and the benchmark notes lands: the file it names exists and
// its #anchor is a heading of that file (GitHub's anchors). A moved section or a renamed heading breaks
// a link somewhere; this names it. The checker is first shown to catch broken links on a scratch doc.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ROOT } from './helpers/built.js';
import { brokenLinks, githubSlug, headingAnchors, relativeLinks } from './helpers/markdown-links.js';

/** The markdown a reader follows links through: the README, docs/, and the benchmark notes. */
function documentationFiles(): string[] {
  const docs = readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => join(ROOT, 'docs', f));
  return [join(ROOT, 'README.md'), ...docs, join(ROOT, 'bench/README.md'), join(ROOT, 'bench/results/HISTORY.md')];
}

t.test('GitHub anchors: lower case, punctuation dropped, spaces to dashes, repeats numbered', async (t) => {
  t.equal(githubSlug('Redis: standalone, Sentinel or Cluster'), 'redis-standalone-sentinel-or-cluster');
  t.equal(githubSlug('How it updates: `GET /admin/events`'), 'how-it-updates-get-adminevents');
  t.equal(githubSlug('Headers, paths and methods at the edge'), 'headers-paths-and-methods-at-the-edge');
  t.equal(githubSlug('The arithmetic: 50 gateways, 200 endpoints'), 'the-arithmetic-50-gateways-200-endpoints');
  t.same([...headingAnchors('# A\n## Tests\n```sh\n# not a heading\n```\n## Tests\n')], ['a', 'tests', 'tests-1']);
});

t.test('links in code are not links; links to the web are not checked', async (t) => {
  const md = 'See [a](a.md#x) and `[b](b.md)` and [web](https://example.com/).\n```\n[c](c.md)\n```\n![img](i.png)\n';
  t.same(
    relativeLinks(md).map((l) => l.target),
    ['a.md#x', 'i.png'],
  );
});

t.test('the checker catches a missing file, a missing anchor and an anchor into its own file', async (t) => {
  const dir = t.testdir({});
  mkdirSync(join(dir, 'docs'));
  writeFileSync(join(dir, 'docs', 'other.md'), '# Other\n\n## Real heading\n');
  const doc = join(dir, 'docs', 'doc.md');
  writeFileSync(
    doc,
    [
      '# Doc',
      '## Here',
      '[ok](other.md#real-heading) [ok too](#here) [folder](../docs) [broken file](gone.md)',
      '[broken anchor](other.md#no-such-heading) [broken local](#nowhere) [old README](../README.md#here)',
    ].join('\n'),
  );
  const problems = brokenLinks(doc, dir);
  t.equal(problems.length, 4, problems.join('\n'));
  t.match(problems[0], /docs\/doc\.md:3: gone\.md: no such file/);
  t.match(problems[1], /other\.md#no-such-heading: no heading #no-such-heading in docs\/other\.md/);
  t.match(problems[2], /#nowhere: no heading #nowhere in docs\/doc\.md/);
  t.match(problems[3], /\.\.\/README\.md#here: no such file/);
});

t.test('every relative link in README.md, docs/*.md and bench/ notes lands', async (t) => {
  const files = documentationFiles();
  t.ok(files.length >= 15, 'the README, the docs and the bench notes are read');
  let links = 0;
  for (const file of files) {
    links += relativeLinks(readFileSync(file, 'utf8')).length;
    t.same(brokenLinks(file, ROOT), [], `links in ${file.slice(ROOT.length)}`);
  }
  t.ok(links > 100, `the files have links to check (${links})`);
});

t.test('every doc under docs/ is linked from the README', async (t) => {
  const readmeTargets = new Set(relativeLinks(readFileSync(join(ROOT, 'README.md'), 'utf8')).map((l) => l.target.split('#')[0]));
  for (const f of readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md'))) t.ok(readmeTargets.has(`docs/${f}`), `README.md links docs/${f}`);
});
