# reboot-freebsd.sh: FreeBSD's rc (14), the rc.d scripts that make the state the lab simulates, in
# rcorder's order: sysctl, hostname, netif, pf, routing, local, then vm-bhyve's vm. Sourced by
# /usr/libexec/lab/reboot after lib.sh; defines lab_boot.
# shellcheck shell=sh disable=SC2154 # rc.conf(5) variables come from load_rc_config
#
# Left out: every other rc.d script (no daemon state on the lab's FreeBSD).

# sysctl_file FILE: rc.d/sysctl's `sysctl -i -f FILE`: one "name=value" per line, comments
# and blank lines skipped, an unknown name ignored (-i).
sysctl_file() {
	[ -r "$LAB_ROOT$1" ] || return 0
	# shellcheck disable=SC2162
	while read _sf_l; do
		_sf_l=${_sf_l%%#*}
		_sf_l=${_sf_l%"${_sf_l##*[! 	]}"} # trailing blanks, as sysctl -f drops them
		case $_sf_l in *=*) ;; *) continue ;; esac
		sysctl "$_sf_l" >/dev/null 2>&1 || lab_err "sysctl: $_sf_l: not set"
	done <"$LAB_ROOT$1"
}

lab_boot() {
	sysctl_file /etc/sysctl.conf
	sysctl_file /etc/sysctl.conf.local
	# rc.d/hostname: rc.conf's hostname (rc.sh is the lab's rc.subr).
	(
		# shellcheck source=/dev/null
		. "$LAB_LIB/rc.sh"
		load_rc_config hostname
		if [ -n "${hostname:-}" ]; then
			echo "Setting hostname: $hostname."
			hostname "$hostname"
		else
			lab_err "/etc/rc.d/hostname: WARNING: \$hostname is not set -- see rc.conf(5)."
		fi
	)
	sh "$LAB_ROOT/etc/rc.d/netif" start
	# rc.d/pf (REQUIRE: netif, BEFORE: routing) with pf_enable on: required_modules="pf", then
	# pf_start: flush all, load pf_rules (pf_prestart refuses a missing file), enable.
	(
		# shellcheck source=/dev/null
		. "$LAB_LIB/rc.sh"
		load_rc_config pf
		checkyesno pf_enable || exit 0
		if [ ! -r "$LAB_ROOT$pf_rules" ]; then
			lab_err "/etc/rc.d/pf: WARNING: $pf_rules is not readable."
			exit 0
		fi
		echo "Enabling pf."
		kldload -n pf
		pfctl -F all >/dev/null 2>&1
		# shellcheck disable=SC2086 # pf_flags are words
		pfctl -f "$pf_rules" $pf_flags
		pfctl -s info | grep -q Enabled || pfctl -eq 2>/dev/null
	)
	sh "$LAB_ROOT/etc/rc.d/routing" start
	# rc.d/local sources rc.local in its own process.
	if [ -f "$LAB_ROOT/etc/rc.local" ]; then
		printf 'Starting local daemons:'
		run_file /etc/rc.local .
		echo '.'
	fi
	# local_startup: vm-bhyve's rc.d/vm (REQUIRE: ... LOGIN, so after rc.d/local) runs
	# `vm init` and starts vm_list when vm_enable is on.
	[ ! -f "$LAB_ROOT/usr/local/etc/rc.d/vm" ] || sh "$LAB_ROOT/usr/local/etc/rc.d/vm" start
}
