#!/bin/bash
# Creates the unprivileged user the rootless integration tests run as, with
# subordinate uid/gid ranges for newuidmap/newgidmap.  Idempotent; root only.
# Prints the user name.
set -eu

user=${SKIFF_TEST_USER:-skiff-test}
count=65536

if [ "$(id -u)" -ne 0 ]; then
    echo "setup-user.sh: must run as root (it creates the user $user)" >&2
    exit 1
fi

# Concurrent test files may call this at the same time: serialize.
exec 9>>/run/skiff-test-setup.lock
flock 9

if ! getent passwd "$user" >/dev/null; then
    useradd -m -s /bin/bash -c "skiff integration tests" "$user"
fi

# add_range FILE: give $user a range in FILE unless it has one; the range
# starts at or above 200000, past the end of every range already there.
add_range() {
    local file=$1 start
    touch "$file"
    if grep -q "^$user:[0-9]\+:[0-9]\+$" "$file"; then
        return 0
    fi
    start=$(awk -F: -v min=200000 '
        NF == 3 && $2 ~ /^[0-9]+$/ && $3 ~ /^[0-9]+$/ {
            end = $2 + $3; if (end > min) min = end
        }
        END { print min }' "$file")
    # Round up to a multiple of the range size, as useradd does.
    start=$(( (start + count - 1) / count * count ))
    echo "$user:$start:$count" >>"$file"
}
add_range /etc/subuid
add_range /etc/subgid

echo "$user"
