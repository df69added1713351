# reboot-netbsd.sh: NetBSD's rc (10), the rc.d scripts that make the state the lab simulates, in
# rcorder's order: sysctl, hostname, network, dhcpcd when enabled, then local. Sourced by
# /usr/libexec/lab/reboot after lib.sh; defines lab_boot.
# shellcheck shell=sh disable=SC2154 # rc.conf(5) variables come from the sourced files
#
# Left out: every other rc.d script (no daemon state on the lab's NetBSD).

# rcvar NAME: NAME after /etc/defaults/rc.conf then /etc/rc.conf, which are sh (rc.subr).
rcvar() (
	# shellcheck source=/dev/null
	. "$LAB_ROOT/etc/defaults/rc.conf"
	# shellcheck source=/dev/null
	[ -r "$LAB_ROOT/etc/rc.conf" ] && . "$LAB_ROOT/etc/rc.conf"
	eval "printf '%s\n' \"\${$1:-}\""
)

lab_boot() {
	# rc.d/sysctl: `sysctl -f /etc/sysctl.conf`, one "name=value" per line, # comments.
	if [ -r "$LAB_ROOT/etc/sysctl.conf" ]; then
		echo "Setting sysctl variables:"
		# shellcheck disable=SC2162
		while read _sy_l; do
			_sy_l=${_sy_l%%#*}
		_sy_l=${_sy_l%"${_sy_l##*[! 	]}"} # trailing blanks, as sysctl -f drops them
			[ -n "$_sy_l" ] && sysctl -w "$_sy_l"
		done <"$LAB_ROOT/etc/sysctl.conf"
	fi
	# rc.d/hostname: rc.conf's hostname, else /etc/myname.
	_hn=$(rcvar hostname)
	[ -z "$_hn" ] && [ -f "$LAB_ROOT/etc/myname" ] && _hn=$(cat "$LAB_ROOT/etc/myname")
	if [ -n "$_hn" ]; then
		echo "Setting hostname: $_hn"
		hostname "$_hn"
	fi
	sh "$LAB_ROOT/etc/rc.d/network" start
	case $(rcvar dhcpcd) in
	[Yy][Ee][Ss] | [Tt][Rr][Uu][Ee] | [Oo][Nn] | 1)
		if [ -f "$LAB_ROOT/etc/rc.d/dhcpcd" ]; then
			sh "$LAB_ROOT/etc/rc.d/dhcpcd" start
		else
			echo "lab.reboot: dhcpcd=YES, but the lab has no /etc/rc.d/dhcpcd: not started"
		fi
		;;
	esac
	# rc.d/local sources rc.local in its own process.
	[ -f "$LAB_ROOT/etc/rc.local" ] && run_file /etc/rc.local .
	return 0
}
