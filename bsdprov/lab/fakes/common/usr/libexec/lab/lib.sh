# lib.sh: shared library of the lab's fake BSD tools. Sourced by every fake, never run.
# shellcheck shell=sh disable=SC2016 # awk programs are single-quoted on purpose
#
# LAB_ROOT
#   The simulated host's root directory. Empty or unset inside a lab host (a chroot), where every
#   path is what it says. Tests set it to a temporary directory holding common/ + <os>/. Every
#   absolute path a fake touches is looked up under it: its state, the config files, and host
#   paths taken from arguments or config files (`pfctl -f /etc/pf.conf`, vm.conf disks, pf.conf
#   `load anchor … from`). Commands the fakes evaluate from config (`!` lines of hostname.if and
#   ifconfig.if, netstart.local) get their absolute words rewritten the same way, so a test
#   never reaches the real /sbin. Messages always show the host path.
#
# Host files written by the lab machinery (or init-state.sh)
#   /var/lab/os        openbsd | freebsd | netbsd
#   /var/lab/release   7.6 | 14.1-RELEASE | 10.0 ...
#   /var/lab/hostname  the node name (uname -n, hostname, kern.hostname)
#   /var/lab/mgmt      "IF ADDR" lines: the management addresses /usr/libexec/lab/reachable checks
#   /var/lab/machine   optional, default amd64
#
# State: /var/lab/state/ (plain text, one record per line, safe to cat)
#   if/NAME        one file per interface, "key value" lines:
#                    index N | type ether|loop|bridge|vlan|vether|tap|gif|... | up 0|1 |
#                    lladdr MAC | mtu N | descr TEXT | inet ADDR PLEN [DEST] |
#                    inet6 ADDR PLEN [DEST] | member IF (bridge, newest last) | vnetid N |
#                    parent IF | tunnel SRC DST | group NAME | autoconf inet|inet6
#   routes         static routes, "FAM DEST PLEN GATEWAY FLAGS IFACE IFA PRIO"
#                  (FAM inet|inet6, DEST the network, GATEWAY an address or link#INDEX, IFA
#                  the local address the route hangs on: deleting that address deletes the
#                  route, as the kernel does). Connected, local and broadcast routes are not
#                  stored: they are derived from the interfaces (lab_rt_table).
#   next-index     the next interface index
#   sysctl         "name=value" lines
#   openbsd:  pf/enabled (0|1), pf/main (loaded main ruleset, normalised rules),
#             pf/anchors/PATH/_rules (one dir per anchor), rc/NAME (exists while the daemon runs),
#             vm/ (vmd's switches and VMs, see openbsd/usr/libexec/lab/vm.sh)
#
# Call log: /var/log/lab-calls.log gets one line per call of a faked tool, before it acts: the
#   tool's host path then its arguments, each quoted for a POSIX shell (Python: shlex.split).
#   A newline inside an argument is written as the two characters \n.
#
# Fault switches (files a test creates on the host; CMD is the tool's base name, e.g. route,
#   pfctl, netstart, network for /etc/rc.d/network, vmd):
#   /var/lab/faults/hang/CMD   the call sleeps first; the file may hold the seconds (default
#                              86400), after which the call proceeds
#   /var/lab/faults/fail/CMD   the call prints the file's text (or "CMD: injected failure") on
#                              stderr and exits 1. rcctl start|restart X also fails for fail/X.
#   /var/lab/faults/fail-once/CMD  as fail/CMD, for the next call only (the switch is removed):
#                              a deploy's activation fails, its rollback's re-activation works
#   hang/CMD and fail-once/CMD stand for a run's command failing: they act only while a
#   bsdprov run holds its lock (/var/db/bsdprov/lock/run), so the read-only probe before the
#   run (which reads ifconfig and route for drift) neither hangs on them nor uses them up. A
#   call that hangs first creates hang/CMD.reached.
#
# Portability: POSIX sh run by dash, busybox ash and mksh (OpenBSD's ksh family); awk, sed and
# grep features are those busybox has. No `local`: each function's variables carry its own
# prefix (`_aw_` in lab_awk, `_ed_` in lab_edit...), so nested calls never clobber each other.
# State edits take no lock: two calls racing on one host may lose an edit.

