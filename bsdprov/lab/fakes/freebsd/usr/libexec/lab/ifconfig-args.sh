# ifconfig-args.sh (freebsd): ifconfig(8)'s argument grammar on freebsd, sourced by the common fake.
# ifconfig_args ARGS...: lab_die with the real tool's message on what freebsd's ifconfig refuses;
# it also keeps the accept_rtadv flag, which the common fake does not model.
# Each rule names the source function or man page it follows (sbin/ifconfig in freebsd-src).
# shellcheck shell=sh

# The address families, af_register()ed by af_inet.c, af_inet6.c and af_link.c (link, ether and
# lladdr are three names of AF_LINK). af_getbyname() looks a word up among these only.
_ia_family() {
	case $1 in inet | inet6 | link | ether | lladdr) return 0 ;; esac
	return 1
}

# _ia_arity WORD: how many words a FreeBSD command takes (0, 1, 2, or o for OPTARG), or fails
# when WORD is no command: cmd_lookup() then finds nothing and ifconfig() takes the word for an
# address. The tables are the DEF_CMD* lists of ifconfig.c, af_inet6.c, af_nd6.c, ifvlan.c,
# ifbridge.c, ifgif.c, ifgroup.c, ifmedia.c, iffib.c, ifclone.c and iflagg.c. OpenBSD's and
# NetBSD's own words (-inet, -inet6, vnetid, parent, llprio, rdomain, txprio, rxprio, protected,
# blocknonip, nwid, join, wpakey, chan, del, deletetunnel, vlanif, ifcost, temporary, active)
# are none of these.
_ia_arity() {
	case $1 in
	# ifconfig.c basic_cmds (flags, notealias, capabilities, deletetunnel, destroy)
	up | down | arp | -arp | debug | -debug | promisc | -promisc | add | alias | -alias | \
		delete | remove | link0 | -link0 | link1 | -link1 | link2 | -link2 | normal | -normal | \
		compress | -compress | noicmp | -noicmp | monitor | -monitor | staticarp | -staticarp | \
		stickyarp | -stickyarp | rxcsum | -rxcsum | txcsum | -txcsum | rxcsum6 | -rxcsum6 | \
		txcsum6 | -txcsum6 | netcons | -netcons | polling | -polling | tso | -tso | tso4 | \
		-tso4 | tso6 | -tso6 | lro | -lro | txtls | -txtls | wol | -wol | wol_ucast | \
		-wol_ucast | wol_mcast | -wol_mcast | wol_magic | -wol_magic | vlanmtu | -vlanmtu | \
		vlanhwtag | -vlanhwtag | vlanhwfilter | -vlanhwfilter | vlanhwtso | -vlanhwtso | \
		vlanhwcsum | -vlanhwcsum | nomap | -nomap | -tunnel | -description | -descr | \
		destroy | unplumb | create | plumb) echo 0 ;;
	# af_inet6.c and af_nd6.c: address and nd6 flags
	anycast | tentative | -tentative | deprecated | -deprecated | autoconf | -autoconf | \
		prefer_source | -prefer_source | eui64 | defaultif | -defaultif | accept_rtadv | \
		-accept_rtadv | no_radr | -no_radr | auto_linklocal | -auto_linklocal | ifdisabled | \
		-ifdisabled | nud | -nud | no_prefer_iface | -no_prefer_iface | no_dad | -no_dad) echo 0 ;;
	# ifbridge.c flags
	flush | deladdrall | addr) echo 0 ;;
	# ifconfig.c, ifgroup.c, ifmedia.c, iffib.c, af_inet6.c, ifvlan.c, ifbridge.c, iflagg.c:
	# one argument
	netmask | broadcast | metric | mtu | description | descr | name | group | -group | fib | \
		tunnelfib | vnet | -vnet | media | mediaopt | -mediaopt | mode | prefixlen | pltime | \
		vltime | vlan | vlandev | vlanproto | vlanpcp | addm | deletem | discover | -discover | \
		learn | -learn | sticky | -sticky | span | -span | stp | -stp | edge | -edge | \
		autoedge | -autoedge | ptp | -ptp | autoptp | -autoptp | deladdr | maxaddr | \
		hellotime | fwddelay | maxage | priority | proto | holdcnt | timeout | private | \
		-private | laggport | -laggport | laggproto | lagghash) echo 1 ;;
	# two arguments (NEXTARG2): ifconfig.c settunnel, ifbridge.c static/ifpriority/...
	tunnel | static | ifpriority | ifpathcost | ifmaxaddr) echo 2 ;;
	# OPTARG: ifvlan.c unsetvlandev takes the next word when there is one
	-vlandev) echo o ;;
	*) return 1 ;;
	esac
}

