# ifconfig-args.sh (openbsd): ifconfig(8)'s argument grammar on openbsd, sourced by the common fake.
# ifconfig_args ARGS...: lab_die with the real tool's message on what openbsd's ifconfig refuses.
# Each rule names the source function or man page it follows: sbin/ifconfig/ifconfig.c rev 1.472
# (main(), the cmds[] table, in_getaddr()).
# shellcheck shell=sh

# _ifa_arity WORD: how many arguments a cmds[] keyword takes (0, 1, 2, or o for NEXTARG0: one
# when the next word is no keyword); fails for a word that is no keyword (an address to main()).
# FreeBSD's ether, addm, deletem, -tunnel's deletetunnel, vlanif, fib, -txcsum... and NetBSD's
# vlanif, ip4csum... are not in the table, so OpenBSD reads them as addresses.
_ifa_arity() {
	case $1 in
	up | down | arp | -arp | debug | -debug | alias | -alias | delete | -nwid | -joinlist | \
		-bssid | -nwkey | wpa | -wpa | -wpakey | -chan | -vnetid | -parent | -vlan | -vlandev | \
		autoconf | -autoconf | anycast | -anycast | tentative | -tentative | eui64 | temporary | \
		-temporary | soii | -soii | monitor | -monitor | tcplro | -tcplro | -powersave | -rtlabel | \
		-rdomain | staticarp | -staticarp | mpls | -mpls | -mplslabel | pwecw | -pwecw | pwefat | \
		-pwefat | -pweneighbor | -carppeer | -syncdev | -syncif | -syncpeer | defer | -defer | \
		-tunnel | -tunneldomain | tunneldf | -tunneldf | tunnelecn | -tunnelecn | vnetflowid | \
		-vnetflowid | -pppoesvc | -pppoeac | -flowsrc | -flowdst | -inet | -inet6 | -keepalive | \
		flush | flushall | addr | -description | -descr | wol | -wol | -apn | -class | roaming | \
		-roaming | -patch | sffdump | -wgpsk | -wgdescription | -wgdescr | -wgpeerall | destroy | \
		link0 | -link0 | link1 | -link1 | link2 | -link2 | -mode)
		echo 0 ;;
	netmask | mtu | nwid | join | -join | bssid | nwkey | wpaakms | wpaciphers | wpagroupcipher | \
		wpaprotos | wpakey | broadcast | prefixlen | vnetid | parent | vlan | vlandev | group | \
		-group | trunkport | -trunkport | trunkproto | lacpmode | lacptimeout | pltime | vltime | \
		metric | priority | rtlabel | rdomain | mplslabel | advbase | advskew | carppeer | pass | \
		vhid | state | carpdev | carpnodes | balancing | syncdev | syncif | syncpeer | maxupd | \
		tunneladdr | tunneldomain | tunnelttl | txprio | rxprio | pppoedev | pppoesvc | pppoeac | \
		authproto | authname | authkey | peerproto | peername | peerkey | peerflag | -peerflag | \
		nwflag | -nwflag | flowsrc | flowdst | pflowproto | add | del | addspan | delspan | \
		discover | -discover | blocknonip | -blocknonip | learn | -learn | stp | -stp | edge | \
		-edge | autoedge | -autoedge | -protected | ptp | -ptp | autoptp | -autoptp | deladdr | \
		maxaddr | hellotime | fwddelay | maxage | proto | -ifcost | timeout | holdcnt | \
		spanpriority | ipdst | rules | rulefile | flushrule | description | descr | pin | apn | \
		patch | addlocal | wgpeer | wgdescription | wgdescr | wgaip | wgpsk | wgpka | wgport | \
		wgkey | wgrtable | -wgpeer | mediaopt | -mediaopt | mode | instance | inst | lladdr | llprio)
		echo 1 ;;
	pweneighbor | tunnel | keepalive | protected | static | endpoint | ifpriority | ifcost | \
		chgpin | puk | wgendpoint)
		echo 2 ;;
	joinlist | chan | scan | hwfeatures | powersave | transceiver | sff | class | media) echo o ;;
	*) return 1 ;;
	esac
}

ifconfig_args() {
	# -a, -A, -C, -g, -M: listings and group attributes; main() takes no interface commands.
	case ${1:-} in '' | -*) return 0 ;; esac
	_ifa_if=$1
	shift
	# main(): an address family is recognised only as the first word after the name (afs[]:
	# inet, inet6); FreeBSD's "link"/"ether" families and a later "inet" are addresses.
	case ${1:-} in inet | inet6) shift ;; esac
	# main(): "create" is special-cased there, and only there.
	[ "${1:-}" = create ] && shift
	_ifa_addrs=0
	while [ $# -gt 0 ]; do
		# main(): "rule" hands the rest to bridge_rule().
		[ "$1" = rule ] && return 0
		if _ifa_n=$(_ifa_arity "$1"); then
			case $_ifa_n in
			1) [ $# -ge 2 ] || lab_die "ifconfig: '$1' requires argument" ;;
			esac
			# sys/net/if_vlan.c vlan_set_parent(): a new parent while the vlan runs (up, with
			# a parent) is EBUSY; the same parent is a no-op. The lab refuses the whole
			# command (whether ifconfig goes on with the other words is unverified).
			if [ "$1" = parent ] && [ "$(lab_if_get "$_ifa_if" type 2>/dev/null)" = vlan ] &&
				[ "$(lab_if_get "$_ifa_if" up 2>/dev/null)" = 1 ]; then
				_ifa_p=$(lab_if_get "$_ifa_if" parent 2>/dev/null)
				if [ -n "$_ifa_p" ] && [ "$_ifa_p" != "$2" ]; then
					lab_die "ifconfig: SIOCSIFPARENT: Device busy"
				fi
			fi
			case $_ifa_n in
			2) [ $# -ge 3 ] || lab_die "ifconfig: '$1' requires 2 arguments" ;;
			o) if [ $# -ge 2 ] && ! _ifa_arity "$2" >/dev/null; then _ifa_n=1; else _ifa_n=0; fi ;;
			esac
			shift $((_ifa_n + 1))
			continue
		fi
		# main(): a word that is no keyword is the address (setifaddr), then the destination
		# (setifdstaddr); a third is "bad value". in_getaddr(): an IPv4 address (or A/len) or a
		# host name, else "bad value" (a name is looked up: the lab knows none).
		_ifa_addrs=$((_ifa_addrs + 1))
		[ "$_ifa_addrs" -le 2 ] || lab_die "ifconfig: $1: bad value"
		case ${1%%[%/]*} in
		*[!0-9a-fA-F:.]* | '') lab_die "ifconfig: $1: bad value" ;;
		esac
		shift
	done
	return 0
}