LAB_ROOT=${LAB_ROOT:-}
LAB=$LAB_ROOT/var/lab
LAB_STATE=$LAB/state
LAB_LIB=$LAB_ROOT/usr/libexec/lab
LAB_LOG=$LAB_ROOT/var/log/lab-calls.log
LAB_OS=
IFS= read -r LAB_OS 2>/dev/null <"$LAB/os" || :
LAB_AWKLIB=$(cat "$LAB_LIB/lib.awk")
LAB_CMD=${0##*/}
LAB_NL='
'
# Nested calls must reach the fakes, never the machine's own tools of the same name.
case :$PATH: in
*":$LAB_ROOT/sbin:$LAB_ROOT/bin:"*) ;;
*) PATH=$LAB_ROOT/sbin:$LAB_ROOT/bin:$LAB_ROOT/usr/sbin:$LAB_ROOT/usr/bin:$PATH ;;
esac
export LAB_ROOT PATH

# lab_begin PATH ARGS...: log the call (each word quoted for sh, one line), then apply the fault
# switches of PATH's base name.
lab_begin() {
	LAB_CMD=${1##*/}
	[ -d "$LAB_STATE/if" ] || mkdir -p "$LAB_STATE/if"
	[ -f "$LAB_STATE/routes" ] || : >"$LAB_STATE/routes"
	_bg_line=''
	for _bg_a; do
		case $_bg_a in
		'') _bg_a="''" ;;
		*[!A-Za-z0-9_@%+=:,./-]*)
			_bg_q=$_bg_a _bg_a=''
			while :; do
				case $_bg_q in
				*\'*) _bg_a="$_bg_a${_bg_q%%\'*}'\\''" _bg_q=${_bg_q#*\'} ;;
				*) break ;;
				esac
			done
			_bg_a="'$_bg_a$_bg_q'"
			case $_bg_a in
			*"$LAB_NL"*) _bg_a=$(printf '%s' "$_bg_a" | awk 'NR > 1 { printf "\\n" } { printf "%s", $0 }') ;;
			esac
			;;
		esac
		_bg_line="$_bg_line${_bg_line:+ }$_bg_a"
	done
	printf '%s\n' "$_bg_line" 2>/dev/null >>"$LAB_LOG" || :
	lab_faults "$LAB_CMD"
}

# lab_faults NAME: hang and/or fail as the switches for NAME say.
lab_faults() {
	_ft_run=
	[ -f "${LAB_ROOT:-}/var/db/bsdprov/lock/run" ] && _ft_run=1
	if [ -n "$_ft_run" ] && [ -f "$LAB/faults/hang/$1" ]; then
		_ft_s=$(cat "$LAB/faults/hang/$1")
		# Says a run's call reached the switch (a test waits for it, then removes the switch).
		: >"$LAB/faults/hang/$1.reached" 2>/dev/null || :
		case $_ft_s in '' | *[!0-9]*) _ft_s=86400 ;; esac
		sleep "$_ft_s"
	fi
	if [ -f "$LAB/faults/fail/$1" ]; then
		_ft_m=$(cat "$LAB/faults/fail/$1")
		printf '%s\n' "${_ft_m:-$1: injected failure}" >&2
		exit 1
	fi
	if [ -n "$_ft_run" ] && [ -f "$LAB/faults/fail-once/$1" ]; then
		_ft_m=$(cat "$LAB/faults/fail-once/$1")
		rm -f "$LAB/faults/fail-once/$1"
		printf '%s\n' "${_ft_m:-$1: injected failure}" >&2
		exit 1
	fi
}

lab_err() { printf '%s\n' "$*" >&2; }
lab_die() { lab_err "$@"; exit 1; }

