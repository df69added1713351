#!/bin/sh
# Boot one lab host. lab.up runs it as
#   unshare --mount --uts --ipc --pid --fork --kill-child -- \
#       /bin/sh boot.sh IMAGE ROOT MNT NAME PORT [INIT-ARG...]
# so it is PID 1 of the host's new namespaces while it still sees this machine's files. It
# assembles the host's root at MNT, pivots into it and ends as the host's SSH listener:
#   - IMAGE (its OS's binaries and fakes, shared by every host of that OS) read-only, with
#     the host's own writable directories from ROOT (etc, var, ...) over it;
#   - its own /proc (PID namespace), a small /dev, and an empty network namespace (loopback
#     only) for everything a client starts, so a lab host sends no packet to any network;
#   - pivot_root, then the old root is detached: nothing of this machine stays reachable;
#   - on first boot, the fakes' init-state.sh INIT-ARG... creates the simulated network;
#   - busybox nc accepts on 127.0.0.1:PORT and runs, for each connection, sshd-gate inside
#     the network namespace and with the capabilities below only.
set -eu

image=$1
root=$2
mnt=$3
name=$4
port=$5
shift 5

# The image's busybox: this machine needs nothing but util-linux's unshare and a sh.
bb=$image/bin/busybox
netns=/usr/libexec/lab/netns
empty=/usr/libexec/lab/empty
setpriv=/usr/libexec/lab/setpriv
# What root keeps on a lab host: enough to own files and for sshd's privilege separation
# (setuid, setgid, sys_chroot) and its login records (audit_write: Debian's sshd ends a
# terminal session it cannot audit); not enough to mount, configure a real network, set the
# clock, load modules or leave the namespaces.
caps=-all,+chown,+dac_override,+dac_read_search,+fowner,+fsetid,+kill,+setgid,+setuid
caps=$caps,+sys_chroot,+net_bind_service,+audit_write

bind() { # bind SOURCE TARGET [ro]
	"$bb" mount -o bind "$1" "$2"
	if [ "${3-}" = ro ]; then "$bb" mount -o remount,bind,ro "$2"; fi
}

"$bb" mount --make-rprivate /
# A /proc of this PID namespace: unshare --net=FILE below finds itself through it.
"$bb" mount -t proc -o nosuid,nodev,noexec proc /proc

bind "$image" "$mnt"
# The host's own directories: each one of ROOT (but usr) and of ROOT/usr.
for dir in "$root"/* "$root"/usr/*; do
	rel=${dir#"$root"/}
	if [ -d "$dir" ] && [ "$rel" != usr ]; then bind "$dir" "$mnt/$rel"; fi
done

"$bb" mount -t proc -o nosuid,nodev,noexec proc "$mnt/proc"
for entry in sys sysrq-trigger irq bus fs; do # read-only, as container runtimes do
	if [ -e "$mnt/proc/$entry" ]; then bind "$mnt/proc/$entry" "$mnt/proc/$entry" ro; fi
done

"$bb" mount -t tmpfs -o nosuid,noexec,mode=755,size=64k lab-dev "$mnt/dev"
for dev in null zero full random urandom tty; do
	: >"$mnt/dev/$dev"
	bind "/dev/$dev" "$mnt/dev/$dev"
done
"$bb" mkdir "$mnt/dev/pts"
"$bb" mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$mnt/dev/pts"
"$bb" ln -s pts/ptmx "$mnt/dev/ptmx"
"$bb" ln -s /proc/self/fd "$mnt/dev/fd"
"$bb" ln -s /proc/self/fd/0 "$mnt/dev/stdin"
"$bb" ln -s /proc/self/fd/1 "$mnt/dev/stdout"
"$bb" ln -s /proc/self/fd/2 "$mnt/dev/stderr"

# The listener below keeps every capability; a preload list or loader cache written from
# inside the host must not reach it.
for file in ld.so.preload ld.so.cache; do
	: >>"$mnt/etc/$file"
	bind "$mnt$empty" "$mnt/etc/$file" ro
done

"$bb" hostname "$name"
"$bb" unshare --net="$mnt$netns" "$bb" ip link set lo up
# Only the image's own mount turns read-only: the directories bound over it stay writable.
"$bb" mount -o remount,bind,ro "$mnt"

cd "$mnt"
"$bb" pivot_root . .oldroot
cd /
/bin/busybox umount -l /.oldroot

# From here on only the host's files exist.
if [ "$#" -gt 0 ] && [ ! -e /run/lab/initialized ] && [ -f /usr/libexec/lab/init-state.sh ]; then
	/bin/busybox nsenter --net="$netns" "$setpriv" --bounding-set "$caps" \
		-- /bin/sh /usr/libexec/lab/init-state.sh "$@"
	: >/run/lab/initialized
fi

# Sixteen -l: -ll is "keep listening", and the count is also the listen backlog.
exec /bin/busybox nc -llllllllllllllll -p "$port" 127.0.0.1 \
	-e /bin/busybox nsenter --net="$netns" "$setpriv" --bounding-set "$caps" \
	-- /bin/busybox sh /usr/libexec/lab/sshd-gate
