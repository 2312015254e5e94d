// The main script of an executable built with a full code cache (scripts/sea.cjs, `fullCodeCache`).
// Node's own SEA code cache is made right after compiling the main script, so it holds only the
// top-level code: every function is still compiled from source the first time it runs, and for
// the plugin that was ~5–8 ms of each ADD (measured side by side). This entry compiles the
// bundle (asset `main.cjs`) with a cache made at build time with every function compiled
// (asset `main.cache`). A cache V8 does not accept (other V8 flags, e.g. from NODE_OPTIONS) is
// ignored and the bundle compiles from source as before.
'use strict';

/** The bundle as a CommonJS function; the cache belongs to exactly this text. */
function wrapBundle(source) {
  return `(function (exports, require, module, __filename, __dirname) {${source.replace(/^#!.*/, '')}\n})`;
}

if (require('node:sea').isSea()) {
  const { getAsset, getRawAsset } = require('node:sea');
  const { Script } = require('node:vm');
  const script = new Script(wrapBundle(getAsset('main.cjs', 'utf8')), {
    filename: __filename,
    cachedData: new Uint8Array(getRawAsset('main.cache')),
  });
  script.runInThisContext()(module.exports, require, module, __filename, __dirname);
} else {
  // At build time, run by scripts/sea.cjs under the executable's Node and V8 flags.
  const fs = require('node:fs');
  const v8 = require('node:v8');
  const { Script } = require('node:vm');
  module.exports = {
    wrapBundle,
    /** Writes to `cacheFile` the code cache of the bundle `bundleFile` with every function compiled. */
    makeCodeCache(bundleFile, cacheFile) {
      const source = wrapBundle(fs.readFileSync(bundleFile, 'utf8'));
      // Eager compilation for this one script only; the flag is restored before the cache is
      // made, so the cache carries the executable's own flag hash (checked by checkCodeCache).
      v8.setFlagsFromString('--no-lazy');
      let script;
      try {
        script = new Script(source);
      } finally {
        v8.setFlagsFromString('--lazy');
      }
      fs.writeFileSync(cacheFile, script.createCachedData());
    },
    /** Throws unless this V8 accepts `cacheFile` for `bundleFile` (run in a fresh process). */
    checkCodeCache(bundleFile, cacheFile) {
      const script = new Script(wrapBundle(fs.readFileSync(bundleFile, 'utf8')), { cachedData: fs.readFileSync(cacheFile) });
      if (script.cachedDataRejected !== false) throw new Error(`code cache ${cacheFile} rejected for ${bundleFile}`);
    },
  };
}
