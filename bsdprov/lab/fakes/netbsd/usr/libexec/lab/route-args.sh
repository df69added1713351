# route-args.sh (netbsd): route(8)'s argument grammar on netbsd, sourced by the common fake.
# route_args ARGS...: lab_die with the real tool's message on what netbsd's route refuses.
# Each rule names the source function or man page it follows.
# shellcheck shell=sh
route_args() {
	:
}
