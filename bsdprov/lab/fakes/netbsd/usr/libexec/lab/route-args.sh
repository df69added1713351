# route-args.sh (netbsd): route(8)'s argument grammar on netbsd, sourced by the common fake.
# route_args ARGS...: lab_die with the real tool's message on what netbsd's route refuses.
# Each rule names the source function or man page it follows.
# shellcheck shell=sh
route_args() {
	_ra_link='' _ra_iface='' _ra_words=0
	for _ra_a; do
		case $_ra_a in
		# route(8) SYNOPSIS on NetBSD 9 and 10: "route [-dfLnqSsTtv] command"; OpenBSD's
		# -T rtable and FreeBSD's -4/-6 are not NetBSD's.
		-[0-9]* | -4* | -6*)
			case $_ra_words in 0) lab_die "route: illegal option -- ${_ra_a#-}" ;; esac
			;;
		# Modifiers of OpenBSD's or FreeBSD's route that NetBSD's keywords table has not.
		-priority | -label | -mpath | -fib | -weight)
			lab_die "route: $_ra_a: unknown modifier"
			;;
		-link) _ra_link=1 ;;
		-iface | -interface) _ra_iface=1 ;;
		-*) ;;
		*) _ra_words=$((_ra_words + 1)) ;;
		esac
	done
	# With -iface the gateway is still an address of this host (route(8): "the gateway given
	# is the address of this host on the common network"); an interface name is one only
	# after -link (link_addr(3)), so getaddr() fails on it: "route: vioif0: bad value".
	if [ -n "$_ra_iface" ] && [ -z "$_ra_link" ]; then
		_ra_n=0 _ra_skip=''
		for _ra_a; do
			if [ -n "$_ra_skip" ]; then
				_ra_skip=''
				continue
			fi
			case $_ra_a in
			-netmask | -prefixlen | -ifp | -ifa | -mtu | -expire | -hopcount | -recvpipe | \
				-sendpipe | -ssthresh | -rtt | -rttvar)
				_ra_skip=1
				continue
				;;
			-*) continue ;;
			esac
			_ra_n=$((_ra_n + 1))
			# words: command, destination, gateway
			[ "$_ra_n" = 3 ] || continue
			case ${_ra_a%%%*} in
			*[!0-9a-fA-F:.]*[0-9]) lab_die "route: $_ra_a: bad value" ;;
			esac
		done
	fi
	return 0
}
