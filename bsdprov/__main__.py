from bsdprov.cli import main

main()
