#!/bin/sh
# Checks that every test docs/conformance.md names exists: each
# `tests/FILE` (or `BRANCH:tests/FILE`, read from git) is followed by the
# "descriptions" or `test_functions` of its checks, each of which must
# occur in FILE.  Prints what is missing; exits 1 if anything is.
# usage: tests/conformance-refs.sh [SRCDIR]
cd "${1:-$(dirname "$0")/..}" || exit 2
python3 - docs/conformance.md <<'PY'
import re, subprocess, sys
text = open(sys.argv[1]).read()
missing = checked = 0
for line in text.splitlines():
    if not line.startswith('|'):
        continue
    current = None
    for m in re.finditer(r'`((?:[a-z]+:)?tests/[^`]+)`|"([^"]+)"|`(test_[a-z0-9_]+)`', line):
        if m.group(1):
            current = m.group(1)
            continue
        if current is None:
            continue
        needle = m.group(2) or m.group(3)
        checked += 1
        try:
            if ':' in current:
                body = subprocess.run(['git', 'show', current], check=True,
                                      capture_output=True, text=True).stdout
            else:
                body = open(current).read()
        except (OSError, subprocess.CalledProcessError):
            print("missing file: %s" % current)
            missing += 1
            continue
        if needle not in body:
            print("%s: not found: %s" % (current, needle))
            missing += 1
print("%d references checked, %d missing" % (checked, missing))
sys.exit(1 if missing else 0)
PY
