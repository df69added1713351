# route-args.sh (freebsd): route(8)'s argument grammar on freebsd, sourced by the common fake.
# route_args ARGS...: lab_die with the real tool's message on what freebsd's route refuses.
# Each rule names the source function or man page it follows (sbin/route/route.c in freebsd-src).
# shellcheck shell=sh

# usage() in route.c: an optional "bad keyword" warning, then the usage line, exit EX_USAGE.
_ra_usage() {
	[ -z "${1:-}" ] || lab_err "route: bad keyword: $1"
	lab_err "route: usage: route [-46dnqtv] command [[modifiers] args]"
	exit 64
}

route_args() {
	# main(): getopt "46nqdtv"; OpenBSD's -T rtable is no option here.
	while [ $# -gt 0 ]; do
		case $1 in
		--)
			shift
			break
			;;
		-*)
			_ra_o=${1#-}
			while [ -n "$_ra_o" ]; do
				_ra_c=${_ra_o%"${_ra_o#?}"}
				case $_ra_c in
				4 | 6 | n | q | d | t | v) ;;
				*)
					lab_err "route: illegal option -- $_ra_c"
					_ra_usage
					;;
				esac
				_ra_o=${_ra_o#?}
			done
			shift
			;;
		*) break ;;
		esac
	done
	[ $# -gt 0 ] || _ra_usage
	_ra_cmd=$1
	shift
	case $_ra_cmd in
	add | change | del | delete | get | show) ;;
	monitor) return 0 ;;
	flush)
		# flushroutes(): only a family (-4, -inet, -6, -inet6, -link) and -fib N.
		while [ $# -gt 0 ]; do
			case $1 in
			-4 | -inet | -6 | -inet6 | -link) shift ;;
			-fib)
				[ $# -ge 2 ] || _ra_usage "$1"
				shift 2
				;;
			*) _ra_usage "$1" ;;
			esac
		done
		return 0
		;;
	*) _ra_usage "$_ra_cmd" ;;
	esac
	# newroute(): the modifiers it knows; any other -word is usage(1+*argv). OpenBSD's
	# -cloning, -llinfo, -priority, -label, -mpath and NetBSD's -noclone are not among them.
	while [ $# -gt 0 ]; do
		_ra_w=$1
		shift
		case $_ra_w in
		-link | -4 | -inet | -6 | -inet6 | -sa | -iface | -interface | -nostatic | -lock | \
			-lockrest | -host | -reject | -blackhole | -proto1 | -proto2 | -proxy | -xresolve | \
			-static | -sticky | -nostick | -net) ;;
		-fib | -ifa | -ifp | -genmask | -gateway | -dst | -netmask | -prefixlen | -mtu | \
			-hopcount | -expire | -recvpipe | -sendpipe | -ssthresh | -rtt | -rttvar | -weight)
			[ $# -ge 1 ] || _ra_usage
			shift
			;;
		-*) _ra_usage "${_ra_w#-}" ;;
		*) ;;
		esac
	done
}