# lab_path HOSTPATH: where a host path lives for the fakes (relative paths stay relative).
lab_path() {
	case $1 in
	/*) printf '%s\n' "$LAB_ROOT$1" ;;
	*) printf '%s\n' "$1" ;;
	esac
}

# lab_fixpaths TEXT: TEXT with every word that starts with / moved under LAB_ROOT.
lab_fixpaths() {
	if [ -z "$LAB_ROOT" ]; then
		printf '%s\n' "$1"
	else
		printf '%s\n' "$1" | sed -e "s#^/#$LAB_ROOT/#" -e "s#\\([[:space:];&|(\"'=]\\)/#\\1$LAB_ROOT/#g"
	fi
}

# lab_awk [-v NAME=VALUE]... PROGRAM [FILE]...: awk with lib.awk and `os` set.
lab_awk() {
	_aw_n=$# _aw_seen=''
	while [ "$_aw_n" -gt 0 ]; do
		_aw_a=$1
		shift
		_aw_n=$((_aw_n - 1))
		case $_aw_seen$_aw_a in
		-v)
			set -- "$@" -v "$1"
			shift
			_aw_n=$((_aw_n - 1))
			;;
		*)
			[ -z "$_aw_seen" ] && _aw_a="$LAB_AWKLIB$LAB_NL$_aw_a"
			_aw_seen=1
			set -- "$@" "$_aw_a"
			;;
		esac
	done
	awk -v os="$LAB_OS" "$@"
}

# lab_edit FILE PROGRAM [-v ...]: rewrite FILE through an awk program.
lab_edit() {
	_ed_f=$1 _ed_p=$2
	shift 2
	[ -f "$_ed_f" ] || : >"$_ed_f"
	lab_awk "$@" "$_ed_p" "$_ed_f" >"$_ed_f.new.$$" && mv -f "$_ed_f.new.$$" "$_ed_f"
}

# "key value" files (interfaces, VMs)
lab_kv_get() { [ -f "$1" ] && awk -v k="$2" '$1 == k { s = $0; sub(/^[^ ]*( |$)/, "", s); print s }' "$1"; }
lab_kv_set() {
	lab_edit "$1" '$1 != k { print } END { print k " " v }' -v k="$2" -v v="$3"
}
lab_kv_add() {
	lab_edit "$1" '{ print } $0 == l { seen = 1 } END { if (!seen) print l }' -v l="$2 $3"
}
# lab_kv_del FILE KEY [FIRSTWORD]: delete the KEY lines (only those whose value starts so).
lab_kv_del() {
	lab_edit "$1" '!($1 == k && (w == "" || $2 == w))' -v k="$2" -v w="${3:-}"
}

# Interfaces
lab_iff() { printf '%s/if/%s\n' "$LAB_STATE" "$1"; }
lab_if_exists() {
	case $1 in '' | */* | .*) return 1 ;; esac
	[ -f "$LAB_STATE/if/$1" ]
}
lab_if_get() { lab_kv_get "$LAB_STATE/if/$1" "$2"; }
lab_if_set() { lab_kv_set "$LAB_STATE/if/$1" "$2" "$3"; }

