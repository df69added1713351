# route-args.sh (freebsd): route(8)'s argument grammar on freebsd, sourced by the common fake.
# route_args ARGS...: lab_die with the real tool's message on what freebsd's route refuses.
# Each rule names the source function or man page it follows.
# shellcheck shell=sh
route_args() {
	:
}