# _ia_addr FAMILY WHICH WORD: the address checks of each family's af_getaddr (WHICH: addr,
# dst or mask), with their messages.
_ia_addr() {
	case $1 in
	inet)
		# af_inet.c in_getaddr: only the address (ADDR) may carry /width; then inet_aton, or
		# a host or network name (the lab resolves none): else "bad value".
		_ia_a=$3
		if [ "$2" = addr ]; then
			case $_ia_a in */*)
				case ${_ia_a##*/} in
				'' | *[!0-9]*) lab_die "ifconfig: $_ia_a: bad value (width invalid)" ;;
				esac
				[ "${_ia_a##*/}" -le 32 ] || lab_die "ifconfig: $_ia_a: bad value (width too large)"
				_ia_a=${_ia_a%/*}
				;;
			esac
		fi
		case $_ia_a in
		'' | *[!0-9.]* | .* | *. | *..*) lab_die "ifconfig: $3: bad value" ;;
		esac
		;;
	inet6)
		# af_inet6.c in6_getaddr: getaddrinfo(AF_INET6) or inet_pton, else "bad value".
		_ia_a=$3
		[ "$2" = addr ] && _ia_a=${_ia_a%/*}
		case ${_ia_a%%%*} in
		*:*) case ${_ia_a%%%*} in *[!0-9a-fA-F:.]*) lab_die "ifconfig: $3: bad value" ;; esac ;;
		*) lab_die "ifconfig: $3: bad value" ;;
		esac
		;;
	*)
		# af_link.c link_getaddr: a link-level address has no netmask or destination.
		[ "$2" = addr ] || lab_die "ifconfig: can't set link-level netmask or broadcast"
		case $3 in
		random) ;;
		*[!0-9a-fA-F:.]* | '') lab_die "ifconfig: malformed link-level address" ;;
		esac
		;;
	esac
}

ifconfig_args() {
	# Listing options and their operands are the common fake's (main()'s getopt).
	case ${1:-} in -* | '') return 0 ;; esac
	_ia_if=$1 _ia_rtadv=''
	shift
	_ia_fam=inet
	# main(): `create` (or plumb) first makes the interface; ifconfig(iscreate) then takes
	# the clone arguments (vlan, vlandev, vlanproto) before the family word.
	case ${1:-} in
	create | plumb)
		shift
		while [ $# -gt 1 ]; do
			case $1 in vlan | vlandev | vlanproto) shift 2 ;; *) break ;; esac
		done
		;;
	esac
	# main(): "Check for address family": af_getbyname() on this one word only. A family word
	# anywhere later is no command, so ifconfig() takes it for an address (setifaddr, then
	# setifdstaddr), and in_getaddr() exits on it before any address is set:
	# `ifconfig vtnet0 inet A netmask M ether MAC` fails with "ether: bad value".
	if [ $# -gt 0 ] && _ia_family "$1"; then
		_ia_fam=$1
		shift
	fi
	_ia_n=0
	while [ $# -gt 0 ]; do
		_ia_w=$1
		shift
		if _ia_ar=$(_ia_arity "$_ia_w"); then
			case $_ia_w in accept_rtadv | -accept_rtadv) _ia_rtadv=$_ia_w ;; esac
			case $_ia_ar in
			0) ;;
			o) [ $# -gt 0 ] && shift ;;
			*)
				# ifconfig(): "'%s' requires argument" / "requires 2 arguments"
				if [ "$_ia_ar" = 2 ] && [ $# -lt 2 ]; then
					lab_die "ifconfig: '$_ia_w' requires 2 arguments"
				fi
				[ $# -ge 1 ] || lab_die "ifconfig: '$_ia_w' requires argument"
				case $_ia_w in
				netmask | broadcast) _ia_addr "$_ia_fam" mask "$1" ;;
				esac
				shift "$_ia_ar"
				;;
			esac
			continue
		fi
		# Not a command: the first is the address (setifaddr), every later one the
		# destination (setifdstaddr).
		if [ "$_ia_n" = 0 ]; then _ia_addr "$_ia_fam" addr "$_ia_w"; else _ia_addr "$_ia_fam" dst "$_ia_w"; fi
		_ia_n=1
	done
	# The ND6 flag accept_rtadv (af_inet6.c setnd6flags) is what lets rtsol and router adverts
	# configure the interface: the lab keeps it as the interface's `autoconf inet6`.
	if [ -n "$_ia_rtadv" ] && lab_if_exists "$_ia_if"; then
		if [ "$_ia_rtadv" = accept_rtadv ]; then
			lab_kv_add "$(lab_iff "$_ia_if")" autoconf inet6
		else
			lab_kv_del "$(lab_iff "$_ia_if")" autoconf inet6
		fi
	fi
}
