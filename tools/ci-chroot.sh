#!/usr/bin/env bash
# Runs the test suite the way CI does, on a bare Debian: a fresh `debootstrap --variant=minbase
# SUITE` chroot (bookworm: Dovecot 2.3, trixie: Dovecot 2.4), a clean clone of HEAD, CI=true and
# no stdin. Needs root and debootstrap.
#   tools/ci-chroot.sh [SUITE] [CHROOT_DIR [COMMAND]]
# SUITE is bookworm (default) or trixie. CHROOT_DIR defaults to /tmp/migrate-ci-SUITE (reused if
# it exists); COMMAND to `bash .ci/run` (e.g. `tools/demo.sh` checks the README's quick start on a
# bare machine, `tools/test.sh` the README's test command alone).
# CLONE_DIR (absolute, inside the chroot; default /work/repo) is where the clone goes: e.g.
# CLONE_DIR=/root/dovecot-migrate checks a newcomer's checkout in root's 0700 home.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
suite=bookworm
case ${1:-} in
  bookworm|trixie) suite=$1; shift ;;
esac
root=${1:-/tmp/migrate-ci-$suite}
command=${2:-bash .ci/run}
clone_dir=${CLONE_DIR:-/work/repo}
case $clone_dir in
  /?*) ;;
  *) echo "ci-chroot: CLONE_DIR must be an absolute path inside the chroot" >&2; exit 2 ;;
esac

if [ ! -x "$root/bin/bash" ]; then
  debootstrap --variant=minbase "$suite" "$root" http://deb.debian.org/debian
fi
cleanup() {
  for m in dev sys proc; do
    umount -l "$root/$m" 2>/dev/null || true
  done
  umount -l "$root" 2>/dev/null || true
}
trap cleanup EXIT
# A real machine's / is a mount point (the tests' `unshare -m --propagation private` needs one).
mount --bind "$root" "$root"
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# debootstrap leaves no /etc/hosts; every installed Debian has one (localhost must resolve).
[ -s "$root/etc/hosts" ] || printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$root/etc/hosts"

rm -rf "${root:?}$clone_dir"
mkdir -p "$(dirname "$root$clone_dir")"
git clone -q "$repo" "$root$clone_dir"
# As on CI: a copy of shared/ beside the clone.
shared_dir=$(dirname "$root$clone_dir")/shared
if [ -d "$repo/../shared" ]; then
  rm -rf "$shared_dir"
  cp -r "$repo/../shared" "$shared_dir"
fi
chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  HOME=/root CI=true MIGRATE_IN_CHROOT=1 CLONE_DIR="$clone_dir" bash -c 'cd "$CLONE_DIR" && '"$command" < /dev/null
