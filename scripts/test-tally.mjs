// A node:test reporter for scripts/run-tests.mjs: one JSON line per finished test or suite
// (file, name, passed or failed, skip and todo reasons), so the runner can count what was skipped.
// node's own summary does not count a skipped suite (describe) at all.
export default async function* tally(source) {
  for await (const ev of source) {
    if (ev.type !== 'test:pass' && ev.type !== 'test:fail') continue;
    const d = ev.data;
    yield JSON.stringify({
      file: d.file ?? '',
      name: d.name,
      suite: d.details?.type === 'suite',
      failed: ev.type === 'test:fail',
      skip: d.skip ?? false,
      todo: d.todo ?? false,
    }) + '\n';
  }
}