# lab_if_names: interface names in index order.
lab_if_names() {
	set -- "$LAB_STATE"/if/*
	[ -e "$1" ] || return 0
	awk '$1 == "index" { n = FILENAME; sub(/.*\//, "", n); print $2, n }' "$@" | sort -n | awk '{ print $2 }'
}

# lab_cloners: the interface types `ifconfig -C` lists on this OS.
lab_cloners() {
	case $LAB_OS in
	openbsd) echo "aggr bpe bridge carp egre enc eoip etherip gif gre lo mgre mpe mpip mpw nvgre pair pflog pflow pfsync ppp pppoe svlan tap tpmr trunk tun veb vether vlan vport vxlan wg" ;;
	freebsd) echo "bridge carp disc edsc enc epair gif gre lagg lo me ovpn stf tap tun vlan vxlan wg" ;;
	*) echo "agr bridge carp gif gre gretap ipsecif l2tp lagg lo npflog pair ppp pppoe sl stf tap tun vether vlan wg" ;;
	esac
}

# lab_if_cloner NAME: the cloner type of NAME (FreeBSD's em0.10 is a vlan), or fail.
lab_if_cloner() {
	case $1 in
	*.[0-9]*) [ "$LAB_OS" = freebsd ] && echo vlan && return 0 ;;
	esac
	_cl_t=${1%%[0-9]*}
	case $1 in "$_cl_t" | *[!A-Za-z0-9]*) return 1 ;; esac
	case " $(lab_cloners) " in *" $_cl_t "*) echo "$_cl_t" ;; *) return 1 ;; esac
}

# lab_if_new NAME TYPE: create an interface in its initial (down, addressless) state.
lab_if_new() {
	_nw_idx=$(cat "$LAB_STATE/next-index" 2>/dev/null) || _nw_idx=1
	echo $((_nw_idx + 1)) >"$LAB_STATE/next-index"
	_nw_mtu=1500 _nw_ll=
	case $2 in
	loop)
		case $LAB_OS in openbsd) _nw_mtu=32768 ;; freebsd) _nw_mtu=16384 ;; *) _nw_mtu=33624 ;; esac ;;
	ether) _nw_ll=$(printf '52:54:00:00:00:%02x' "$_nw_idx") ;;
	bridge) [ "$LAB_OS" = freebsd ] && _nw_ll=$(printf '58:9c:fc:10:00:%02x' "$_nw_idx") ;;
	vether | tap | vlan | epair) _nw_ll=$(printf 'fe:e1:ba:d0:00:%02x' "$_nw_idx") ;;
	gif) _nw_mtu=1280 ;;
	esac
	{
		echo "index $_nw_idx"
		echo "type $2"
		echo "up 0"
		echo "mtu $_nw_mtu"
		[ -n "$_nw_ll" ] && echo "lladdr $_nw_ll"
	} >"$LAB_STATE/if/$1"
}

# lab_if_destroy NAME: remove an interface with its routes and bridge memberships.
lab_if_destroy() {
	lab_rt_purge iface "$1"
	for _ds_f in "$LAB_STATE"/if/*; do
		[ -f "$_ds_f" ] && grep -qx "member $1" "$_ds_f" && lab_kv_del "$_ds_f" member "$1"
	done
	rm -f "$LAB_STATE/if/$1"
}

# lab_addr_del IF FAM ADDR: remove an address and the routes hanging on it.
lab_addr_del() {
	awk -v f="$2" -v a="$3" '$1 == f && $2 == a { found = 1 } END { exit !found }' "$(lab_iff "$1")" ||
		return 1
	lab_kv_del "$(lab_iff "$1")" "$2" "$3"
	lab_rt_purge ifa "$3"
}

# lab_rt_purge ifa ADDR | iface IF: delete the static routes bound to an address or interface.
lab_rt_purge() {
	lab_edit "$LAB_STATE/routes" '!((by == "ifa" && $7 == v) || (by == "iface" && $6 == v))' \
		-v by="$1" -v v="$2"
}

# lab_rt_table: every route, "FAM DEST PLEN GATEWAY FLAGS IFACE IFA PRIO": the static ones first,
# then those the kernel derives from the addresses, with this OS's gateways and flags.
lab_rt_table() {
	set -- "$LAB_STATE"/if/*
	[ -e "$1" ] || set --
	lab_awk -v rtf="$LAB_STATE/routes" '
	FILENAME == rtf { print; next }
	{ n = FILENAME; sub(/.*\//, "", n) }
	$1 == "index" { idx[n] = $2 }
	$1 == "type" { typ[n] = $2; if ($2 == "loop") lo = n }
	$1 == "lladdr" { ll[n] = $2 }
	$1 == "inet" || $1 == "inet6" { na++; af[na] = $1; ad[na] = $2; pl[na] = $3; ds[na] = $4; ai[na] = n }
	function emit(f, d, p, g, fl, i, a, pr) { print f, d, p, g, fl, i, a, pr }
	END {
		for (j = 1; j <= na; j++) {
			f = af[j]; a = ad[j]; p = pl[j]; i = ai[j]; hl = hostlen(f)
			if (typ[i] == "loop") {
				if (os == "openbsd") emit(f, a, hl, a, "UHhl", i, a, 1)
				else if (os == "freebsd") emit(f, a, hl, "link#" idx[i], "UH", i, a, 0)
				else emit(f, a, hl, i, "UHl", i, a, 0)
				continue
			}
			if (ds[j] != "") emit(f, ds[j], hl, a, "UH", i, a, 4)
			else if (p < hl) {
				net = netof(f, a, p)
				if (os == "openbsd") emit(f, net, p, a, "UCn", i, a, 4)
				else emit(f, net, p, "link#" idx[i], os == "freebsd" ? "U" : "UC", i, a, 0)
			}
			if (os == "openbsd") {
				emit(f, a, hl, ll[i] != "" ? ll[i] : "link#" idx[i], "UHLl", i, a, 1)
				if (f == "inet" && p <= 30 && ds[j] == "") emit(f, bcastof(a, p), hl, a, "UHb", i, a, 1)
			} else if (os == "freebsd") emit(f, a, hl, "link#" idx[lo], "UHS", lo, a, 0)
			else emit(f, a, hl, i, "UHl", lo, a, 0)
		}
	}' "$LAB_STATE/routes" "$@"
}

# lab_if_addrs: every configured address, "FAM ADDR PLEN IF".
lab_if_addrs() {
	set -- "$LAB_STATE"/if/*
	[ -e "$1" ] || return 0
	awk '$1 == "inet" || $1 == "inet6" { n = FILENAME; sub(/.*\//, "", n); print $1, $2, $3, n }' "$@"
}

# lab_rt_print [inet|inet6]: the routing table as `netstat -rn` (and OpenBSD `route show`)
# print it, sorted as the radix tree walks: by address, the less specific first.
lab_rt_print() {
	_pr_lomtu=$(lab_if_get lo0 mtu)
	lab_rt_table | lab_awk -v only="${1:-}" '
	only == "" || $1 == only { print ($1 == "inet" ? 4 : 6), akey($1, $2), sprintf("%03d", $3), $0 }' |
		sort | lab_awk -v lomtu="$_pr_lomtu" '
	BEGIN { print "Routing tables" }
	{
		sub(/^[^ ]* [^ ]* [^ ]* /, "")
		split($0, r, " ")
		f = r[1]; p = r[3] + 0
		if (f != last) { section(f); last = f }
		if (p == 0) d = "default"
		else if (p == hostlen(f)) d = r[2]
		else d = ((os == "freebsd" || f == "inet6") ? r[2] : v4short(r[2], p)) "/" p
		g = r[4]; fl = r[5]; i = r[6]
		mtu = (i ~ /^lo[0-9]/ && (g ~ /^lo[0-9]/ || g == "127.0.0.1" || g == "::1")) ? lomtu : "-"
		if (os == "freebsd") gsub(/[CL]/, "", fl)
		if (os == "openbsd") printf "%-" wd "s %-" wg "s %-6.6s %5d %8d %5s %s  %2d %-5.16s\n", d, g, fl, 0, 0, mtu, " ", r[8], i
		else if (os == "freebsd") printf "%-" wd "s %-" wg "s %-13s%6s\n", d, g, fl, i
		else printf "%-" wd "s %-" wg "s %-6.6s %6s %8s %6s  %s\n", d, g, fl, "-", "-", mtu, i
	}
	function section(f) {
		print ""
		print (f == "inet" ? "Internet:" : "Internet6:")
		wd = wg = 18
		if (f == "inet6") { wd = (os == "freebsd") ? 33 : 34; wg = (os == "freebsd") ? 29 : 30 }
		if (os == "openbsd") printf "%-" wd "." wd "s %-" wg "." wg "s %-6.6s %5.5s %8.8s %5.5s  %4.4s %s\n", "Destination", "Gateway", "Flags", "Refs", "Use", "Mtu", "Prio", "Iface"
		else if (os == "freebsd") printf "%-" wd "s %-" wg "s %-13s%6s %s\n", "Destination", "Gateway", "Flags", "Netif", "Expire"
		else printf "%-" wd "s %-" wg "s %-6s %6s %8s %6s %s\n", "Destination", "Gateway", "Flags", "Refs", "Use", "Mtu", "Interface"
	}'
}

# lab_default_ifaces: the interfaces holding a default route (OpenBSD puts them in "egress").
lab_default_ifaces() { awk '$3 == 0 { print $6 }' "$LAB_STATE/routes"; }

# Configuration files
lab_sysctl_set() {
	lab_edit "$LAB_STATE/sysctl" '
	BEGIN { FS = "=" } $1 == k { print k "=" v; done = 1; next } { print }
	END { if (!done) print k "=" v }' -v k="$1" -v v="$2"
}

