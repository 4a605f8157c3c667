#!/bin/bash
# For deploy/test-package.sh, inside fresh PID, mount, cgroup, UTS and IPC namespaces: makes ROOT the root (bound
# onto itself, pivoted into) with its own /proc, /run and /tmp, and execs systemd as its PID 1.
set -euo pipefail
root=$1
mount --make-rprivate /
mount --bind "$root" "$root"
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
mount -t tmpfs -o mode=0755 tmpfs "$root/run"
mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
cd "$root"
mkdir -p .oldroot
pivot_root . .oldroot
umount -l /.oldroot
rmdir /.oldroot
exec env -i container=energy-monitor-test /lib/systemd/systemd
