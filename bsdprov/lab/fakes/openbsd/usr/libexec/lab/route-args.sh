# route-args.sh (openbsd): route(8)'s argument grammar on openbsd, sourced by the common fake.
# route_args ARGS...: lab_die with the real tool's message on what openbsd's route refuses.
# Each rule names the source function or man page it follows: sbin/route/route.c (main(),
# newroute(), usage()) and its keyword table (keywords.h), route(8).
# shellcheck shell=sh

_rta_usage() {
	lab_die "usage: route [-dnqtv] [-T rtable] command [[modifiers] args]"
}

route_args() {
	# main(): getopt("dnqtT:v"); FreeBSD's -4/-6 and NetBSD's -f, -s are unknown options.
	while [ $# -gt 0 ]; do
		case $1 in
		-T)
			[ $# -ge 2 ] || _rta_usage
			shift 2
			;;
		-T*) shift ;;
		--) shift && break ;;
		-?*)
			_rta_f=${1#-}
			while [ -n "$_rta_f" ]; do
				_rta_c=${_rta_f%"${_rta_f#?}"}
				case $_rta_c in
				[dnqtv]) ;;
				*)
					lab_err "route: unknown option -- $_rta_c"
					_rta_usage
					;;
				esac
				_rta_f=${_rta_f#?}
			done
			shift
			;;
		*) break ;;
		esac
	done
	[ $# -gt 0 ] || _rta_usage
	case $1 in
	add | change | delete | get | show | flush | monitor | exec | nameserver | sourceaddr) ;;
	*) lab_err "route: botched keyword: $1" && _rta_usage ;;
	esac
	shift
	# newroute(): a word starting with "-" must be in keywords.h; any other is "botched"
	# (usage(*argv + 1)). FreeBSD's -fib, -weight, -4, -6 and NetBSD's -noreject, -nocloning,
	# -cloned, -proxy, -tag are not there.
	for _rta_a; do
		case $_rta_a in
		-inet | -inet6 | -link | -net | -host | -netmask | -prefixlen | -iface | -interface | \
			-cloning | -llinfo | -reject | -blackhole | -static | -nostatic | -mpath | -proto1 | \
			-proto2 | -xresolve | -lock | -lockrest | -label | -priority | -mtu | -ifp | -ifa | \
			-expire | -hopcount | -recvpipe | -sendpipe | -ssthresh | -rtt | -rttvar | -mpls | \
			-in | -out | -push | -pop | -swap | -bfd | -nobfd | -sa | -dst | -gateway | -genmask | \
			-connected | -jumbo | -nojumbo) ;;
		-[0-9]*) ;; # a negative number is an argument (-priority -8 is refused later)
		-*)
			lab_err "route: botched keyword: ${_rta_a#-}"
			_rta_usage
			;;
		esac
	done
	return 0
}
