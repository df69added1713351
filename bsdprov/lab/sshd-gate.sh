#!/bin/sh
# /usr/libexec/lab/sshd-gate on a lab host: run once per TCP connection by the host's listener
# (see boot.sh), with the connection on stdin and stdout, already confined (network namespace,
# reduced capabilities). It stands for the network between a client and a real host:
#   - lock-out: while /usr/libexec/lab/reachable fails (the management address or the default
#     route is gone), the connection is closed before the SSH banner, as when a config change
#     cuts a real host off, until the configuration is restored;
#   - /var/lab/faults/drop_after (whole seconds): the connection is cut that long after it
#     was opened.
# Otherwise it becomes sshd in inetd mode.
exec 2>>/var/log/lab-gate.log

# The check must not read from or write to the connection.
if [ -x /usr/libexec/lab/reachable ] && ! /usr/libexec/lab/reachable </dev/null >/dev/null; then
	echo "closed a connection: host unreachable (management address or default route gone)" >&2
	exit 0
fi

drop_after=
if [ -r /var/lab/faults/drop_after ]; then
	read -r drop_after </var/lab/faults/drop_after || :
fi
set -- /usr/sbin/sshd -i -f /etc/ssh/sshd_config -E /var/log/sshd.log
case $drop_after in
'' | *[!0-9]*) exec "$@" ;;
esac

# Keep the connection only in sshd: when sshd goes, the client must see the connection close.
exec 3<&0
"$@" <&3 >&3 3<&- &
sshd_pid=$!
exec 0</dev/null 1>/dev/null 3<&-
(
	/bin/busybox sleep "$drop_after"
	echo "dropped a connection after $drop_after s (/var/lab/faults/drop_after)" >&2
	# sshd's monitor passes SIGTERM on to the session process, and both close the socket.
	kill -TERM "$sshd_pid" 2>/dev/null
) &
timer=$!
wait "$sshd_pid"
kill "$timer" 2>/dev/null
exit 0
