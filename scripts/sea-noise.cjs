// What building a single executable always prints and says nothing: postject's LIEF notes that
// Node's ELF note sections have no name in the string table (16 or more lines per executable, the
// injection works regardless) and Node's "Wrote single executable preparation blob to …".
// scripts/sea.cjs drops these lines and passes every other line on.
const KNOWN_NOISE = [
  /^warning: Can't find string offset for section name '\.note(\.\d+)?'$/,
  /^Wrote single executable preparation blob to \S+$/,
];

/** `text` without the lines that are known noise (an empty string when nothing else is left). */
function dropNoise(text) {
  const kept = String(text).split('\n').filter((line, i, all) => !(i === all.length - 1 && line === '') && !KNOWN_NOISE.some((re) => re.test(line)));
  return kept.length ? kept.join('\n') + '\n' : '';
}

module.exports = { dropNoise };
